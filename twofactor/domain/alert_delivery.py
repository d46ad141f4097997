"""Sending queued security alerts: right after the change, and again later by a worker.

Each attempt claims the alert atomically, renders it in the locale stored with it, hands it
to the mailer, and records the outcome: ``sent`` (never sent again), ``dropped`` (its kind was
switched off, or the recipient is gone) or back to ``pending`` with an exponential backoff and
the last error kept.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from twofactor.clock import Clock
from twofactor.domain.alerts import AlertKind, AlertPolicy
from twofactor.domain.model import TwoFactorMethod
from twofactor.errors import PostCommitSideEffectFailure, ServiceError
from twofactor.mail.mailer import MailDeliveryError, Mailer
from twofactor.mail.rendering import AlertContent, AlertRenderer
from twofactor.store.outbox import AlertOutbox, ClaimedAlert, DueWindow
from twofactor.store.principals import PrincipalStore

logger = logging.getLogger("twofactor.alerts")

_FIRST_RETRY = timedelta(seconds=30)
_LONGEST_RETRY = timedelta(hours=1)
#: A claim older than this belongs to a worker that died mid-send; the alert is tried again.
_STALE_CLAIM = timedelta(minutes=5)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dropped: int = 0


class AlertDelivery:
    def __init__(
        self,
        outbox: AlertOutbox,
        principals: PrincipalStore,
        renderer: AlertRenderer,
        mailer: Mailer | None,
        policy: AlertPolicy,
        clock: Clock,
    ) -> None:
        self._outbox = outbox
        self._principals = principals
        self._renderer = renderer
        self._mailer = mailer
        self._policy = policy
        self._clock = clock

    def deliver(self, principal_id: str, alert_id: str) -> str | None:
        """Try one alert now; its resulting status, or ``None`` when another worker has it."""
        now = self._clock.now()
        claimed = self._outbox.claim(
            principal_id, alert_id, secrets.token_hex(8), now, self._window(now, now)
        )
        return None if claimed is None else self._attempt(claimed)

    def send_after_commit(self, principal_id: str, alert_id: str) -> None:
        """The change is committed and its alert queued: try to send it once, right away.

        If that fails the alert stays queued for the worker and the caller learns it through
        ``PostCommitSideEffectFailure`` (the change itself is not undone).
        """
        try:
            status = self.deliver(principal_id, alert_id)
        except ServiceError:
            status = "pending"
        if status == "pending":
            raise PostCommitSideEffectFailure()

    def deliver_due(self, *, ignore_backoff: bool = False, limit: int = 100) -> DeliveryReport:
        """One pass over the due alerts (``ignore_backoff``: every pending one, for operators)."""
        now = self._clock.now()
        window = self._window(
            now, datetime.max.replace(tzinfo=now.tzinfo) if ignore_backoff else now
        )
        report = DeliveryReport()
        for principal_id, alert_id in self._outbox.due(window, limit):
            claimed = self._outbox.claim(principal_id, alert_id, secrets.token_hex(8), now, window)
            if claimed is None:
                continue
            status = self._attempt(claimed)
            if status == "sent":
                report.sent += 1
            elif status == "dropped":
                report.dropped += 1
            else:
                report.failed += 1
        return report

    def _attempt(self, claimed: ClaimedAlert) -> str:
        alert = claimed.alert
        now = self._clock.now()
        try:
            kind = AlertKind(alert["kind"])
            method = TwoFactorMethod(alert["method"])
        except (KeyError, ValueError):
            return self._finish(claimed, "dropped", reason="malformed alert")
        if self._mailer is None or not self._policy.wants(kind):
            return self._finish(claimed, "dropped", reason="alerts of this kind are switched off")
        try:
            principal = self._principals.get(claimed.principal_id)
        except ServiceError as error:
            return self._retry(claimed, now, error.code)
        if principal is None or principal.email is None:
            return self._finish(claimed, "dropped", reason="the recipient no longer exists")
        origin: dict[str, Any] = alert.get("origin") or {}
        message = self._renderer.render(
            AlertContent(
                kind=kind,
                method=method,
                recipient_email=principal.email,
                recipient_name=principal.name,
                occurred_at=alert.get("createdAt") or now,
                locale=str(alert.get("locale") or "en"),
                ip=origin.get("ip"),
                browser=origin.get("browser"),
                os=origin.get("os"),
                user_agent=origin.get("userAgent"),
            )
        )
        try:
            self._mailer.send(message)
        except MailDeliveryError as error:
            return self._retry(claimed, now, str(error))
        return self._finish(claimed, "sent", sentAt=now)

    def _retry(self, claimed: ClaimedAlert, now: datetime, error: str) -> str:
        attempts = int(claimed.alert.get("attempts", 1))
        delay = min(_FIRST_RETRY * 2 ** max(attempts - 1, 0), _LONGEST_RETRY)
        logger.warning(
            "security alert %s not sent (attempt %d): %s", claimed.alert.get("id"), attempts, error
        )
        return self._finish(claimed, "pending", nextAttemptAt=now + delay, lastError=error)

    def _finish(self, claimed: ClaimedAlert, status: str, **fields: Any) -> str:
        self._outbox.finish(claimed, status, self._clock.now(), **fields)
        return status

    @staticmethod
    def _window(now: datetime, due_by: datetime) -> DueWindow:
        return DueWindow(due_by=due_by, stale_before=now - _STALE_CLAIM)
