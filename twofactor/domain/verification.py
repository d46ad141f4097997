"""Checking a second-factor proof: a code of an enabled factor, or a recovery code.

Every check is throttled per 2FA token (when the proof comes with one) and per user, and every
accepted code is consumed by its factor, so a code is accepted once, whichever endpoint sees it
first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from twofactor.clock import Clock
from twofactor.domain.factor import FactorRegistry
from twofactor.domain.model import Principal, TwoFactorMethod
from twofactor.domain.throttle import Throttle
from twofactor.errors import InvalidTwoFactorCode


@dataclass(frozen=True)
class Proof:
    method: TwoFactorMethod
    code: str


class MailboxProof(Protocol):
    def confirm_mailbox(self, principal: Principal, code: str, now: datetime) -> bool:
        """Whether ``code`` is the one last mailed to the principal (consumed if so)."""
        ...


class SecondFactorVerifier:
    """``token`` is the ``jti`` of the 2FA token a proof came with (``None`` when it came with a
    step-up token instead): its own budget, beside the user's."""

    def __init__(
        self,
        factors: FactorRegistry,
        mailbox: MailboxProof,
        per_token: Throttle,
        per_user: Throttle,
        clock: Clock,
    ) -> None:
        self._factors = factors
        self._mailbox = mailbox
        self._per_token = per_token
        self._per_user = per_user
        self._clock = clock

    def prove(self, principal: Principal, proof: Proof, token: str | None) -> str:
        """Accept ``proof`` of one of the principal's enabled methods; its ``amr`` value."""
        factor = self._factors[proof.method]
        self._check(factor.prove, principal, proof.code, token)
        return factor.amr

    def use_recovery_code(self, principal: Principal, code: str, token: str | None) -> str:
        """Accept one of the principal's unused recovery codes; its ``amr`` value."""
        self._check(self._factors.recovery.prove, principal, code, token)
        return self._factors.recovery.amr

    def require_email_code(self, principal: Principal, code: str, token: str | None) -> None:
        """An emailed code proves the mailbox, whether or not email is a second factor yet."""
        self._check(self._mailbox.confirm_mailbox, principal, code, token)

    def _check(
        self,
        check: _Check,
        principal: Principal,
        code: str,
        token: str | None,
    ) -> None:
        # A new 2FA token does not give an attacker fresh guesses: the user's budget holds too.
        token_key = f"2fa-token:{token}" if token is not None else None
        user_key = f"user:{principal.id}"
        if token_key is not None:
            self._per_token.reserve(token_key)
        self._per_user.reserve(user_key)
        if not check(principal, code, self._clock.now()):
            raise InvalidTwoFactorCode()  # the reserved attempts stay counted
        if token_key is not None:
            self._per_token.forget(token_key)
        self._per_user.forget(user_key)


class _Check(Protocol):
    def __call__(self, principal: Principal, code: str, now: datetime, /) -> bool: ...
