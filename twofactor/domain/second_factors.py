"""Removing a second factor: the recipe guard -> one conditional write -> record -> alert.

The guard follows the contract's check order (steps 3 to 7; steps 1 and 2 happened in the
security layer before), and the write pins the state the guard saw, so a concurrent change is
re-read and answered truthfully instead of being lost.
"""

from __future__ import annotations

from twofactor.clock import Clock
from twofactor.domain.alert_delivery import AlertDelivery
from twofactor.domain.alerts import AlertComposer, AlertKind, ChangeOrigin, security_event
from twofactor.domain.guard import SecurityChangeGuard, SecurityChangeRequest
from twofactor.domain.model import Principal, TwoFactorMethod
from twofactor.domain.sessions import SessionService
from twofactor.errors import (
    CannotDisableOnlyTwoFactorMethod,
    DatabaseFailure,
    TwoFactorMethodAlreadyDisabled,
)
from twofactor.store.principals import PrincipalStore

# A filter miss means another change won the race; each retry re-reads and re-checks, and the
# checks end the loop as soon as the state no longer allows the change. The bound only guards
# against a pathological stream of unrelated writes.
_MAX_ATTEMPTS = 5


class SecondFactorService:
    def __init__(
        self,
        principals: PrincipalStore,
        guard: SecurityChangeGuard,
        sessions: SessionService,
        clock: Clock,
        composer: AlertComposer,
        alerts: AlertDelivery,
    ) -> None:
        self._principals = principals
        self._guard = guard
        self._sessions = sessions
        self._clock = clock
        self._composer = composer
        self._alerts = alerts

    def disable(self, method: TwoFactorMethod, change: SecurityChangeRequest) -> Principal:
        origin: ChangeOrigin | None = None
        for _ in range(_MAX_ATTEMPTS):
            principal = self._guard.check(change)
            if method not in principal.methods:
                raise TwoFactorMethodAlreadyDisabled()
            if len(principal.methods) == 1:
                raise CannotDisableOnlyTwoFactorMethod()
            origin = origin or self._sessions.change_origin(change.access.sid, change.request)
            now = self._clock.now()
            alert = self._composer.compose(
                AlertKind.TWO_FACTOR_REMOVED, method, change, principal, origin, now
            )
            event = security_event(AlertKind.TWO_FACTOR_REMOVED, method, origin, now)
            if self._principals.remove_method(principal, method, event=event, alert=alert, now=now):
                changed = self._guard.load_user(principal.id)
                if alert is not None:
                    self._alerts.send_after_commit(principal.id, alert["id"])
                return changed
        raise DatabaseFailure("The account kept changing during the request; nothing was changed.")
