"""The alert outbox as the domain sees it: which alerts are due, a claimed one, an outcome.

An alert is queued in the same write as its change; delivery claims it, tries it and records
the outcome (see ``alert_delivery``). The store keeps these values inside principal documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from twofactor.domain.model import ChangeOrigin


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DROPPED = "dropped"


@dataclass(frozen=True)
class DueWindow:
    """Which alerts are due: pending ones whose next attempt is at or before ``due_by``, and
    ones claimed at or before ``stale_before`` whose worker evidently died."""

    due_by: datetime
    stale_before: datetime


@dataclass(frozen=True)
class ClaimedAlert:
    """An alert taken for one delivery attempt, read back as stored.

    ``kind`` and ``method`` are raw text: an entry written by an older or broken version may hold
    anything, and delivery drops such an entry instead of failing.
    """

    principal_id: str
    alert_id: str
    claim: str
    attempts: int
    kind: str | None
    method: str | None
    locale: str | None
    created_at: datetime | None
    origin: ChangeOrigin | None


@dataclass(frozen=True)
class DeliveryOutcome:
    status: DeliveryStatus
    #: ``PENDING``: when the next attempt is due, and why this one failed.
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    #: ``DROPPED``: why the alert will never be sent.
    reason: str | None = None
    #: ``DROPPED`` although the alert was wanted: its recipient cannot be mailed (not stored).
    unreachable: bool = False

    @classmethod
    def sent(cls) -> DeliveryOutcome:
        return cls(DeliveryStatus.SENT)

    @classmethod
    def dropped(cls, reason: str) -> DeliveryOutcome:
        return cls(DeliveryStatus.DROPPED, reason=reason)

    @classmethod
    def unreachable_recipient(cls, reason: str) -> DeliveryOutcome:
        return cls(DeliveryStatus.DROPPED, reason=reason, unreachable=True)

    @classmethod
    def retry(cls, next_attempt_at: datetime, error: str) -> DeliveryOutcome:
        return cls(DeliveryStatus.PENDING, next_attempt_at=next_attempt_at, last_error=error)
