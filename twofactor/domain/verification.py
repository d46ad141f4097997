"""Checking a second-factor proof: a code of an enabled factor, or a recovery code.

Every check is throttled per key (the 2FA token, the user) and every accepted code is consumed
by its factor, so a code is accepted once, whichever endpoint sees it first.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    def __init__(
        self,
        factors: FactorRegistry,
        mailbox: MailboxProof,
        throttle: Throttle,
        clock: Clock,
    ) -> None:
        self._factors = factors
        self._mailbox = mailbox
        self._throttle = throttle
        self._clock = clock

    def prove(self, principal: Principal, proof: Proof, keys: Sequence[str]) -> str:
        """Accept ``proof`` of one of the principal's enabled methods; its ``amr`` value."""
        factor = self._factors[proof.method]
        self._check(factor.prove, principal, proof.code, keys)
        return factor.amr

    def use_recovery_code(self, principal: Principal, code: str, keys: Sequence[str]) -> str:
        """Accept one of the principal's unused recovery codes; its ``amr`` value."""
        self._check(self._factors.recovery.prove, principal, code, keys)
        return self._factors.recovery.amr

    def require_email_code(self, principal: Principal, code: str, keys: Sequence[str]) -> None:
        """An emailed code proves the mailbox, whether or not email is a second factor yet."""
        self._check(self._mailbox.confirm_mailbox, principal, code, keys)

    def _check(
        self,
        check: _Check,
        principal: Principal,
        code: str,
        keys: Sequence[str],
    ) -> None:
        self._throttle.reserve(*keys)
        if not check(principal, code, self._clock.now()):
            raise InvalidTwoFactorCode()  # the reserved attempt stays counted
        self._throttle.forget(*keys)


class _Check(Protocol):
    def __call__(self, principal: Principal, code: str, now: datetime, /) -> bool: ...
