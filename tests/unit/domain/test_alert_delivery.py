"""Sending queued security alerts (``AlertDelivery``) over the in-memory outbox: right after the
change, then by the worker with a backoff; what is dropped and why; claims that keep two
workers from sending one alert twice and that a dead worker gives up after five minutes."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.support.domain_kit import Kit, build_kit
from tests.support.fakes import FakeOutbox, FakePrincipals, OutboxEntry
from twofactor.domain.alert_delivery import (
    FIRST_RETRY,
    LONGEST_RETRY,
    STALE_CLAIM,
    AlertDelivery,
)
from twofactor.domain.alerts import AlertKind, AlertPolicy, QueuedAlert
from twofactor.domain.model import ChangeOrigin, RequestInfo, TwoFactorMethod
from twofactor.domain.outbox import DeliveryStatus, DueWindow
from twofactor.errors import PostCommitSideEffectFailure

ORIGIN = ChangeOrigin(
    session_id="session-1",
    request=RequestInfo(ip="192.0.2.10", user_agent="Mozilla/5.0 (Windows NT 10.0)"),
    browser="Edge",
    os="Windows",
)


# Helpers ------------------------------------------------------------------------------------


def new_kit(**settings: Any) -> Kit:
    return build_kit(**settings)


def recipient(kit: Kit, email: str | None = "ada@example.com") -> str:
    """A user stored directly in the fake (delivery never checks a password)."""
    now = kit.clock.now()
    return kit.principals.add_user(
        created_at=now, last_active=now, step_up_generation=1, email=email
    )


def queue(
    kit: Kit,
    principal_id: str,
    *,
    kind: AlertKind = AlertKind.TWO_FACTOR_REMOVED,
    method: TwoFactorMethod = TwoFactorMethod.TOTP,
    locale: str = "de",
    **entry: Any,
) -> str:
    """Queue an alert as the change's write does (``entry`` sets outbox fields); its id."""
    alert = QueuedAlert(
        id=uuid.uuid4().hex,
        kind=kind,
        method=method,
        locale=locale,
        origin=ORIGIN,
        created_at=kit.clock.now(),
    )
    outbox_entry = OutboxEntry(alert, next_attempt_at=alert.created_at, **entry)
    kit.principals.records[principal_id].outbox.append(outbox_entry)
    return alert.id


def failed_once(kit: Kit) -> tuple[str, str]:
    """An alert whose first attempt the mail server refused just now."""
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)
    kit.mail.refusing = True
    with pytest.raises(PostCommitSideEffectFailure):
        kit.services.alerts.send_after_commit(user_id, alert_id)
    kit.mail.refusing = False
    return user_id, alert_id


def wait_before_next_attempt(kit: Kit, user_id: str, alert_id: str) -> timedelta:
    next_attempt_at = kit.outbox.entry(user_id, alert_id).next_attempt_at
    assert next_attempt_at is not None
    return next_attempt_at - kit.clock.now()


def claim_as_another_worker(kit: Kit, user_id: str, alert_id: str) -> None:
    """Another worker claims the alert now and is still sending it (or died doing so)."""
    now = kit.clock.now()
    window = DueWindow(due_by=now, stale_before=now - STALE_CLAIM)
    assert kit.outbox.claim(user_id, alert_id, "other-worker", now, window) is not None


# Right after the change ----------------------------------------------------------------------


def test_an_alert_sent_after_the_commit_is_marked_sent() -> None:
    kit = new_kit()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)

    kit.services.alerts.send_after_commit(user_id, alert_id)

    entry = kit.outbox.entry(user_id, alert_id)
    assert entry.status is DeliveryStatus.SENT
    assert entry.sent_at == kit.clock.now()
    assert entry.attempts == 1


def test_an_alert_sent_without_the_claim_of_its_queueing_is_claimed_first() -> None:
    # ``send_claimed_after_commit`` with an alert queued unclaimed falls back to claiming it.
    kit = new_kit()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)
    [entry] = kit.principals.records[user_id].outbox
    principal = kit.principals.get(user_id)
    assert principal is not None

    kit.services.alerts.send_claimed_after_commit(principal, entry.alert)

    assert kit.outbox.entry(user_id, alert_id).status is DeliveryStatus.SENT
    assert len(kit.mail.alerts) == 1


