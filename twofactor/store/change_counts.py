"""The count of a user's security changes, kept in the principal document.

``securityChanges`` holds ``count`` changes in a fixed window that ends at ``windowEnd``, and
``blockedUntil`` (the end of the window) once the count reaches the budget, so that "may this
user change one more thing?" is one predicate on one field beside the ``_id``: SecantusDB serves
a filter with ``$or`` by scanning the whole collection.

It is counted either by ``ChangeCountStore.count`` (an update of its own) or inside a security
change's own update (``pinned`` and ``written``): keeping it in the principal is what lets a
change spend its unit without a write of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.collection import Collection

from twofactor.domain.model import ChangeCount
from twofactor.errors import InvalidUserDocument
from twofactor.store.count_windows import still_counting
from twofactor.store.database import Document, database_errors

FIELD = "securityChanges"
_COUNT, _END, _BLOCKED = f"{FIELD}.count", f"{FIELD}.windowEnd", f"{FIELD}.blockedUntil"


class ChangeCountStore:
    """Implements ``twofactor.domain.ports.SecurityChangeCounter`` on the principals."""

    def __init__(self, collection: Collection[Document]) -> None:
        self._collection = collection

    def count(self, principal_id: str, limit: int, window: timedelta, now: datetime) -> bool:
        """One conditional update: it matches unless the user is blocked, and its pipeline
        counts (a window that is over, or a value of another shape, opens a new one at 1)."""
        is_open = still_counting(_END, _COUNT, now)
        count = {"$cond": [is_open, {"$add": [f"${_COUNT}", 1]}, 1]}
        window_end = {"$cond": [is_open, f"${_END}", now + window]}
        update: list[Document] = [
            # The whole sub-document at once: a ``$set`` of its dotted fields would leave a
            # value of another type as it is, uncounted.
            {"$set": {FIELD: {"count": count, "windowEnd": window_end, "blockedUntil": None}}},
            {"$set": {_BLOCKED: {"$cond": [{"$gte": [f"${_COUNT}", limit]}, f"${_END}", None]}}},
        ]
        with database_errors():
            result = self._collection.update_one(
                {"_id": ObjectId(principal_id), _BLOCKED: {"$not": {"$gt": now}}}, update
            )
        return result.matched_count == 1


def pinned(read: ChangeCount | None) -> Document:
    """The filter terms of a change that counts itself: the count is still the one read (read
    as ``None``: there is none, and a missing field compares equal to ``null``)."""
    if read is None:
        return {_COUNT: None}
    return {_COUNT: read.count, _END: read.window_end}


def written(counted: ChangeCount) -> Document:
    """The ``$set`` of the count a change writes with itself."""
    return {
        FIELD: {
            "count": counted.count,
            "windowEnd": counted.window_end,
            "blockedUntil": counted.blocked_until,
        }
    }


def change_count_from(document: Mapping[str, Any]) -> ChangeCount | None:
    """The count a principal document holds, ``None`` for none; ``InvalidUserDocument`` for one
    of another shape, as for any other part of the document: a change pins the count it read,
    so a count that cannot be read could never be written over."""
    counted = document.get(FIELD)
    if counted is None:
        return None
    if not isinstance(counted, dict):
        raise InvalidUserDocument("A stored user has a malformed count of security changes.")
    count, end, blocked = (counted.get(k) for k in ("count", "windowEnd", "blockedUntil"))
    if (
        not isinstance(count, int)
        or isinstance(count, bool)
        or count < 0
        or not isinstance(end, datetime)
        or not (blocked is None or isinstance(blocked, datetime))
    ):
        raise InvalidUserDocument("A stored user has a malformed count of security changes.")
    return ChangeCount(count=count, window_end=end, blocked_until=blocked)
