"""Adding second factors (TOTP, email codes) and choosing the preferred one.

Same recipe as removing one: guard -> one conditional write (which consumes the step-up token,
records the change and queues its alert) -> send the alert. Adding a factor also ends the
user's other sessions: they never proved the new factor (ASVS 7.4.3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from twofactor.clock import Clock
from twofactor.domain.alert_delivery import AlertDelivery
from twofactor.domain.alerts import AlertComposer, AlertKind, security_event
from twofactor.domain.guard import SecurityChangeGuard, SecurityChangeRequest
from twofactor.domain.model import Principal, TwoFactorMethod
from twofactor.domain.sessions import SessionService
from twofactor.domain.throttle import Throttle
from twofactor.domain.verification import SecondFactorVerifier
from twofactor.errors import (
    DatabaseEncryptionFailure,
    InvalidRequest,
    InvalidTotpSetupToken,
    InvalidTwoFactorCode,
    StepUpTokenInvalid,
    TwoFactorMethodAlreadyEnabled,
)
from twofactor.security import otp
from twofactor.security.passwords import PasswordHasher
from twofactor.security.tokens import TokenService
from twofactor.store.documents import sealed_context
from twofactor.store.principals import PrincipalStore


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    uri: str
    qr_code: str
    recovery_codes: list[str]
    token: str


class EnrollmentService:
    def __init__(
        self,
        principals: PrincipalStore,
        guard: SecurityChangeGuard,
        sessions: SessionService,
        tokens: TokenService,
        passwords: PasswordHasher,
        verifier: SecondFactorVerifier,
        throttle: Throttle,
        alerts: AlertDelivery,
        composer: AlertComposer,
        clock: Clock,
    ) -> None:
        self._principals = principals
        self._guard = guard
        self._sessions = sessions
        self._tokens = tokens
        self._passwords = passwords
        self._verifier = verifier
        self._throttle = throttle
        self._alerts = alerts
        self._composer = composer
        self._clock = clock

    # TOTP ---------------------------------------------------------------------------------------

    def begin_totp_setup(self, change: SecurityChangeRequest) -> TotpSetup:
        """A new secret and recovery codes, sealed into a setup token. Stores nothing and does
        not consume the step-up token."""
        principal = self._guard.check(change)
        if TwoFactorMethod.TOTP in principal.methods:
            raise TwoFactorMethodAlreadyEnabled()
        secret = otp.new_totp_secret()
        codes = otp.new_recovery_codes()
        sealed = self._principals.cipher.seal_text(
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

    def confirm_totp_setup(self, change: SecurityChangeRequest, token: str, code: str) -> Principal:
        principal = self._guard.check(change)
        if TwoFactorMethod.TOTP in principal.methods:
            raise TwoFactorMethodAlreadyEnabled()
        secret, codes = self._open_setup(principal, token)
        throttle_key = f"user:{principal.id}"
        self._throttle.reserve(throttle_key)
        step = otp.matching_step(secret, code, self._clock.now())
        if step is None:
            raise InvalidTwoFactorCode()
        self._throttle.forget(throttle_key)
        state = {
            "secret": self._principals.cipher.encrypt(
                secret, sealed_context(principal.id, "totp.secret")
            ),
            # The confirming code's step counts as used: it is never accepted again.
            "lastUsedStep": step,
            "recoveryCodes": [self._passwords.hash(recovery) for recovery in codes],
            "enabledAt": self._clock.now(),
        }
        return self._add(change, principal, TwoFactorMethod.TOTP, state)

    def _open_setup(self, principal: Principal, token: str) -> tuple[str, list[str]]:
        claims = self._tokens.verify_totp_setup(token)
        if claims.sub != principal.id:
            raise InvalidTotpSetupToken()
        try:
            pending = json.loads(
                self._principals.cipher.open_text(claims.sealed, _setup_context(principal.id))
            )
            return str(pending["secret"]), [str(code) for code in pending["codes"]]
        except (DatabaseEncryptionFailure, ValueError, KeyError, TypeError):
            raise InvalidTotpSetupToken() from None

    # Email codes --------------------------------------------------------------------------------

    def enable_email(self, change: SecurityChangeRequest, code: str) -> Principal:
        principal = self._guard.check(change)
        if TwoFactorMethod.EMAIL in principal.methods:
            raise TwoFactorMethodAlreadyEnabled()
        self._verifier.require_email_code(principal, code, keys=(f"user:{principal.id}",))
        state = {"enabledAt": self._clock.now()}
        return self._add(
            change, principal, TwoFactorMethod.EMAIL, state, also_set={"emailVerified": True}
        )

    # Preferred method ---------------------------------------------------------------------------

    def set_preferred(self, change: SecurityChangeRequest, method: TwoFactorMethod) -> Principal:
        principal = self._guard.check(change)
        if method not in principal.methods:
            raise InvalidRequest("Only an enabled two-factor method can be preferred.")
        origin = self._sessions.change_origin(change.access.sid, change.request)
        now = self._clock.now()
        event = security_event(AlertKind.PREFERRED_METHOD_CHANGED, method, origin, now)
        if not self._principals.set_preferred_method(principal, method, event=event, now=now):
            raise StepUpTokenInvalid()
        return self._guard.load_user(principal.id)

    # Shared -------------------------------------------------------------------------------------

    def _add(
        self,
        change: SecurityChangeRequest,
        principal: Principal,
        method: TwoFactorMethod,
        state: dict[str, Any],
        also_set: dict[str, Any] | None = None,
    ) -> Principal:
        origin = self._sessions.change_origin(change.access.sid, change.request)
        now = self._clock.now()
        alert = self._composer.compose(
            AlertKind.TWO_FACTOR_ADDED, method, change, principal, origin, now
        )
        event = security_event(AlertKind.TWO_FACTOR_ADDED, method, origin, now)
        if not self._principals.add_method(
            principal, method, state, event=event, alert=alert, now=now, also_set=also_set
        ):
            # Every security change bumps the step-up generation the write was pinned to: a miss
            # means another change used this step-up proof's generation first.
            raise StepUpTokenInvalid()
        self._sessions.end_other_sessions(principal.id, change.access.sid)
        changed = self._guard.load_user(principal.id)
        if alert is not None:
            self._alerts.send_after_commit(principal.id, alert["id"])
        return changed


def _setup_context(principal_id: str) -> str:
    return sealed_context(principal_id, "totp-setup")
