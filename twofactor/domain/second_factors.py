"""Removing a second factor: the recipe guard -> one conditional write -> record -> alert.

The guard follows the contract's check order (steps 3 to 7; steps 1 and 2 happened in the
security layer before), and the write pins the state the guard saw, so a concurrent change is
re-read and answered truthfully instead of being lost.
"""

from __future__ import annotations

from twofactor.clock import Clock
from twofactor.domain.alert_delivery import AlertDelivery
from twofactor.domain.alerts import AlertKind
from twofactor.domain.guard import SecurityChangeGuard, SecurityChangeRequest
from twofactor.domain.model import Principal, TwoFactorMethod
from twofactor.domain.ports import PrincipalRepository
from twofactor.domain.security_change import ChangeRecorder
from twofactor.errors import (
    CannotDisableOnlyTwoFactorMethod,
    DatabaseFailure,
    TwoFactorMethodAlreadyDisabled,
)

# A filter miss means another change won the race; each retry re-reads and re-checks, and the
# checks end the loop as soon as the state no longer allows the change. The bound only guards
# against a pathological stream of unrelated writes.
MAX_ATTEMPTS = 5


class SecondFactorService:
    def __init__(
        self,
        principals: PrincipalRepository,
        guard: SecurityChangeGuard,
        recorder: ChangeRecorder,
        clock: Clock,
        alerts: AlertDelivery,
    ) -> None:
        self._principals = principals
        self._guard = guard
        self._recorder = recorder
        self._clock = clock
        self._alerts = alerts

    def disable(self, method: TwoFactorMethod, change: SecurityChangeRequest) -> Principal:
        for _ in range(MAX_ATTEMPTS):
            principal = self._guard.check(change, count=False)
            if method not in principal.methods:
                raise TwoFactorMethodAlreadyDisabled()
            if len(principal.methods) == 1:
                raise CannotDisableOnlyTwoFactorMethod()
            # Counted only once a change is about to be written, and by that write: an answer
            # that changes nothing (304, 400) spends nothing, and a write that misses counts
            # nothing either.
            counted = self._guard.change_count(principal)
            record = self._recorder.record(AlertKind.TWO_FACTOR_REMOVED, method, change, principal)
            # The change, the step-up token's consumption, the budget's count and the alert
            # (queued already claimed by this request) are one conditional write, which answers
            # the principal as written.
            alert = None if record.alert is None else self._alerts.claimed_on_queue(record.alert)
            changed = self._principals.remove_method(
                principal,
                method,
                event=record.event,
                alert=alert,
                now=self._clock.now(),
                counted=counted,
            )
            if changed is not None:
                if alert is not None:
                    self._alerts.send_claimed_after_commit(changed, alert)
                return changed
        raise DatabaseFailure("The account kept changing during the request; nothing was changed.")
