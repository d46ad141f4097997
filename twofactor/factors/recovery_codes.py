"""Recovery codes: ten single-use codes issued with TOTP, standing in for a lost device."""

from __future__ import annotations

from datetime import datetime

from twofactor.domain.model import Principal
from twofactor.domain.ports import PrincipalRepository
from twofactor.factors.labels import N_
from twofactor.security import otp
from twofactor.security.passwords import PasswordHasher


class RecoveryCodeFactor:
    amr = "recovery"
    label = N_("Recovery codes")

    def __init__(self, principals: PrincipalRepository, passwords: PasswordHasher) -> None:
        self._principals = principals
        self._passwords = passwords

    def prove(self, principal: Principal, code: str, now: datetime) -> bool:
        typed = otp.normalize_recovery_code(code)
        hashes = principal.totp.recovery_code_hashes if principal.totp else ()
        # Every stored hash is checked, so the time taken does not tell which one matched.
        matches = [stored for stored in hashes if self._passwords.verify(stored, typed)]
        return bool(matches) and self._principals.use_recovery_code(principal.id, matches[0])
