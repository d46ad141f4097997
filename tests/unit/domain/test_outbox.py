"""The outbox as the domain sees it (``twofactor.domain.outbox``): each delivery outcome carries
exactly what the store records for it, and the statuses are named as they are stored."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from twofactor.domain.outbox import DeliveryOutcome, DeliveryStatus

AT = datetime(2030, 1, 2, 3, 4, 35, tzinfo=UTC)


def fields(outcome: DeliveryOutcome) -> tuple[object, ...]:
    return (outcome.status, outcome.next_attempt_at, outcome.last_error, outcome.reason)


def test_a_sent_outcome_carries_nothing_but_its_status() -> None:
    assert fields(DeliveryOutcome.sent()) == (DeliveryStatus.SENT, None, None, None)


def test_a_dropped_outcome_says_why_and_schedules_no_further_attempt() -> None:
    outcome = DeliveryOutcome.dropped("the recipient no longer exists")

    assert fields(outcome) == (
        DeliveryStatus.DROPPED,
        None,
        None,
        "the recipient no longer exists",
    )


def test_a_retry_goes_back_to_pending_with_its_next_attempt_and_last_error() -> None:
    outcome = DeliveryOutcome.retry(AT, "SMTPRecipientsRefused 451")

    assert fields(outcome) == (DeliveryStatus.PENDING, AT, "SMTPRecipientsRefused 451", None)


def test_outcomes_are_values_compared_by_content() -> None:
    assert DeliveryOutcome.retry(AT, "timeout") == DeliveryOutcome.retry(AT, "timeout")
    assert DeliveryOutcome.dropped("a") != DeliveryOutcome.dropped("b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        DeliveryOutcome.sent().status = DeliveryStatus.DROPPED  # type: ignore[misc]


def test_statuses_are_named_as_stored() -> None:
    assert [status.value for status in DeliveryStatus] == ["pending", "sending", "sent", "dropped"]
