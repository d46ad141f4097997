"""Sign-in throttling that locks the attacker, not the victim (OWASP Authentication Cheat
Sheet, "Protect against automated attacks"; ASVS 2.2.1).

Three budgets, each counted before the password is checked, so a burst cannot exceed one:

- **per account and client address** (tight): one address guessing one account's password.
  It locks the guesser's address for that account only.
- **per account** (looser, failures only): many addresses guessing one account. A correct
  password gives its attempt back and clears it, so only failures add up; the window is fixed,
  so even a distributed attack locks the account for one window at most, never for good.
- **per client address** (generous): one address trying many accounts. Many honest users may
  share an address (an office behind NAT, a carrier gateway), so when it is over budget a
  sign-in is still checked if that account has no recent failure from that address: a correct
  password succeeds, a wrong one is refused like the rest.

The three are counted in one write. A refused attempt counts on none of them: it was no guess,
so it spends nothing of the account's budget (an attacker locked on their own address cannot
lock the victim through it). An unknown client address has no address budgets (one bucket
shared by every such client would lock them all out together); the account budget still holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from twofactor.domain.throttle import Throttle
from twofactor.errors import TooManyRequests


@dataclass(frozen=True)
class SignInBudgets:
    per_account: Throttle
    per_account_address: Throttle
    per_address: Throttle


@dataclass(frozen=True)
class SignInAttempt:
    """The counts one admitted sign-in holds; tell it how the password check went."""

    budgets: SignInBudgets
    account: str
    account_address: str | None
    address: str | None
    #: The address is at its budget and this attempt was let through to the check uncounted there.
    address_over: bool = False

    def succeeded(self) -> None:
        """A correct password: the personal keys start afresh, the shared one gets its attempt
        back (it stays a budget of failures). All three in one write."""
        forget = [self.account]
        if self.account_address is not None:
            forget.append(self.account_address)
        release = [] if self.address is None or self.address_over else [self.address]
        self.budgets.per_account.settle(forget, release)

    def failed(self) -> TooManyRequests | None:
        """A wrong password stays counted everywhere; over the address budget it is answered
        like any refusal (the error to raise), else ``None`` (answer "invalid credentials")."""
        if self.address_over and self.address is not None:
            return self.budgets.per_address.refusal(self.address)
        return None


class SignInThrottle:
    def __init__(self, budgets: SignInBudgets) -> None:
        self._budgets = budgets

    def admit(self, account_key: str, ip: str | None) -> SignInAttempt:
        """Count the attempt on every budget (one write), or raise ``TooManyAttempts`` without
        a check."""
        budgets = self._budgets
        if ip is None:
            budgets.per_account.reserve(account_key)
            return SignInAttempt(budgets, account_key, None, None)
        pair, address = f"{account_key}|address:{ip}", f"login-address:{ip}"
        keys = (pair, account_key, address)
        counted = budgets.per_account.count_together(
            [
                budgets.per_account_address.attempt(pair),
                budgets.per_account.attempt(account_key),
                budgets.per_address.attempt(address),
            ]
        )
        pair_counted, account_counted, address_counted = counted
        if not (pair_counted and account_counted):
            # Refused, so no guess: what it counted on the other budgets is given back (an
            # attacker locked on their own address cannot spend the victim's account budget).
            budgets.per_account.settle([], [k for k, c in zip(keys, counted, strict=True) if c])
            if not pair_counted:
                raise budgets.per_account_address.refusal(pair)
            raise budgets.per_account.refusal(account_key)
        if address_counted:
            return SignInAttempt(budgets, account_key, pair, address)
        if budgets.per_account_address.counted(pair) > 1:
            # Over the address budget only the first attempt on this account from this
            # address in the window (no failure, none in flight) goes on to the check.
            budgets.per_account.settle([], [pair, account_key])
            raise budgets.per_address.refusal(address)
        return SignInAttempt(budgets, account_key, pair, address, address_over=True)
