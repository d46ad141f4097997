"""Removing a second factor: the recipe guard -> one conditional write -> record -> alert.

The guard follows the contract's check order (steps 3 to 7; steps 1 and 2 happened in the
security layer before), and the write pins the state the guard saw, so a concurrent change is
re-read and answered truthfully instead of being lost.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from handlers.errors import (
    CannotDisableOnlyTwoFactorMethod,
    DatabaseFailure,
    NoPasswordProvider,
    PostCommitSideEffectFailure,
    ServiceError,
    TwoFactorMethodAlreadyDisabled,
    UserNotFound,
)
from handlers.model import Principal, RequestInfo, TwoFactorMethod
from handlers.services.alert_delivery import AlertDelivery
from handlers.services.alerts import (
    AlertKind,
    AlertPolicy,
    ChangeOrigin,
    queued_alert,
    security_event,
)
from handlers.services.clock import Clock
from handlers.services.locales import resolve_locale
from handlers.services.passwords import PasswordHasher
from handlers.services.sessions import SessionService
from handlers.services.step_up import require_step_up_for, require_unused_step_up
from handlers.services.tokens import AccessClaims, StepUpClaims
from handlers.store.principals import PrincipalStore

# A filter miss means another change won the race; each retry re-reads and re-checks, and the
# checks end the loop as soon as the state no longer allows the change. The bound only guards
# against a pathological stream of unrelated writes.
_MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class SecurityChangeRequest:
    access: AccessClaims
    step_up: StepUpClaims
    request: RequestInfo
    locale: str | None = None
    accept_language: str | None = None


class SecondFactorService:
    def __init__(
        self,
        principals: PrincipalStore,
        sessions: SessionService,
        passwords: PasswordHasher,
        clock: Clock,
        alert_policy: AlertPolicy,
        alerts: AlertDelivery,
        default_locale: str,
        alert_locales: Collection[str],
    ) -> None:
        self._principals = principals
        self._sessions = sessions
        self._passwords = passwords
        self._clock = clock
        self._alert_policy = alert_policy
        self._alerts = alerts
        self._default_locale = default_locale
        self._alert_locales = alert_locales

    def disable(self, method: TwoFactorMethod, change: SecurityChangeRequest) -> Principal:
        require_step_up_for(change.access, change.step_up)
        origin: ChangeOrigin | None = None
        for _ in range(_MAX_ATTEMPTS):
            principal = self._load_user(change.access.sub)
            require_unused_step_up(principal, change.step_up)
            self._require_password_identity(principal)
            if method not in principal.methods:
                raise TwoFactorMethodAlreadyDisabled()
            if len(principal.methods) == 1:
                raise CannotDisableOnlyTwoFactorMethod()
            origin = origin or self._origin(change)
            now = self._clock.now()
            alert = None
            if self._alert_policy.wants(AlertKind.TWO_FACTOR_REMOVED):
                locale = self._alert_locale(change, principal)
                alert = queued_alert(AlertKind.TWO_FACTOR_REMOVED, method, locale, origin, now)
            event = security_event(AlertKind.TWO_FACTOR_REMOVED, method, origin, now)
            if self._principals.remove_method(principal, method, event=event, alert=alert, now=now):
                changed = self._load_user(principal.id)
                if alert is not None:
                    self._send_now(principal.id, alert["id"])
                return changed
        raise DatabaseFailure("The account kept changing during the request; nothing was changed.")

    def _send_now(self, principal_id: str, alert_id: str) -> None:
        """The change is committed and its alert queued: try to send it once, right away.

        If that fails the alert stays queued for the worker, and the client is told so (the
        change itself is not undone).
        """
        try:
            status = self._alerts.deliver(principal_id, alert_id)
        except ServiceError:
            status = "pending"
        if status == "pending":
            raise PostCommitSideEffectFailure()

    def _load_user(self, principal_id: str) -> Principal:
        principal = self._principals.get(principal_id)
        if principal is None or principal.is_guest:
            raise UserNotFound()
        return principal

    def _require_password_identity(self, principal: Principal) -> None:
        if principal.password_hash is None:
            raise NoPasswordProvider()
        self._passwords.ensure_parseable(principal.password_hash)

    def _alert_locale(self, change: SecurityChangeRequest, principal: Principal) -> str:
        return resolve_locale(
            requested=change.locale,
            stored=principal.locale,
            accept_language=change.accept_language,
            default=self._default_locale,
            available=self._alert_locales,
        )

    def _origin(self, change: SecurityChangeRequest) -> ChangeOrigin:
        session = self._sessions.session(change.access.sid)
        return ChangeOrigin(
            session_id=change.access.sid,
            request=change.request,
            browser=session.browser if session else None,
            os=session.os if session else None,
        )
