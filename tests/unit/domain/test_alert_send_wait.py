"""The bounded wait of ``send_after_commit``: a request waits for its alert at most ``send_wait``
seconds, and whatever happens after that, the alert is sent exactly once (over the in-memory
outbox, with a mail server that stalls until the test lets it answer)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.domain_kit import Kit, build_kit
from tests.support.fakes import FakeMail
from tests.unit.domain.test_alert_delivery import queue, recipient
from twofactor.domain.alert_delivery import AlertDelivery
from twofactor.domain.alerts import AlertPolicy
from twofactor.domain.messages import AlertContent
from twofactor.domain.model import TwoFactorMethod
from twofactor.domain.outbox import DeliveryStatus
from twofactor.errors import PostCommitSideEffectFailure

WAIT = 0.2


class StallingMail(FakeMail):
    """A mail server that takes each alert only once ``answer`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = threading.Event()
        self.started = threading.Event()

    def send_alert(self, content: AlertContent) -> None:
        self.started.set()
        assert self.answer.wait(10)
        super().send_alert(content)


@pytest.fixture
def sender() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(1)
    yield executor
    executor.shutdown(wait=True)


def delivery(kit: Kit, mail: FakeMail, sender: ThreadPoolExecutor) -> AlertDelivery:
    policy = AlertPolicy(email_enabled=True, two_factor_removed=True, two_factor_added=True)
    labels = {method: method.value for method in TwoFactorMethod}
    return AlertDelivery(
        kit.outbox, kit.principals, mail, policy, labels, kit.clock, sender=sender, send_wait=WAIT
    )


def wait_until(condition: object, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)


def test_an_alert_sent_within_the_wait_answers_normally(sender: ThreadPoolExecutor) -> None:
    kit = build_kit()
    mail = FakeMail()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)

    delivery(kit, mail, sender).send_after_commit(user_id, alert_id)

    assert len(mail.alerts) == 1
    assert kit.outbox.entry(user_id, alert_id).status is DeliveryStatus.SENT


def test_a_send_that_outlives_the_wait_fails_the_request_then_records_sent_and_is_never_resent(
    sender: ThreadPoolExecutor,
) -> None:
    kit = build_kit()
    mail = StallingMail()
    alerts = delivery(kit, mail, sender)
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)

    started = time.monotonic()
    with pytest.raises(PostCommitSideEffectFailure):
        alerts.send_after_commit(user_id, alert_id)
    assert time.monotonic() - started < WAIT + 1

    # Still sending: the claim is held, so a retry pass cannot take the alert.
    assert kit.outbox.entry(user_id, alert_id).status is DeliveryStatus.SENDING
    report = alerts.deliver_due(ignore_backoff=True)
    assert (report.sent, report.failed) == (0, 0)

    mail.answer.set()
    wait_until(lambda: kit.outbox.entry(user_id, alert_id).status is DeliveryStatus.SENT)
    assert kit.outbox.entry(user_id, alert_id).status is DeliveryStatus.SENT
    assert alerts.deliver_due(ignore_backoff=True).sent == 0
    assert len(mail.alerts) == 1


def test_a_send_that_never_started_within_the_wait_is_left_to_the_retry_worker(
    sender: ThreadPoolExecutor,
) -> None:
    kit = build_kit()
    mail = StallingMail()
    alerts = delivery(kit, mail, sender)
    first_user, second_user = recipient(kit, "ada@example.com"), recipient(kit, "bo@example.com")
    first, second = queue(kit, first_user), queue(kit, second_user)
    with pytest.raises(PostCommitSideEffectFailure):
        alerts.send_after_commit(first_user, first)  # holds the one sender thread
    assert mail.started.wait(5)

    with pytest.raises(PostCommitSideEffectFailure):
        alerts.send_after_commit(second_user, second)  # queued behind it, then cancelled

    entry = kit.outbox.entry(second_user, second)
    assert (entry.status, entry.claim) == (DeliveryStatus.PENDING, None)
    mail.answer.set()
    sender.shutdown(wait=True)
    assert alerts.deliver_due(ignore_backoff=True).sent == 1
    assert kit.outbox.entry(second_user, second).status is DeliveryStatus.SENT
    assert sorted(alert.recipient_email for alert in mail.alerts) == [
        "ada@example.com",
        "bo@example.com",
    ]


def test_after_shutdown_the_request_fails_and_the_alert_stays_queued(
    sender: ThreadPoolExecutor,
) -> None:
    kit = build_kit()
    mail = FakeMail()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)
    sender.shutdown()

    with pytest.raises(PostCommitSideEffectFailure):
        delivery(kit, mail, sender).send_after_commit(user_id, alert_id)

    assert kit.outbox.entry(user_id, alert_id).status is DeliveryStatus.PENDING
    assert mail.alerts == []


def test_a_late_send_that_cannot_record_its_outcome_is_logged(
    sender: ThreadPoolExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    kit = build_kit()
    mail = StallingMail()
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)
    with pytest.raises(PostCommitSideEffectFailure):
        delivery(kit, mail, sender).send_after_commit(user_id, alert_id)

    kit.outbox.broken = True  # the database goes away before the outcome is written
    with caplog.at_level(logging.WARNING, logger="twofactor.alerts"):
        mail.answer.set()
        sender.shutdown(wait=True)

    assert "sent in the background failed: DatabaseFailure" in caplog.text
    # The claim stays until it is stale; then the retry worker tries again.
    assert kit.outbox.entry(user_id, alert_id).status is DeliveryStatus.SENDING