def test_the_mailed_alert_says_what_changed_when_and_from_where_in_its_locale() -> None:
    kit = new_kit()
    user_id = recipient(kit)
    queued_at = kit.clock.now()
    alert_id = queue(kit, user_id, method=TwoFactorMethod.EMAIL, locale="pt_BR")
    kit.clock.advance(90)

    kit.services.alerts.send_after_commit(user_id, alert_id)

    [alert] = kit.mail.alerts
    assert alert.kind is AlertKind.TWO_FACTOR_REMOVED
    assert alert.method_label == "Email codes"
    assert (alert.recipient_email, alert.recipient_name) == ("ada@example.com", "Ada")
    assert alert.occurred_at == queued_at
    assert alert.locale == "pt_BR"
    assert (alert.ip, alert.user_agent) == (ORIGIN.request.ip, ORIGIN.request.user_agent)
    assert (alert.browser, alert.os) == ("Edge", "Windows")


def test_an_alert_stored_without_a_locale_is_written_in_english() -> None:
    kit = new_kit(default_locale="fr")
    user_id = recipient(kit)
    alert_id = queue(kit, user_id, locale="")

    kit.services.alerts.send_after_commit(user_id, alert_id)

    assert [alert.locale for alert in kit.mail.alerts] == ["en"]


def test_an_alert_the_mail_refuses_after_the_commit_stays_pending_for_the_worker() -> None:
    kit = new_kit()
    user_id, alert_id = failed_once(kit)

    entry = kit.outbox.entry(user_id, alert_id)
    assert entry.status is DeliveryStatus.PENDING
    assert entry.attempts == 1
    assert entry.last_error == "SMTPRecipientsRefused 451"
    assert entry.next_attempt_at == kit.clock.now() + FIRST_RETRY
    assert kit.mail.alerts == []


def test_an_outbox_that_fails_after_the_commit_is_reported_as_a_post_commit_failure() -> None:
    kit = new_kit()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)
    kit.outbox.broken = True

    with pytest.raises(PostCommitSideEffectFailure):
        kit.services.alerts.send_after_commit(user_id, alert_id)

    assert kit.mail.alerts == []


def test_an_alert_another_worker_is_sending_is_left_to_it() -> None:
    kit = new_kit()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)
    claim_as_another_worker(kit, user_id, alert_id)

    assert kit.services.alerts.deliver(user_id, alert_id) is None
    kit.services.alerts.send_after_commit(user_id, alert_id)  # not this request's failure

    assert kit.mail.alerts == []
    assert kit.outbox.entry(user_id, alert_id).attempts == 1


def test_a_sent_alert_is_never_sent_again() -> None:
    kit = new_kit()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)
    kit.services.alerts.send_after_commit(user_id, alert_id)
    kit.clock.advance(LONGEST_RETRY.total_seconds() * 2)

    report = kit.services.alerts.deliver_due(ignore_backoff=True)

    assert (report.sent, report.failed, report.dropped) == (0, 0, 0)
    assert kit.services.alerts.deliver(user_id, alert_id) is None
    assert len(kit.mail.alerts) == 1


# The worker and its backoff ------------------------------------------------------------------


def test_a_failed_alert_waits_for_its_backoff_before_the_next_attempt() -> None:
    kit = new_kit()
    user_id, alert_id = failed_once(kit)
    kit.clock.advance(FIRST_RETRY.total_seconds() - 1)

    early = kit.services.alerts.deliver_due()
    kit.clock.advance(1)
    due = kit.services.alerts.deliver_due()

    assert (early.sent, early.failed) == (0, 0)
    assert due.sent == 1
    entry = kit.outbox.entry(user_id, alert_id)
    assert (entry.status, entry.attempts) == (DeliveryStatus.SENT, 2)
    assert len(kit.mail.alerts) == 1


