"""Attempt counters in MongoDB, so every server process shares them.

One document per key (a 2FA token, a user, an account, an IP address) counts attempts in a
fixed window; a TTL index removes it when the window is over. ``blockedUntil`` is set, to the end
of the window, by the attempt that fills its budget and cleared by any that gives one back, so
that "may this key count one more?" is one predicate on one field: SecantusDB serves a filter
with ``$or`` (which "under the limit, or the window is over" would take) by scanning the whole
collection, ~25 ms at 3,000 documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pymongo import UpdateMany, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from twofactor.domain.ports import Attempt
from twofactor.store.database import Document, database_errors

_DUPLICATE_KEY = 11000
#: One attempt given back: the key is under its budget again, so no longer blocked.
_GIVE_BACK = {"$inc": {"count": -1}, "$set": {"blockedUntil": None}}


class AttemptStore:
    """Implements ``twofactor.domain.ports.AttemptCounter``."""

    def __init__(self, collection: Collection[Document]) -> None:
        self._collection = collection

    def failures(self, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
        """The failures counted for ``key`` in its current window, and when that window ends."""
        with database_errors():
            document = self._collection.find_one({"_id": key})
        return _count(document, now, window)

    def record_within(self, attempts: Sequence[Attempt], now: datetime) -> list[bool]:
        """Count each attempt on its key unless the key's window already holds its ``limit``;
        per attempt, whether it was counted (``False``: over its budget, nothing counted).

        One ``update`` command for them all, each statement a conditional upsert: its filter
        matches the key's document unless the key is blocked (its budget full and its window not
        over), and its pipeline counts (a window that is over, or a document of another shape,
        opens a new one at 1). A document that exists but does not match makes the upsert
        collide with its own key: that duplicate key error *is* the refusal, so nothing is read
        back. Neither is a ``findAndModify``, which SecantusDB serves by scanning the whole
        collection. Two first attempts racing on a missing key collide the same way, so a
        collided statement is sent once more: the key exists by then, and the second answer is
        the true one.
        """
        counted = [True] * len(attempts)
        pending = list(range(len(attempts)))
        for _ in range(2):
            if pending:
                statements = [_count_within(attempts[i], now) for i in pending]
                pending = [pending[i] for i in self._collided(statements)]
        for i in pending:
            counted[i] = False
        return counted

    def _collided(self, statements: list[UpdateOne]) -> list[int]:
        """Send ``statements`` in one command; the indexes of those whose key was taken."""
        with database_errors():
            try:
                self._collection.bulk_write(statements, ordered=False)
            except BulkWriteError as refused:
                errors = refused.details.get("writeErrors", [])
                if any(error.get("code") != _DUPLICATE_KEY for error in errors):
                    raise
                return [error["index"] for error in errors]
        return []

    def release(self, key: str) -> None:
        with database_errors():
            self._collection.update_one({"_id": key, "count": {"$gt": 0}}, _GIVE_BACK)

    def settle(self, forget: Sequence[str], release: Sequence[str]) -> None:
        """One ``update`` command for the whole success (a sign-in clears two counters and gives
        an attempt back to a third): a forgotten key keeps its document at a count of 0, which
        counts like no document and goes with its window's TTL."""
        operations: list[UpdateOne | UpdateMany] = []
        if forget:
            operations.append(
                UpdateMany(
                    {"_id": {"$in": list(forget)}}, {"$set": {"count": 0, "blockedUntil": None}}
                )
            )
        operations += [UpdateOne({"_id": key, "count": {"$gt": 0}}, _GIVE_BACK) for key in release]
        if operations:
            with database_errors():
                self._collection.bulk_write(operations, ordered=False)

    def clear(self, key: str) -> None:
        with database_errors():
            self._collection.delete_one({"_id": key})


def _count_within(attempt: Attempt, now: datetime) -> UpdateOne:
    cutoff = now - attempt.window
    # The window counts only with a date that opened it less than ``window`` ago and an integer
    # count; anything else (no document, a window that is over, another shape) opens a new one.
    is_open = {
        "$and": [
            {"$eq": [{"$type": "$windowStart"}, "date"]},
            {"$gt": ["$windowStart", cutoff]},
            {"$in": [{"$type": "$count"}, ["int", "long"]]},
        ]
    }
    not_blocked = {"_id": attempt.key, "blockedUntil": {"$not": {"$gt": now}}}
    update: list[Document] = [
        {
            "$set": {
                "count": {"$cond": [is_open, {"$add": ["$count", 1]}, 1]},
                "windowStart": {"$cond": [is_open, "$windowStart", now]},
                "expiresAt": {
                    "$cond": [
                        is_open,
                        {"$ifNull": ["$expiresAt", now + attempt.window]},
                        now + attempt.window,
                    ]
                },
            }
        },
        # The attempt that fills the budget blocks the key until the window ends.
        {
            "$set": {
                "blockedUntil": {"$cond": [{"$gte": ["$count", attempt.limit]}, "$expiresAt", None]}
            }
        },
    ]
    return UpdateOne(not_blocked, update, upsert=True)


def _count(document: Document | None, now: datetime, window: timedelta) -> tuple[int, datetime]:
    if document is None:
        return 0, now + window
    start = document.get("windowStart")
    count = document.get("count")
    if not isinstance(start, datetime) or not isinstance(count, int) or start + window <= now:
        return 0, now + window
    return count, start + window
