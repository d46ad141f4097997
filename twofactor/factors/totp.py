"""TOTP (RFC 6238: SHA-1, 6 digits, 30 s, one step of drift) as a second factor.

Proving consumes the code's time step: a step accepted once is never accepted again for that
user. Enrollment offers a secret sealed (AES-GCM) into a short-lived setup token and stores it
only once a code from the user's authenticator confirms it.
"""

from __future__ import annotations

import json
from datetime import datetime

from twofactor.domain.factor import PendingTotp, TotpSetup
from twofactor.domain.model import Principal, TotpState, TwoFactorMethod
from twofactor.domain.ports import PrincipalRepository
from twofactor.errors import DatabaseEncryptionFailure, InvalidTotpSetupToken
from twofactor.factors.labels import N_
from twofactor.security import otp
from twofactor.security.crypto import FieldCipher, sealed_context
from twofactor.security.recovery_codes import RecoveryCodeHasher
from twofactor.security.tokens import TokenService


class TotpFactor:
    amr = "otp"
    label = N_("Authenticator app (TOTP)")

    def __init__(self, principals: PrincipalRepository) -> None:
        self._principals = principals

    def prove(self, principal: Principal, code: str, now: datetime) -> bool:
        if principal.totp is None or TwoFactorMethod.TOTP not in principal.methods:
            return False
        step = otp.matching_step(principal.totp.secret, code, now)
        return step is not None and self._principals.use_totp_step(principal.id, step)


class TotpSetupFlow:
    """Offering a secret and confirming it; implements ``TotpEnrollment``."""

    def __init__(
        self, tokens: TokenService, cipher: FieldCipher, recovery_codes: RecoveryCodeHasher
    ) -> None:
        self._tokens = tokens
        self._cipher = cipher
        self._recovery_codes = recovery_codes

    def offer(self, principal: Principal) -> TotpSetup:
        secret = otp.new_totp_secret()
        codes = otp.new_recovery_codes()
        sealed = self._cipher.seal_text(
            json.dumps({"secret": secret, "codes": codes}), _setup_context(principal.id)
        )
        uri = otp.provisioning_uri(secret, principal.email or principal.name)
        return TotpSetup(
            secret=secret,
            uri=uri,
            qr_code=otp.qr_code_data_uri(uri),
            recovery_codes=codes,
            token=self._tokens.issue_totp_setup(principal.id, sealed).token,
        )

    def open(self, principal: Principal, token: str) -> PendingTotp:
        claims = self._tokens.verify_totp_setup(token)
        if claims.sub != principal.id:
            raise InvalidTotpSetupToken()
        try:
            pending = json.loads(
                self._cipher.open_text(claims.sealed, _setup_context(principal.id))
            )
            return PendingTotp(
                secret=str(pending["secret"]),
                recovery_codes=tuple(str(code) for code in pending["codes"]),
            )
        except (DatabaseEncryptionFailure, ValueError, KeyError, TypeError):
            raise InvalidTotpSetupToken() from None

    def confirm(self, pending: PendingTotp, code: str, now: datetime) -> TotpState | None:
        step = otp.matching_step(pending.secret, code, now)
        if step is None:
            return None
        return TotpState(
            secret=pending.secret,
            # The confirming code's step counts as used: it is never accepted again.
            last_used_step=step,
            recovery_code_hashes=tuple(
                self._recovery_codes.hash(c) for c in pending.recovery_codes
            ),
            enabled_at=now,
        )


def _setup_context(principal_id: str) -> str:
    return sealed_context(principal_id, "totp-setup")
