"""What the flows report to the ``Metrics`` port: every 429 by budget, every alert outcome."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.domain_kit import Kit, build_kit
from tests.support.fakes import FakeAttemptCounter, FrozenClock, RecordingMetrics
from tests.unit.domain.test_alert_delivery import queue, recipient
from twofactor.domain.alert_delivery import AlertDelivery
from twofactor.domain.alerts import AlertKind, AlertPolicy
from twofactor.domain.metrics import AlertEvent, budget_of
from twofactor.domain.model import TwoFactorMethod
from twofactor.domain.throttle import Budget, Throttle
from twofactor.errors import PostCommitSideEffectFailure, TooManyAttempts

LABELS = {TwoFactorMethod.TOTP: "authenticator app", TwoFactorMethod.EMAIL: "email codes"}


def test_a_throttle_key_reports_only_its_kind_never_the_address_or_account() -> None:
    assert budget_of("login-address:203.0.113.7") == "login-address"
    assert budget_of("no-kind") == "no-kind"


def test_a_refused_attempt_is_reported_with_its_budget_and_allowed_ones_are_not() -> None:
    metrics = RecordingMetrics()
    budget = Budget(5, timedelta(minutes=15))
    throttle = Throttle(FakeAttemptCounter(), FrozenClock(), budget, metrics=metrics)
    for _ in range(budget.limit):
        throttle.reserve("login-account:abc", "login-address:203.0.113.7")
    assert metrics.throttled_budgets == []

    with pytest.raises(TooManyAttempts):
        throttle.reserve("login-account:abc")

    assert metrics.throttled_budgets == ["login-account"]


def delivery_with(
    metrics: RecordingMetrics, *, policy: AlertPolicy | None = None
) -> tuple[Kit, AlertDelivery]:
    kit = build_kit()
    delivery = AlertDelivery(
        kit.outbox,
        kit.principals,
        kit.mail,
        policy or AlertPolicy(email_enabled=True, two_factor_removed=True, two_factor_added=True),
        LABELS,
        kit.clock,
        metrics,
    )
    return kit, delivery


def test_an_alert_sent_after_the_commit_is_counted_queued_then_sent() -> None:
    metrics = RecordingMetrics()
    kit, delivery = delivery_with(metrics)
    user_id = recipient(kit)

    delivery.send_after_commit(user_id, queue(kit, user_id))

    assert metrics.alert_events == [AlertEvent.QUEUED, AlertEvent.SENT]


def test_a_refused_alert_is_counted_failed_and_sent_by_the_retry_later() -> None:
    metrics = RecordingMetrics()
    kit, delivery = delivery_with(metrics)
    user_id = recipient(kit)
    alert_id = queue(kit, user_id)
    kit.mail.refusing = True
    with pytest.raises(PostCommitSideEffectFailure):
        delivery.send_after_commit(user_id, alert_id)
    kit.mail.refusing = False

    delivery.deliver_due(ignore_backoff=True)

    assert metrics.alert_events == [AlertEvent.QUEUED, AlertEvent.FAILED, AlertEvent.SENT]


def test_an_alert_of_a_switched_off_kind_is_counted_dropped() -> None:
    metrics = RecordingMetrics()
    off = AlertPolicy(email_enabled=True, two_factor_removed=False, two_factor_added=True)
    kit, delivery = delivery_with(metrics, policy=off)
    user_id = recipient(kit)

    delivery.send_after_commit(user_id, queue(kit, user_id, kind=AlertKind.TWO_FACTOR_REMOVED))

    assert metrics.alert_events == [AlertEvent.QUEUED, AlertEvent.DROPPED]