def test_the_backoff_doubles_from_thirty_seconds_up_to_one_hour() -> None:
    kit = new_kit()
    user_id, alert_id = failed_once(kit)
    kit.mail.refusing = True
    delays = [wait_before_next_attempt(kit, user_id, alert_id)]

    for _ in range(8):
        kit.clock.advance(delays[-1].total_seconds())
        report = kit.services.alerts.deliver_due()
        assert report.failed == 1
        delays.append(wait_before_next_attempt(kit, user_id, alert_id))

    assert [int(delay.total_seconds()) for delay in delays] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert kit.outbox.entry(user_id, alert_id).attempts == 9
    assert kit.mail.alerts == []


@pytest.mark.parametrize(
    "earlier_attempts",
    [
        20,
        41,
        42,
        200,
    ],
)
def test_after_many_failed_attempts_the_backoff_stays_one_hour(earlier_attempts: int) -> None:
    kit = new_kit()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id, attempts=earlier_attempts)
    kit.mail.refusing = True

    report = kit.services.alerts.deliver_due()

    assert report.failed == 1
    entry = kit.outbox.entry(user_id, alert_id)
    assert entry.status is DeliveryStatus.PENDING
    assert entry.attempts == earlier_attempts + 1
    assert entry.next_attempt_at == kit.clock.now() + LONGEST_RETRY


def test_ignore_backoff_sends_every_pending_alert_now() -> None:
    kit = new_kit()
    user_id, alert_id = failed_once(kit)
    queue(kit, recipient(kit, "bob@example.com"))

    report = kit.services.alerts.deliver_due(ignore_backoff=True)

    assert report.sent == 2
    assert kit.outbox.entry(user_id, alert_id).status is DeliveryStatus.SENT
    assert {alert.recipient_email for alert in kit.mail.alerts} == {
        "ada@example.com",
        "bob@example.com",
    }


def test_ignore_backoff_does_not_take_an_alert_from_a_live_worker() -> None:
    kit = new_kit()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)
    claim_as_another_worker(kit, user_id, alert_id)

    report = kit.services.alerts.deliver_due(ignore_backoff=True)

    assert (report.sent, report.failed, report.dropped) == (0, 0, 0)
    assert kit.mail.alerts == []


def test_one_pass_tries_at_most_limit_alerts() -> None:
    kit = new_kit()
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        queue(kit, recipient(kit, email))

    first = kit.services.alerts.deliver_due(limit=2)
    second = kit.services.alerts.deliver_due(limit=2)

    assert (first.sent, second.sent) == (2, 1)
    assert len(kit.mail.alerts) == 3


def test_a_store_failure_while_loading_the_recipient_is_retried_with_its_code() -> None:
    kit = new_kit()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)
    kit.principals.broken = True

    report = kit.services.alerts.deliver_due()

    assert report.failed == 1
    entry = kit.outbox.entry(user_id, alert_id)
    assert entry.status is DeliveryStatus.PENDING
    assert entry.last_error == "DATABASE_FAILURE"
    assert entry.next_attempt_at == kit.clock.now() + FIRST_RETRY

    kit.principals.broken = False
    kit.clock.advance(FIRST_RETRY.total_seconds())
    assert kit.services.alerts.deliver_due().sent == 1


# Dropped alerts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw_kind", "raw_method"),
    [
        ("password_changed", None),
        ("", None),
        (None, "sms"),
        (None, ""),
    ],
)
def test_a_malformed_alert_is_dropped(raw_kind: str | None, raw_method: str | None) -> None:
    kit = new_kit()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id, raw_kind=raw_kind, raw_method=raw_method)

    report = kit.services.alerts.deliver_due()

    assert report.dropped == 1
    entry = kit.outbox.entry(user_id, alert_id)
    assert (entry.status, entry.reason) == (DeliveryStatus.DROPPED, "malformed alert")
    assert kit.mail.alerts == []
    assert kit.services.alerts.deliver_due(ignore_backoff=True).dropped == 0


