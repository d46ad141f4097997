"""Password step-up attempts, counted in the user's own principal document.

The sub-document ``stepUpAttempts`` holds two counts:

- ``failures`` in a fixed window (``failuresEnd``), the user's budget of wrong passwords;
- ``leased``: every attempt counted before its check (in flight, or done and right), each for
  a short lease that ends at ``leaseEnd``, so that a burst of concurrent guesses cannot all
  reach the password check; nothing needs to give a lease back, which is what lets a right
  password write nothing at all.

``blockedUntil`` is set when ``failures + leased`` reaches the limit (to the end of the lease, or
of the window when the failures alone reach it), so that "may this user try once more?" is one
predicate on one field beside the ``_id``: SecantusDB serves a filter with ``$or`` by scanning the
whole collection. Counting in the principal document rather than in the ``attempts`` collection
is what lets the principal read that a step-up makes anyway also tell whether a success has
failures to forget: a success with none writes nothing (three commands in all: the allowlist
read, the principal read and this reservation).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.collection import Collection

from twofactor.domain.model import StepUpAttempts
from twofactor.store.count_windows import still_counting
from twofactor.store.database import Document, database_errors

FIELD = "stepUpAttempts"
_BLOCKED_UNTIL = f"{FIELD}.blockedUntil"


class StepUpAttemptStore:
    """Implements ``twofactor.domain.ports.StepUpAttemptCounter`` on the principals."""

    def __init__(self, collection: Collection[Document]) -> None:
        self._collection = collection

    def reserve(self, principal_id: str, limit: int, lease: timedelta, now: datetime) -> bool:
        """Count one attempt for ``lease`` unless the user is blocked; ``False`` when nothing was
        counted (blocked, or no such principal)."""
        failures_open, lease_open = _counting(now)
        update: list[Document] = [
            _counts(
                failures={"$cond": [failures_open, _field("failures"), 0]},
                failures_end={"$cond": [failures_open, _field("failuresEnd"), now]},
                leased={"$cond": [lease_open, {"$add": [_field("leased"), 1]}, 1]},
                lease_end={"$cond": [lease_open, _field("leaseEnd"), now + lease]},
            ),
            _block_at(limit),
        ]
        with database_errors():
            result = self._collection.update_one(
                {"_id": ObjectId(principal_id), _BLOCKED_UNTIL: {"$not": {"$gt": now}}}, update
            )
        return result.matched_count == 1

    def fail(self, principal_id: str, limit: int, window: timedelta, now: datetime) -> None:
        """The reserved attempt was a wrong password: it moves from the lease to the failures,
        which hold it until the window (opened by the first failure) ends."""
        failures_open, lease_open = _counting(now)
        update: list[Document] = [
            _counts(
                failures={"$cond": [failures_open, {"$add": [_field("failures"), 1]}, 1]},
                failures_end={"$cond": [failures_open, _field("failuresEnd"), now + window]},
                # A lease that ended meanwhile was reset by a later reservation, which holds
                # nothing of this attempt.
                leased={
                    "$cond": [
                        {"$and": [lease_open, {"$gt": [_field("leased"), 0]}]},
                        {"$add": [_field("leased"), -1]},
                        0,
                    ]
                },
                lease_end={"$cond": [lease_open, _field("leaseEnd"), now]},
            ),
            _block_at(limit),
        ]
        with database_errors():
            self._collection.update_one({"_id": ObjectId(principal_id)}, update)

    def forget_failures(self, principal_id: str) -> None:
        """A right password: the user's failures no longer count (the leases run out alone)."""
        with database_errors():
            self._collection.update_one(
                {"_id": ObjectId(principal_id)},
                {"$set": {f"{FIELD}.failures": 0, _BLOCKED_UNTIL: None}},
            )


def step_up_attempts_from(document: Mapping[str, Any]) -> StepUpAttempts | None:
    """The counts a principal document holds; ``None`` for none, or for a shape this module
    does not write (which the next reservation replaces, so it is no reason to refuse a read)."""
    counts = document.get(FIELD)
    if not isinstance(counts, dict):
        return None
    failures, ends, blocked = (counts.get(k) for k in ("failures", "failuresEnd", "blockedUntil"))
    if not isinstance(failures, int) or isinstance(failures, bool) or failures < 0:
        return None
    if not isinstance(ends, datetime):
        return None
    if blocked is not None and not isinstance(blocked, datetime):
        return None
    return StepUpAttempts(failures=failures, failures_end=ends, blocked_until=blocked)


def _counting(now: datetime) -> tuple[Document, Document]:
    """Whether the failures, and the lease, still count at ``now``."""
    return (
        still_counting(f"{FIELD}.failuresEnd", f"{FIELD}.failures", now),
        still_counting(f"{FIELD}.leaseEnd", f"{FIELD}.leased", now),
    )


def _field(name: str) -> str:
    return f"${FIELD}.{name}"


def _counts(
    *, failures: Document, failures_end: Document, leased: Document, lease_end: Document
) -> Document:
    """The stage that writes the counts as one whole sub-document, whatever was there before:
    a ``$set`` of its dotted fields would leave a value of another type as it is, uncounted."""
    counts = {
        "failures": failures,
        "failuresEnd": failures_end,
        "leased": leased,
        "leaseEnd": lease_end,
        "blockedUntil": None,
    }
    return {"$set": {FIELD: counts}}


def _block_at(limit: int) -> Document:
    """The stage that blocks the user once failures and leases together reach ``limit``: until
    the window ends when the failures alone reach it, else until the lease runs out."""
    failures, leased = _field("failures"), _field("leased")
    return {
        "$set": {
            _BLOCKED_UNTIL: {
                "$cond": [
                    {"$gte": [{"$add": [failures, leased]}, limit]},
                    {
                        "$cond": [
                            {"$gte": [failures, limit]},
                            _field("failuresEnd"),
                            _field("leaseEnd"),
                        ]
                    },
                    None,
                ]
            }
        }
    }
