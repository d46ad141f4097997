"""The one predicate the counts kept in a principal document share, as an aggregation
expression for the pipeline updates that count (``step_up_attempts``, ``change_counts``)."""

from __future__ import annotations

from datetime import datetime

from twofactor.store.database import Document


def still_counting(end: str, count: str, now: datetime) -> Document:
    """The count at field path ``count`` holds: its window's end (field path ``end``) is a date
    still ahead of ``now`` and the count an integer. Anything else, a missing sub-document
    included, starts a count afresh."""
    return {
        "$and": [
            {"$eq": [{"$type": f"${end}"}, "date"]},
            {"$gt": [f"${end}", now]},
            {"$in": [{"$type": f"${count}"}, ["int", "long"]]},
        ]
    }