def test_an_alert_whose_recipient_has_no_address_any_more_is_dropped() -> None:
    kit = new_kit()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)
    kit.principals.update(user_id, email=None)

    report = kit.services.alerts.deliver_due()

    assert report.dropped == 1
    entry = kit.outbox.entry(user_id, alert_id)
    assert (entry.status, entry.reason) == (
        DeliveryStatus.DROPPED,
        "the recipient no longer exists",
    )
    assert kit.mail.alerts == []


def test_an_alert_whose_recipient_was_deleted_is_dropped() -> None:
    kit = new_kit()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)
    policy = AlertPolicy(email_enabled=True, two_factor_removed=True, two_factor_added=True)
    labels = {method: method.value for method in TwoFactorMethod}
    # The outbox still holds the entry; the principal store no longer knows its recipient.
    delivery = AlertDelivery(kit.outbox, FakePrincipals(), kit.mail, policy, labels, kit.clock)

    report = delivery.deliver_due()

    assert report.dropped == 1
    entry = kit.outbox.entry(user_id, alert_id)
    assert (entry.status, entry.reason) == (
        DeliveryStatus.DROPPED,
        "the recipient no longer exists",
    )
    assert kit.mail.alerts == []


@pytest.mark.parametrize(
    ("settings", "kind"),
    [
        ({"security_alert_two_factor_removed": False}, AlertKind.TWO_FACTOR_REMOVED),
        ({"security_alert_two_factor_added": False}, AlertKind.TWO_FACTOR_ADDED),
        ({"mail": False}, AlertKind.TWO_FACTOR_ADDED),
        ({}, AlertKind.PREFERRED_METHOD_CHANGED),
    ],
)
def test_an_alert_of_a_kind_switched_off_is_dropped(
    settings: dict[str, bool], kind: AlertKind
) -> None:
    kit = new_kit(**settings)
    user_id = recipient(kit)
    alert_id = queue(kit, user_id, kind=kind)

    report = kit.services.alerts.deliver_due()

    assert report.dropped == 1
    entry = kit.outbox.entry(user_id, alert_id)
    assert (entry.status, entry.reason) == (
        DeliveryStatus.DROPPED,
        "alerts of this kind are switched off",
    )
    assert kit.mail.alerts == []


def test_switching_one_kind_off_keeps_sending_the_other() -> None:
    kit = new_kit(security_alert_two_factor_removed=False)
    user_id = recipient(kit)
    added = queue(kit, user_id, kind=AlertKind.TWO_FACTOR_ADDED)

    kit.services.alerts.deliver_due()

    assert kit.outbox.entry(user_id, added).status is DeliveryStatus.SENT
    assert [alert.kind for alert in kit.mail.alerts] == [AlertKind.TWO_FACTOR_ADDED]


# Claims -------------------------------------------------------------------------------------


def test_the_claim_of_a_worker_that_died_is_taken_over_after_five_minutes() -> None:
    kit = new_kit()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)
    claim_as_another_worker(kit, user_id, alert_id)

    kit.clock.advance(STALE_CLAIM.total_seconds() - 1)
    while_alive = kit.services.alerts.deliver_due()
    kit.clock.advance(1)
    after_it_died = kit.services.alerts.deliver_due()

    assert while_alive.sent == 0
    assert after_it_died.sent == 1
    entry = kit.outbox.entry(user_id, alert_id)
    assert (entry.status, entry.attempts) == (DeliveryStatus.SENT, 2)
    assert len(kit.mail.alerts) == 1


class OutboxRacedByAnotherWorker(FakeOutbox):
    """Another worker claims each alert right after this worker listed it as due."""

    def due(self, window: DueWindow, limit: int) -> list[tuple[str, str]]:
        pairs = super().due(window, limit)
        now = window.stale_before + STALE_CLAIM
        for principal_id, alert_id in pairs:
            self.claim(principal_id, alert_id, "other-worker", now, window)
        return pairs


def test_an_alert_another_worker_claimed_after_it_was_listed_is_skipped() -> None:
    kit = new_kit()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)
    outbox = OutboxRacedByAnotherWorker(kit.principals)
    policy = AlertPolicy(email_enabled=True, two_factor_removed=True, two_factor_added=True)
    labels = {method: method.value for method in TwoFactorMethod}
    delivery = AlertDelivery(outbox, kit.principals, kit.mail, policy, labels, kit.clock)

    report = delivery.deliver_due()

    assert (report.sent, report.failed, report.dropped) == (0, 0, 0)
    assert kit.mail.alerts == []
    entry = outbox.entry(user_id, alert_id)
    assert (entry.status, entry.claim, entry.attempts) == (
        DeliveryStatus.SENDING,
        "other-worker",
        1,
    )


