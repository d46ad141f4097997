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

A refused attempt is counted only on the budget that refused it: it was no guess, so it spends
nothing of the account's budget (an attacker locked on their own address cannot lock the victim
through it). An unknown client address has no address budgets (one bucket shared by every
such client would lock them all out together); the account budget still holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from twofactor.domain.throttle import Count, Throttle
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
    #: Set when the address is over its budget and this attempt was let through to the check.
    address_over: Count | None
    address: str | None

    def succeeded(self) -> None:
        """A correct password: the personal keys start afresh, the shared one gets its attempt
        back (it stays a budget of failures)."""
        self.budgets.per_account.forget(self.account)
        if self.account_address is not None:
            self.budgets.per_account_address.forget(self.account_address)
        if self.address is not None:
            self.budgets.per_address.release(self.address)

    def failed(self) -> TooManyRequests | None:
        """A wrong password stays counted everywhere; over the address budget it is answered
        like any refusal (the error to raise), else ``None`` (answer "invalid credentials")."""
        if self.address_over is not None:
            return self.budgets.per_address.refuse(self.address_over)
        return None


class SignInThrottle:
    def __init__(self, budgets: SignInBudgets) -> None:
        self._budgets = budgets

    def admit(self, account_key: str, ip: str | None) -> SignInAttempt:
        """Count the attempt on every budget, or raise ``TooManyAttempts`` without a check."""
        budgets = self._budgets
        pair = f"{account_key}|address:{ip}" if ip is not None else None
        address = f"login-address:{ip}" if ip is not None else None
        counted_pair = budgets.per_account_address.count(pair) if pair is not None else None
        if counted_pair is not None and counted_pair.over:
            raise budgets.per_account_address.refuse(counted_pair)
        counted_account = budgets.per_account.count(account_key)
        if counted_account.over:
            _give_back(budgets.per_account_address, pair)
            raise budgets.per_account.refuse(counted_account)
        address_over = None
        if address is not None:
            counted_address = budgets.per_address.count(address)
            if counted_address.over:
                # Only the first attempt on this account from this address in the window (no
                # failure, none in flight) passes on to the password check.
                if counted_pair is None or counted_pair.count > 1:
                    _give_back(budgets.per_account_address, pair)
                    budgets.per_account.release(account_key)
                    raise budgets.per_address.refuse(counted_address)
                address_over = counted_address
        return SignInAttempt(budgets, account_key, pair, address_over, address)


def _give_back(throttle: Throttle, key: str | None) -> None:
    if key is not None:
        throttle.release(key)
