"""Emailed one-time codes as a second factor: six digits, stored only as a keyed hash, valid ten
minutes, consumed by their first use."""

from __future__ import annotations

from datetime import datetime

from twofactor.domain.model import Principal, TwoFactorMethod
from twofactor.domain.ports import PrincipalRepository
from twofactor.factors.labels import N_
from twofactor.security.otp import email_code_hash


class EmailCodeFactor:
    amr = "email"
    label = N_("Email codes")

    def __init__(self, principals: PrincipalRepository, hash_key: bytes) -> None:
        self._principals = principals
        self._hash_key = hash_key

    def prove(self, principal: Principal, code: str, now: datetime) -> bool:
        return TwoFactorMethod.EMAIL in principal.methods and self.confirm_mailbox(
            principal, code, now
        )

    def confirm_mailbox(self, principal: Principal, code: str, now: datetime) -> bool:
        """Whether ``code`` is the one last mailed (and still valid): it proves the mailbox,
        whether or not email is a second factor yet. Consumes the code."""
        code_hash = email_code_hash(self._hash_key, principal.id, code)
        return self._principals.use_email_code(principal.id, code_hash, now)
