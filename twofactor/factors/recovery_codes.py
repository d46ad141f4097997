"""Recovery codes: ten single-use codes issued with TOTP, standing in for a lost device."""

from __future__ import annotations

from datetime import datetime

from twofactor.domain.model import Principal
from twofactor.domain.ports import PrincipalRepository
from twofactor.factors.labels import N_
from twofactor.security import otp
from twofactor.security.recovery_codes import RecoveryCodeHasher


class RecoveryCodeFactor:
    amr = "recovery"
    label = N_("Recovery codes")

    def __init__(self, principals: PrincipalRepository, hasher: RecoveryCodeHasher) -> None:
        self._principals = principals
        self._hasher = hasher

    def prove(self, principal: Principal, code: str, now: datetime) -> bool:
        typed = otp.normalize_recovery_code(code)
        stored = principal.totp.recovery_code_hashes if principal.totp else ()
        matched = self._hasher.matching(stored, typed)
        return matched is not None and self._principals.use_recovery_code(principal.id, matched)
