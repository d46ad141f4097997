"""Sending queued security alerts: right after the change, and again later by a worker.

Each attempt claims the alert atomically, renders it in the locale stored with it, hands it
to the mail port, and records the outcome: sent (never sent again), dropped with its reason (its
kind was switched off, the entry is malformed, the recipient is gone or its address cannot be
mailed) or back to pending with an exponential backoff and the last error kept.

The request that made the change waits a bounded time for its alert (``send_wait``): the send
runs on a thread of ``sender``, and when the wait is over the request answers
``PostCommitSideEffectFailure`` while the send goes on. Sending twice cannot follow from that:
a send that started holds the alert's claim and records its own outcome (sent, or back to
pending), and no other attempt can claim the alert meanwhile; a send that had not started yet is
cancelled and never takes the claim, so the alert waits, pending, for the retry worker.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from twofactor.clock import Clock
from twofactor.domain.alerts import AlertKind, AlertPolicy, QueuedAlert
from twofactor.domain.messages import AlertContent
from twofactor.domain.metrics import NO_METRICS, AlertEvent, Metrics
from twofactor.domain.model import Principal, TwoFactorMethod
from twofactor.domain.outbox import ClaimedAlert, DeliveryOutcome, DeliveryStatus, DueWindow
from twofactor.domain.ports import (
    AlertOutbox,
    MailDeliveryError,
    PrincipalRepository,
    SecurityMail,
    UndeliverableAddress,
)
from twofactor.errors import PostCommitSideEffectFailure, ServiceError
from twofactor.security.addresses import usable_email_address

logger = logging.getLogger("twofactor.alerts")

FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
_DOUBLINGS_TO_LONGEST = math.ceil(math.log2(LONGEST_RETRY / FIRST_RETRY))
#: A claim older than this belongs to a worker that died mid-send; the alert is tried again.
STALE_CLAIM = timedelta(minutes=5)
#: Alerts are written in the locale stored with them; an entry without one falls back to this.
_FALLBACK_LOCALE = "en"
_UNUSABLE_ADDRESS_REASON = "the recipient's email address is not usable"
_UNREACHABLE_DETAIL = (
    "Your change was saved, but the security alert email cannot be sent: the email address "
    "of this account cannot receive mail."
)


#: The metric event of each attempt's outcome (back to pending: the attempt failed).
_EVENTS = {
    DeliveryStatus.SENT: AlertEvent.SENT,
    DeliveryStatus.DROPPED: AlertEvent.DROPPED,
    DeliveryStatus.PENDING: AlertEvent.FAILED,
}


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dropped: int = 0


class AlertDelivery:
    def __init__(
        self,
        outbox: AlertOutbox,
        principals: PrincipalRepository,
        mail: SecurityMail | None,
        policy: AlertPolicy,
        method_labels: Mapping[TwoFactorMethod, str],
        clock: Clock,
        metrics: Metrics = NO_METRICS,
        *,
        sender: Executor | None = None,
        send_wait: float | None = None,
    ) -> None:
        """Without ``sender``, ``send_after_commit`` sends on the caller's thread, unbounded."""
        self._metrics = metrics
        self._sender = sender
        self._send_wait = send_wait
        self._outbox = outbox
        self._principals = principals
        self._mail = mail
        self._policy = policy
        self._labels = method_labels
        self._clock = clock

    def deliver(self, principal_id: str, alert_id: str) -> DeliveryStatus | None:
        """Try one alert now; its resulting status, or ``None`` when another worker has it."""
        outcome = self._deliver(principal_id, alert_id)
        return None if outcome is None else outcome.status

    def send_after_commit(self, principal_id: str, alert_id: str) -> None:
        """The change is committed and its alert queued: try to send it once, right away.

        If that fails the alert stays queued for the worker and the caller learns it through
        ``PostCommitSideEffectFailure`` (the change itself is not undone). If the recipient's
        address cannot be mailed at all (stored before addresses were validated), the alert is
        dropped with that reason and the caller learns it the same way.
        """
        self._after_commit(alert_id, lambda: self._deliver(principal_id, alert_id))

    @staticmethod
    def claimed_on_queue(alert: QueuedAlert) -> QueuedAlert:
        """``alert`` with a claim of this request's: queued with its change already claimed,
        it needs no write to claim it before ``send_claimed_after_commit`` sends it."""
        return replace(alert, claim=secrets.token_hex(8))

    def send_claimed_after_commit(self, recipient: Principal, alert: QueuedAlert) -> None:
        """``send_after_commit`` for an alert queued already claimed (``claimed_on_queue``) by
        the change that answered ``recipient``: neither the claim nor the recipient is read
        again, so sending costs one write (the outcome)."""
        if alert.claim is None:
            self.send_after_commit(recipient.id, alert.id)
            return
        claimed = ClaimedAlert(
            principal_id=recipient.id,
            alert_id=alert.id,
            claim=alert.claim,
            attempts=1,
            kind=alert.kind.value,
            method=alert.method.value,
            locale=alert.locale,
            created_at=alert.created_at,
            origin=alert.origin,
        )
        self._after_commit(alert.id, lambda: self._attempt(claimed, recipient))

    def _after_commit(self, alert_id: str, deliver: Callable[[], DeliveryOutcome | None]) -> None:
        self._metrics.alert(AlertEvent.QUEUED)
        try:
            outcome = self._within_wait(alert_id, deliver)
        except ServiceError:
            raise PostCommitSideEffectFailure() from None
        if outcome is None:
            return
        if outcome.status is DeliveryStatus.PENDING:
            raise PostCommitSideEffectFailure()
        if outcome.unreachable:
            raise PostCommitSideEffectFailure(_UNREACHABLE_DETAIL)

    def _within_wait(
        self, alert_id: str, deliver: Callable[[], DeliveryOutcome | None]
    ) -> DeliveryOutcome | None:
        """``deliver()``'s outcome if it comes within ``send_wait``; else the 500 while the send
        goes on (it keeps its claim and records its own outcome) or, not yet started, is
        cancelled (its alert is left to the retry worker)."""
        if self._sender is None:
            return deliver()
        try:
            sending = self._sender.submit(deliver)
        except RuntimeError:  # the process is shutting down: the retry worker will send it
            raise PostCommitSideEffectFailure() from None
        try:
            return sending.result(timeout=self._send_wait)
        except TimeoutError:
            if not sending.cancel():
                sending.add_done_callback(_log_late_failure)
                logger.warning(
                    "security alert %s not sent within the wait; still sending", alert_id
                )
            raise PostCommitSideEffectFailure() from None

    def _deliver(self, principal_id: str, alert_id: str) -> DeliveryOutcome | None:
        now = self._clock.now()
        claimed = self._outbox.claim(
            principal_id, alert_id, secrets.token_hex(8), now, self._window(now, now)
        )
        return None if claimed is None else self._attempt(claimed)

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
            status = self._attempt(claimed).status
            if status is DeliveryStatus.SENT:
                report.sent += 1
            elif status is DeliveryStatus.DROPPED:
                report.dropped += 1
            else:
                report.failed += 1
        return report

    def _attempt(
        self, claimed: ClaimedAlert, recipient: Principal | None = None
    ) -> DeliveryOutcome:
        now = self._clock.now()
        try:
            kind = AlertKind(claimed.kind or "")
            label = self._labels[TwoFactorMethod(claimed.method or "")]
        except (KeyError, ValueError):
            return self._finish(claimed, DeliveryOutcome.dropped("malformed alert"))
        if self._mail is None or not self._policy.wants(kind):
            return self._finish(
                claimed, DeliveryOutcome.dropped("alerts of this kind are switched off")
            )
        principal = recipient
        if principal is None:
            try:
                principal = self._principals.get(claimed.principal_id)
            except ServiceError as error:
                return self._retry(claimed, now, error.code)
        if principal is None or principal.email is None:
            return self._finish(claimed, DeliveryOutcome.dropped("the recipient no longer exists"))
        if usable_email_address(principal.email) is None:
            return self._finish(
                claimed, DeliveryOutcome.unreachable_recipient(_UNUSABLE_ADDRESS_REASON)
            )
        origin = claimed.origin
        content = AlertContent(
            kind=kind,
            method_label=label,
            recipient_email=principal.email,
            recipient_name=principal.name,
            occurred_at=claimed.created_at or now,
            locale=claimed.locale or _FALLBACK_LOCALE,
            ip=origin.request.ip if origin else None,
            browser=origin.browser if origin else None,
            os=origin.os if origin else None,
            user_agent=origin.request.user_agent if origin else None,
        )
        try:
            self._mail.send_alert(content)
        except UndeliverableAddress as error:
            return self._finish(claimed, DeliveryOutcome.unreachable_recipient(str(error)))
        except MailDeliveryError as error:
            return self._retry(claimed, now, str(error))
        return self._finish(claimed, DeliveryOutcome.sent())

    def _retry(self, claimed: ClaimedAlert, now: datetime, error: str) -> DeliveryOutcome:
        attempts = max(claimed.attempts, 1)
        # Capped before doubling: after a long outage 2**attempts would overflow a timedelta.
        doublings = min(attempts - 1, _DOUBLINGS_TO_LONGEST)
        delay = min(FIRST_RETRY * 2**doublings, LONGEST_RETRY)
        logger.warning(
            "security alert %s not sent (attempt %d): %s", claimed.alert_id, attempts, error
        )
        return self._finish(claimed, DeliveryOutcome.retry(now + delay, error))

    def _finish(self, claimed: ClaimedAlert, outcome: DeliveryOutcome) -> DeliveryOutcome:
        self._outbox.finish(claimed, outcome, self._clock.now())
        self._metrics.alert(_EVENTS[outcome.status])
        return outcome

    @staticmethod
    def _window(now: datetime, due_by: datetime) -> DueWindow:
        return DueWindow(due_by=due_by, stale_before=now - STALE_CLAIM)


def _log_late_failure(sending: Future[DeliveryOutcome | None]) -> None:
    """A send that outlived its request's wait has no caller left to raise to: its failure to
    record an outcome (the database went away) is logged; the claim then goes stale and the
    retry worker tries again."""
    error = sending.exception()
    if error is not None:
        logger.warning("a security alert sent in the background failed: %s", type(error).__name__)
