"""Adding second factors (TOTP, email codes) and choosing the preferred one.

Same recipe as removing one: guard -> one conditional write (which consumes the step-up token,
records the change and queues its alert) -> send the alert. Adding a factor also ends the
user's other sessions: they never proved the new factor (ASVS 7.4.3).
"""

from __future__ import annotations

from twofactor.clock import Clock
from twofactor.domain.alert_delivery import AlertDelivery
from twofactor.domain.alerts import AlertKind
from twofactor.domain.factor import TotpEnrollment, TotpSetup
from twofactor.domain.guard import SecurityChangeGuard, SecurityChangeRequest
from twofactor.domain.model import EmailCodeState, FactorState, Principal, TwoFactorMethod
from twofactor.domain.ports import PrincipalRepository
from twofactor.domain.security_change import ChangeRecorder
from twofactor.domain.sessions import SessionService
from twofactor.domain.throttle import Throttle
from twofactor.domain.verification import SecondFactorVerifier
from twofactor.errors import (
    EmailDisabled,
    InvalidRequest,
    InvalidTwoFactorCode,
    StepUpTokenInvalid,
    TwoFactorMethodAlreadyEnabled,
)


class EnrollmentService:
    def __init__(
        self,
        principals: PrincipalRepository,
        guard: SecurityChangeGuard,
        sessions: SessionService,
        recorder: ChangeRecorder,
        totp: TotpEnrollment,
        verifier: SecondFactorVerifier,
        throttle: Throttle,
        alerts: AlertDelivery,
        clock: Clock,
        *,
        email_enabled: bool = True,
    ) -> None:
        self._principals = principals
        self._guard = guard
        self._sessions = sessions
        self._recorder = recorder
        self._totp = totp
        self._verifier = verifier
        self._throttle = throttle
        self._alerts = alerts
        self._clock = clock
        #: Whether this service sends mail at all (``EMAIL_ENABLED`` and a mail server).
        self._email_enabled = email_enabled

    # TOTP ---------------------------------------------------------------------------------------

    def begin_totp_setup(self, change: SecurityChangeRequest) -> TotpSetup:
        """A new secret and recovery codes, sealed into a setup token. Stores nothing and does
        not consume the step-up token."""
        principal = self._not_yet_enabled(change, TwoFactorMethod.TOTP)
        return self._totp.offer(principal)

    def confirm_totp_setup(self, change: SecurityChangeRequest, token: str, code: str) -> Principal:
        principal = self._not_yet_enabled(change, TwoFactorMethod.TOTP)
        pending = self._totp.open(principal, token)
        throttle_key = _user_key(principal)
        self._throttle.reserve(throttle_key)
        state = self._totp.confirm(pending, code, self._clock.now())
        if state is None:
            raise InvalidTwoFactorCode()
        self._throttle.forget(throttle_key)
        return self._add(change, principal, TwoFactorMethod.TOTP, state)

    # Email codes --------------------------------------------------------------------------------

    def enable_email(self, change: SecurityChangeRequest, code: str) -> Principal:
        principal = self._not_yet_enabled(change, TwoFactorMethod.EMAIL)
        if not self._email_enabled:
            # A code mailed before mail was switched off would still match: a factor whose codes
            # can no longer be sent must not be enabled.
            raise EmailDisabled()
        self._verifier.require_email_code(principal, code, token=None)
        state = EmailCodeState(enabled_at=self._clock.now())
        # The code reached the mailbox: the address is verified along the way.
        return self._add(change, principal, TwoFactorMethod.EMAIL, state, verifies_email=True)

    # Preferred method ---------------------------------------------------------------------------

    def set_preferred(self, change: SecurityChangeRequest, method: TwoFactorMethod) -> Principal:
        principal = self._guard.check(change)
        if method not in principal.methods:
            raise InvalidRequest("Only an enabled two-factor method can be preferred.")
        record = self._recorder.record(
            AlertKind.PREFERRED_METHOD_CHANGED, method, change, principal
        )
        if not self._principals.set_preferred_method(
            principal, method, event=record.event, now=self._clock.now()
        ):
            raise StepUpTokenInvalid()
        return self._guard.load_user(principal.id)

    # Shared -------------------------------------------------------------------------------------

    def _not_yet_enabled(self, change: SecurityChangeRequest, method: TwoFactorMethod) -> Principal:
        principal = self._guard.check(change)
        if method in principal.methods:
            raise TwoFactorMethodAlreadyEnabled()
        return principal

    def _add(
        self,
        change: SecurityChangeRequest,
        principal: Principal,
        method: TwoFactorMethod,
        state: FactorState,
        *,
        verifies_email: bool = False,
    ) -> Principal:
        record = self._recorder.record(AlertKind.TWO_FACTOR_ADDED, method, change, principal)
        # Other sessions end first: if ending them fails, the factor is not on yet and the
        # request can be retried; the other way round a failure would leave a session that
        # never proved the new factor alive beside it, and no retry could end it.
        self._sessions.end_other_sessions(principal.id, change.access.sid)
        if not self._principals.add_method(
            principal,
            method,
            state,
            event=record.event,
            alert=record.alert,
            now=self._clock.now(),
            mark_email_verified=verifies_email,
        ):
            # Every security change bumps the step-up generation the write was pinned to: a miss
            # means another change used this step-up proof's generation first.
            raise StepUpTokenInvalid()
        changed = self._guard.load_user(principal.id)
        if record.alert is not None:
            self._alerts.send_after_commit(principal.id, record.alert.id)
        return changed


def _user_key(principal: Principal) -> str:
    return f"user:{principal.id}"
