"""Checking a second-factor proof: a TOTP code, an emailed code or a recovery code.

Every check is throttled per key (the 2FA token, the user), and every success is consumed
atomically in the store: a TOTP time step, an emailed code or a recovery code is accepted once,
whichever endpoint sees it first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from twofactor.clock import Clock
from twofactor.domain.model import Principal, TwoFactorMethod
from twofactor.domain.throttle import Throttle
from twofactor.errors import InvalidTwoFactorCode
from twofactor.security import otp
from twofactor.security.crypto import keyed_hash
from twofactor.security.passwords import PasswordHasher
from twofactor.store.principals import PrincipalStore

#: RFC 8176 ``amr`` values of each proof.
AMR = {TwoFactorMethod.TOTP: "otp", TwoFactorMethod.EMAIL: "email"}


@dataclass(frozen=True)
class Proof:
    method: TwoFactorMethod
    code: str


def email_code_hash(key: bytes, principal_id: str, code: str) -> str:
    return keyed_hash(key, "email-code", f"{principal_id}:{code}")


class SecondFactorVerifier:
    def __init__(
        self,
        principals: PrincipalStore,
        passwords: PasswordHasher,
        throttle: Throttle,
        hash_key: bytes,
        clock: Clock,
    ) -> None:
        self._principals = principals
        self._passwords = passwords
        self._throttle = throttle
        self._hash_key = hash_key
        self._clock = clock

    def prove(self, principal: Principal, proof: Proof, keys: Sequence[str]) -> str:
        """Accept ``proof`` of one of the principal's enabled methods; its ``amr`` value."""
        self._throttle.reserve(*keys)
        if proof.method is TwoFactorMethod.TOTP:
            accepted = self._totp_accepted(principal, proof.code)
        else:
            accepted = TwoFactorMethod.EMAIL in principal.methods and self._email_code_accepted(
                principal, proof.code
            )
        self._settle(accepted, keys)
        return AMR[proof.method]

    def require_email_code(self, principal: Principal, code: str, keys: Sequence[str]) -> None:
        """An emailed code proves the mailbox, whether or not email is a second factor yet."""
        self._throttle.reserve(*keys)
        self._settle(self._email_code_accepted(principal, code), keys)

    def use_recovery_code(self, principal: Principal, code: str, keys: Sequence[str]) -> None:
        self._throttle.reserve(*keys)
        typed = otp.normalize_recovery_code(code)
        hashes = principal.totp.recovery_code_hashes if principal.totp else ()
        # Every stored hash is checked, so the time taken does not tell which one matched.
        matches = [stored for stored in hashes if self._passwords.verify(stored, typed)]
        accepted = bool(matches) and self._principals.use_recovery_code(principal.id, matches[0])
        self._settle(accepted, keys)

    def _totp_accepted(self, principal: Principal, code: str) -> bool:
        if principal.totp is None or TwoFactorMethod.TOTP not in principal.methods:
            return False
        step = otp.matching_step(principal.totp.secret, code, self._clock.now())
        return step is not None and self._principals.use_totp_step(principal.id, step)

    def _email_code_accepted(self, principal: Principal, code: str) -> bool:
        code_hash = email_code_hash(self._hash_key, principal.id, code)
        return self._principals.use_email_code(principal.id, code_hash, self._clock.now())

    def _settle(self, accepted: bool, keys: Sequence[str]) -> None:
        if not accepted:
            raise InvalidTwoFactorCode()  # the reserved attempt stays counted
        self._throttle.forget(*keys)
