"""How a security change is recorded: its history entry and, when wanted, its alert.

Every change that adds or removes a second factor records the same facts (what, from where,
when) and queues its alert through the same composer; this is that shared step.
"""

from __future__ import annotations

from dataclasses import dataclass

from twofactor.clock import Clock
from twofactor.domain.alerts import AlertComposer, AlertKind, QueuedAlert, SecurityEvent
from twofactor.domain.guard import SecurityChangeRequest
from twofactor.domain.model import Principal, TwoFactorMethod
from twofactor.domain.sessions import SessionService


@dataclass(frozen=True)
class ChangeRecord:
    event: SecurityEvent
    alert: QueuedAlert | None


class ChangeRecorder:
    def __init__(self, sessions: SessionService, composer: AlertComposer, clock: Clock) -> None:
        self._sessions = sessions
        self._composer = composer
        self._clock = clock

    def record(
        self,
        kind: AlertKind,
        method: TwoFactorMethod,
        change: SecurityChangeRequest,
        principal: Principal,
    ) -> ChangeRecord:
        origin = self._sessions.change_origin(change.access.sid, change.request, change.device)
        event = SecurityEvent(kind=kind, method=method, origin=origin, at=self._clock.now())
        return ChangeRecord(event, self._composer.compose(event, principal, change.language))
