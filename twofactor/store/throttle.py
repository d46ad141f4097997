"""Attempt counters in MongoDB, so every server process shares them.

One document per key (a 2FA token, a user, an account, an IP address) counts attempts in a
fixed window; a TTL index removes it when the window is over.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ReturnDocument
from pymongo.collection import Collection

from twofactor.store.database import Document, database_errors


class AttemptStore:
    """Implements ``twofactor.domain.ports.AttemptCounter``."""

    def __init__(self, collection: Collection[Document]) -> None:
        self._collection = collection

    def failures(self, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
        """The failures counted for ``key`` in its current window, and when that window ends."""
        with database_errors():
            document = self._collection.find_one({"_id": key})
        return _count(document, now, window)

    def record_attempt(self, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
        """Count one attempt atomically; the count in the current window and when it ends."""
        with database_errors():
            document = self._collection.find_one_and_update(
                {"_id": key},
                {"$inc": {"count": 1}, "$setOnInsert": {"windowStart": now}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            count, ends = _count(document, now, window)
            if count == 0:
                # The stored window was over: this attempt opens a new one.
                document = self._collection.find_one_and_update(
                    {"_id": key},
                    {"$set": {"count": 1, "windowStart": now}},
                    return_document=ReturnDocument.AFTER,
                )
                count, ends = _count(document, now, window)
            self._collection.update_one({"_id": key}, {"$set": {"expiresAt": ends}})
        return count, ends

    def release(self, key: str) -> None:
        with database_errors():
            self._collection.update_one({"_id": key, "count": {"$gt": 0}}, {"$inc": {"count": -1}})

    def clear(self, key: str) -> None:
        with database_errors():
            self._collection.delete_one({"_id": key})


def _count(document: Document | None, now: datetime, window: timedelta) -> tuple[int, datetime]:
    if document is None:
        return 0, now + window
    start = document.get("windowStart")
    count = document.get("count")
    if not isinstance(start, datetime) or not isinstance(count, int) or start + window <= now:
        return 0, now + window
    return count, start + window
