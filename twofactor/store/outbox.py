"""The alert outbox inside principal documents: claiming, and recording each delivery attempt.

An alert is claimed by one atomic update (``pending`` and due -> ``sending`` with a claim id),
so two workers, in one process or several, never send the same alert twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.collection import Collection

from twofactor.store.database import Document
from twofactor.store.principals import database_errors


@dataclass(frozen=True)
class ClaimedAlert:
    principal_id: str
    alert: dict[str, Any]
    claim: str


@dataclass(frozen=True)
class DueWindow:
    """Which alerts are due: pending ones whose next attempt is at or before ``due_by``, and
    ones claimed at or before ``stale_before`` whose worker evidently died."""

    due_by: datetime
    stale_before: datetime

    def conditions(self) -> list[dict[str, Any]]:
        """Each way of being due, as an ``$elemMatch`` condition (one per update, so that the
        positional ``$`` names the matched alert)."""
        return [
            {"status": "pending", "nextAttemptAt": {"$lte": self.due_by}},
            {"status": "sending", "claimedAt": {"$lte": self.stale_before}},
        ]


class AlertOutbox:
    def __init__(self, collection: Collection[Document]) -> None:
        self._collection = collection

    def claim(
        self, principal_id: str, alert_id: str, claim: str, now: datetime, window: DueWindow
    ) -> ClaimedAlert | None:
        """Take the alert for sending if it is due (or its last claim went stale)."""
        update = {
            "$set": {
                "alertOutbox.$.status": "sending",
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
                for condition in window.conditions()
            )
            if not claimed:
                return None
            document = self._collection.find_one(
                {"_id": ObjectId(principal_id)}, projection={"alertOutbox": 1}
            )
        alert = next((entry for entry in _entries(document) if entry.get("id") == alert_id), None)
        return None if alert is None else ClaimedAlert(principal_id, alert, claim)

    def finish(self, claimed: ClaimedAlert, status: str, now: datetime, **fields: Any) -> None:
        """Record how the claimed attempt ended (``sent``, ``dropped`` or back to ``pending``)."""
        updates = {f"alertOutbox.$.{name}": value for name, value in fields.items()}
        with database_errors():
            self._collection.update_one(
                {
                    "_id": ObjectId(claimed.principal_id),
                    "alertOutbox": {
                        "$elemMatch": {"id": claimed.alert["id"], "claim": claimed.claim}
                    },
                },
                {
                    "$set": {
                        "alertOutbox.$.status": status,
                        "alertOutbox.$.updatedAt": now,
                        **updates,
                    },
                    "$unset": {"alertOutbox.$.claim": ""},
                },
            )

    def due(self, window: DueWindow, limit: int) -> list[tuple[str, str]]:
        """(principal id, alert id) pairs that a worker should try now."""
        with database_errors():
            documents = self._collection.find(
                {
                    "$or": [
                        {"alertOutbox": {"$elemMatch": condition}}
                        for condition in window.conditions()
                    ]
                },
                projection={"alertOutbox": 1},
                limit=limit,
            )
            pairs = []
            for document in documents:
                for alert in _entries(document):
                    if alert.get("status") in ("pending", "sending"):
                        pairs.append((str(document["_id"]), str(alert.get("id"))))
        return pairs


def _entries(document: Document | None) -> list[dict[str, Any]]:
    entries = (document or {}).get("alertOutbox")
    if not isinstance(entries, list):
        return []
    return [entry for entry in entries if isinstance(entry, dict)]
