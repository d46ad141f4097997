"""The alert outbox in a real database: atomic claims, recorded outcomes, lenient reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bson import ObjectId
from pymongo.collection import Collection

from twofactor.domain.alerts import AlertKind, QueuedAlert
from twofactor.domain.model import ChangeOrigin, RequestInfo, TwoFactorMethod
from twofactor.domain.outbox import DeliveryOutcome, DueWindow
from twofactor.store.changes import outbox_entry
from twofactor.store.database import Document
from twofactor.store.outbox import OutboxStore

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
WINDOW = DueWindow(due_by=NOW, stale_before=NOW - timedelta(minutes=5))
ORIGIN = ChangeOrigin("s1", RequestInfo("203.0.113.7", "curl/8"), "Firefox", "Linux")


def queued(collection: Collection[Document], *entries: dict[str, object]) -> str:
    principal_id = ObjectId()
    collection.insert_one({"_id": principal_id, "alertOutbox": list(entries)})
    return str(principal_id)


def alert(alert_id: str = "a1") -> dict[str, object]:
    return outbox_entry(
        QueuedAlert(alert_id, AlertKind.TWO_FACTOR_REMOVED, TwoFactorMethod.TOTP, "de", ORIGIN, NOW)
    )


def test_a_due_alert_is_claimed_once_with_its_content(collection: Collection[Document]) -> None:
    outbox = OutboxStore(collection)
    principal_id = queued(collection, alert())

    first = outbox.claim(principal_id, "a1", "claim-1", NOW, WINDOW)
    second = outbox.claim(principal_id, "a1", "claim-2", NOW, WINDOW)

    assert first is not None
    assert second is None
    assert (first.kind, first.method, first.locale, first.attempts) == (
        "two_factor_removed",
        "totp",
        "de",
        1,
    )
    assert first.origin == ORIGIN
    assert first.created_at == NOW


def test_a_claim_of_a_worker_that_died_is_taken_over_later(
    collection: Collection[Document],
) -> None:
    outbox = OutboxStore(collection)
    principal_id = queued(collection, alert())
    assert outbox.claim(principal_id, "a1", "dead", NOW, WINDOW) is not None

    later = NOW + timedelta(minutes=6)
    window = DueWindow(due_by=later, stale_before=later - timedelta(minutes=5))
    taken = outbox.claim(principal_id, "a1", "alive", later, window)

    assert taken is not None
    assert taken.attempts == 2


def test_an_outcome_is_recorded_only_under_its_own_claim(
    collection: Collection[Document],
) -> None:
    outbox = OutboxStore(collection)
    principal_id = queued(collection, alert())
    claimed = outbox.claim(principal_id, "a1", "claim-1", NOW, WINDOW)
    assert claimed is not None

    outbox.finish(claimed, DeliveryOutcome.sent(), NOW)
    outbox.finish(claimed, DeliveryOutcome.dropped("late"), NOW)  # the claim is gone by now

    entry = collection.find_one({"_id": ObjectId(principal_id)})["alertOutbox"][0]  # type: ignore[index]
    assert entry["status"] == "sent"
    assert entry["sentAt"] == NOW
    assert "claim" not in entry
    assert "reason" not in entry


def test_a_retry_keeps_the_error_and_the_next_attempt(collection: Collection[Document]) -> None:
    outbox = OutboxStore(collection)
    principal_id = queued(collection, alert())
    claimed = outbox.claim(principal_id, "a1", "claim-1", NOW, WINDOW)
    assert claimed is not None

    outbox.finish(claimed, DeliveryOutcome.retry(NOW + timedelta(seconds=30), "SMTPError 451"), NOW)

    assert outbox.due(WINDOW, 10) == []
    later = DueWindow(due_by=NOW + timedelta(seconds=30), stale_before=NOW)
    assert outbox.due(later, 10) == [(principal_id, "a1")]
    entry = collection.find_one({"_id": ObjectId(principal_id)})["alertOutbox"][0]  # type: ignore[index]
    assert entry["lastError"] == "SMTPError 451"


def test_a_malformed_entry_is_read_with_empty_fields_instead_of_failing(
    collection: Collection[Document],
) -> None:
    outbox = OutboxStore(collection)
    broken = {
        "id": "a1",
        "status": "pending",
        "nextAttemptAt": NOW,
        "kind": 7,
        "origin": "nowhere",
    }
    principal_id = queued(collection, broken)

    claimed = outbox.claim(principal_id, "a1", "claim-1", NOW, WINDOW)

    assert claimed is not None
    assert claimed.kind is None
    assert claimed.method is None
    assert claimed.locale is None
    assert claimed.created_at is None
    assert claimed.origin is None
    assert claimed.attempts == 1


def test_due_lists_pending_and_stale_claims_only_up_to_the_limit(
    collection: Collection[Document],
) -> None:
    outbox = OutboxStore(collection)
    stale = {**alert("stale"), "status": "sending", "claimedAt": WINDOW.stale_before}
    fresh = {**alert("fresh"), "status": "sending", "claimedAt": NOW}
    sent = {**alert("sent"), "status": "sent"}
    later = {**alert("later"), "nextAttemptAt": NOW + timedelta(seconds=1)}
    undated = {**alert("undated"), "nextAttemptAt": "soon"}
    first = queued(collection, sent, alert("a1"), fresh, later, undated)
    second = queued(collection, stale)

    assert sorted(outbox.due(WINDOW, 10)) == sorted([(first, "a1"), (second, "stale")])
    assert len(outbox.due(WINDOW, 1)) == 1
