"""Attempt counters in MongoDB, so every server process shares them.

One document per key (a 2FA token, a user, an account, an IP address) counts attempts in a
fixed window; a TTL index removes it when the window is over.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pymongo import ReturnDocument, UpdateMany, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from twofactor.errors import DatabaseFailure
from twofactor.store.database import Document, database_errors

#: Each retry follows another writer that opened the window first: a few bound the loop.
_RACES = 3


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
        """Count one attempt atomically; the count in the current window and when it ends.

        One conditional write (an upsert whose update is a pipeline): in a window still open
        the count goes up by one, otherwise (no document, a window that is over, a document of
        another shape) a new window opens at 1. One round trip per attempt; two attempts
        racing on a missing key cannot both insert it: the loser's upsert collides with the
        key and its retry counts in the window the winner opened.
        """
        cutoff = now - window
        is_open = {
            "$and": [
                {"$gt": ["$windowStart", cutoff]},
                {"$in": [{"$type": "$count"}, ["int", "long"]]},
            ]
        }
        update = [
            {
                "$set": {
                    "count": {"$cond": [is_open, {"$add": ["$count", 1]}, 1]},
                    "windowStart": {"$cond": [is_open, "$windowStart", now]},
                    "expiresAt": {
                        "$cond": [is_open, {"$ifNull": ["$expiresAt", now + window]}, now + window]
                    },
                }
            }
        ]
        with database_errors():
            for _ in range(_RACES):
                try:
                    document = self._collection.find_one_and_update(
                        {"_id": key}, update, upsert=True, return_document=ReturnDocument.AFTER
                    )
                except DuplicateKeyError:
                    continue  # another attempt inserted the key first: count in its window
                if document is None:
                    # Our attempt was counted, but a server may answer an upsert that raced
                    # another one without the document (SecantusDB does): read the count. It
                    # may include later attempts too, so it errs towards refusing, never
                    # towards letting an attempt past the budget.
                    document = self._collection.find_one({"_id": key})
                return _count(document, now, window)
        raise DatabaseFailure("The attempt counter kept changing; the attempt was not counted.")

    def release(self, key: str) -> None:
        with database_errors():
            self._collection.update_one({"_id": key, "count": {"$gt": 0}}, {"$inc": {"count": -1}})

    def settle(self, forget: Sequence[str], release: Sequence[str]) -> None:
        """One ``update`` command for the whole success (a sign-in clears two counters and gives
        an attempt back to a third): a forgotten key keeps its document at a count of 0, which
        counts like no document and goes with its window's TTL."""
        operations: list[UpdateOne | UpdateMany] = []
        if forget:
            operations.append(UpdateMany({"_id": {"$in": list(forget)}}, {"$set": {"count": 0}}))
        operations += [
            UpdateOne({"_id": key, "count": {"$gt": 0}}, {"$inc": {"count": -1}}) for key in release
        ]
        if operations:
            with database_errors():
                self._collection.bulk_write(operations, ordered=False)

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