def test_two_workers_running_at_once_never_both_send_an_alert() -> None:
    kit = new_kit()
    alerts = [
        (user_id, queue(kit, user_id))
        for user_id in (recipient(kit, f"user{n}@example.com") for n in range(40))
    ]
    start = threading.Barrier(2)
    reports = []

    def worker() -> None:
        start.wait()
        reports.append(kit.services.alerts.deliver_due())

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sum(report.sent for report in reports) == len(alerts)
    assert sum(report.failed + report.dropped for report in reports) == 0
    assert len(kit.mail.alerts) == len(alerts)
    assert len({alert.recipient_email for alert in kit.mail.alerts}) == len(alerts)
    assert all(kit.outbox.entry(*pair).attempts == 1 for pair in alerts)


def test_a_retry_is_due_exactly_at_its_next_attempt_time() -> None:
    kit = new_kit()
    user_id, alert_id = failed_once(kit)

    kit.clock.advance(wait_before_next_attempt(kit, user_id, alert_id).total_seconds())

    assert kit.services.alerts.deliver(user_id, alert_id) is DeliveryStatus.SENT


# Recipients whose stored address cannot be mailed ---------------------------------------------

UNUSABLE_ADDRESSES = [
    "ada@example.com, eve@elsewhere.example",
    "Eve <eve@elsewhere.example>",
    "ada@example.com\r\nBcc: eve@elsewhere.example",
]


@pytest.mark.parametrize("stored", UNUSABLE_ADDRESSES)
def test_an_alert_to_an_unusable_stored_address_is_dropped_and_the_request_told(
    stored: str,
) -> None:
    kit = new_kit()
    user_id = recipient(kit, email=stored)
    alert_id = queue(kit, user_id)

    with pytest.raises(PostCommitSideEffectFailure) as failure:
        kit.services.alerts.send_after_commit(user_id, alert_id)

    assert "cannot be sent" in failure.value.detail
    assert "retried" not in failure.value.detail
    entry = kit.outbox.entry(user_id, alert_id)
    assert (entry.status, entry.reason) == (
        DeliveryStatus.DROPPED,
        "the recipient's email address is not usable",
    )
    assert kit.mail.alerts == []
    assert kit.services.alerts.deliver_due(ignore_backoff=True).dropped == 0


def test_the_worker_drops_an_alert_to_an_unusable_stored_address() -> None:
    kit = new_kit()
    user_id, alert_id = failed_once(kit)
    kit.principals.update(user_id, email="Eve <eve@elsewhere.example>")
    kit.clock.advance(FIRST_RETRY.total_seconds())

    report = kit.services.alerts.deliver_due()

    assert (report.sent, report.dropped, report.failed) == (0, 1, 0)
    assert kit.outbox.entry(user_id, alert_id).status is DeliveryStatus.DROPPED
    assert kit.mail.alerts == []


def test_an_alert_the_mail_adapter_finds_undeliverable_is_dropped_with_its_reason() -> None:
    kit = new_kit()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)
    kit.mail.undeliverable = True

    with pytest.raises(PostCommitSideEffectFailure):
        kit.services.alerts.send_after_commit(user_id, alert_id)

    entry = kit.outbox.entry(user_id, alert_id)
    assert (entry.status, entry.reason) == (
        DeliveryStatus.DROPPED,
        "the recipient's address is not usable: syntax",
    )


def test_an_alert_dropped_because_its_kind_is_off_is_no_failure_of_the_request() -> None:
    kit = new_kit(security_alert_two_factor_removed=False)
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)

    kit.services.alerts.send_after_commit(user_id, alert_id)

    assert kit.outbox.entry(user_id, alert_id).status is DeliveryStatus.DROPPED
