"""The alert outbox inside principal documents: claiming, and recording each delivery attempt.

An alert is claimed by one atomic update (pending and due -> sending with a claim id), so two
workers, in one process or several, never send the same alert twice. Entries are read leniently:
a malformed one comes back with ``None`` fields and delivery drops it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.collection import Collection

from twofactor.domain.model import ChangeOrigin, RequestInfo
from twofactor.domain.outbox import ClaimedAlert, DeliveryOutcome, DeliveryStatus, DueWindow
from twofactor.store.database import Document, database_errors


class OutboxStore:
    """Implements ``twofactor.domain.ports.AlertOutbox`` on the ``alertOutbox`` arrays."""

    def __init__(self, collection: Collection[Document]) -> None:
        self._collection = collection

    def claim(
        self, principal_id: str, alert_id: str, claim: str, now: datetime, window: DueWindow
    ) -> ClaimedAlert | None:
        update = {
            "$set": {
                "alertOutbox.$.status": DeliveryStatus.SENDING.value,
                "alertOutbox.$.claim": claim,
                "alertOutbox.$.claimedAt": now,
            },
            "$inc": {"alertOutbox.$.attempts": 1},
        }
        with database_errors():
            claimed = any(
                self._collection.update_one(
                    {
                        "_id": ObjectId(principal_id),
                        "alertOutbox": {"$elemMatch": {"id": alert_id, **condition}},
                    },
                    update,
                ).modified_count
                == 1
                for condition in _due_conditions(window)
            )
            if not claimed:
                return None
            document = self._collection.find_one(
                {"_id": ObjectId(principal_id)}, projection={"alertOutbox": 1}
            )
        entry = next((entry for entry in _entries(document) if entry.get("id") == alert_id), None)
        return None if entry is None else _claimed(principal_id, alert_id, claim, entry)

    def finish(self, claimed: ClaimedAlert, outcome: DeliveryOutcome, now: datetime) -> None:
        fields: dict[str, Any] = {"status": outcome.status.value, "updatedAt": now}
        if outcome.status is DeliveryStatus.SENT:
            fields["sentAt"] = now
        if outcome.next_attempt_at is not None:
            fields["nextAttemptAt"] = outcome.next_attempt_at
        if outcome.last_error is not None:
            fields["lastError"] = outcome.last_error
        if outcome.reason is not None:
            fields["reason"] = outcome.reason
        with database_errors():
            self._collection.update_one(
                {
                    "_id": ObjectId(claimed.principal_id),
                    "alertOutbox": {"$elemMatch": {"id": claimed.alert_id, "claim": claimed.claim}},
                },
                {
                    "$set": {f"alertOutbox.$.{name}": value for name, value in fields.items()},
                    "$unset": {"alertOutbox.$.claim": ""},
                },
            )

    def due(self, window: DueWindow, limit: int) -> list[tuple[str, str]]:
        """Up to ``limit`` due alerts, as (principal id, alert id).

        The database is asked only for principals with an alert in flight, a filter the
        ``alertOutbox_status`` index serves; which of their alerts are due is decided here.
        Filtering with ``$elemMatch`` in the query instead would scan every principal on
        SecantusDB, which serves no ``$elemMatch`` from an index. ``claim`` checks the due
        conditions again, atomically, so a stale read only costs a missed claim.
        """
        pairs: list[tuple[str, str]] = []
        in_flight = [DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value]
        with (
            database_errors(),
            self._collection.find(
                {"alertOutbox.status": {"$in": in_flight}}, projection={"alertOutbox": 1}
            ) as documents,
        ):
            for document in documents:
                for alert in _entries(document):
                    if _is_due(alert, window):
                        pairs.append((str(document["_id"]), str(alert.get("id"))))
                        if len(pairs) >= limit:
                            return pairs
        return pairs


def _is_due(alert: dict[str, Any], window: DueWindow) -> bool:
    """The ``_due_conditions``, evaluated on one entry read back."""
    status = alert.get("status")
    if status == DeliveryStatus.PENDING.value:
        moment, bound = alert.get("nextAttemptAt"), window.due_by
    elif status == DeliveryStatus.SENDING.value:
        moment, bound = alert.get("claimedAt"), window.stale_before
    else:
        return False
    return isinstance(moment, datetime) and moment <= bound


def _due_conditions(window: DueWindow) -> list[dict[str, Any]]:
    """Each way of being due, as an ``$elemMatch`` condition (one per update, so that the
    positional ``$`` names the matched alert)."""
    return [
        {"status": DeliveryStatus.PENDING.value, "nextAttemptAt": {"$lte": window.due_by}},
        {"status": DeliveryStatus.SENDING.value, "claimedAt": {"$lte": window.stale_before}},
    ]


def _claimed(principal_id: str, alert_id: str, claim: str, entry: dict[str, Any]) -> ClaimedAlert:
    attempts = entry.get("attempts")
    created_at = entry.get("createdAt")
    return ClaimedAlert(
        principal_id=principal_id,
        alert_id=alert_id,
        claim=claim,
        attempts=attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else 1,
        kind=_text(entry.get("kind")),
        method=_text(entry.get("method")),
        locale=_text(entry.get("locale")),
        created_at=created_at if isinstance(created_at, datetime) else None,
        origin=_origin(entry.get("origin")),
    )


def _origin(value: object) -> ChangeOrigin | None:
    if not isinstance(value, dict):
        return None
    return ChangeOrigin(
        session_id=_text(value.get("sessionId")) or "",
        request=RequestInfo(ip=_text(value.get("ip")), user_agent=_text(value.get("userAgent"))),
        browser=_text(value.get("browser")),
        os=_text(value.get("os")),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _entries(document: Document | None) -> list[dict[str, Any]]:
    entries = (document or {}).get("alertOutbox")
    if not isinstance(entries, list):
        return []
    return [entry for entry in entries if isinstance(entry, dict)]
