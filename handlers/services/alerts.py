"""Security alerts as queued in the principal document, in the same write as the change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from handlers.model import RequestInfo, TwoFactorMethod


class AlertKind(StrEnum):
    TWO_FACTOR_REMOVED = "two_factor_removed"
    TWO_FACTOR_ADDED = "two_factor_added"


@dataclass(frozen=True)
class AlertPolicy:
    """Whether an alert of a kind is queued at all (email on, and that kind's setting on)."""

    email_enabled: bool
    two_factor_removed: bool
    two_factor_added: bool

    def wants(self, kind: AlertKind) -> bool:
        enabled = {
            AlertKind.TWO_FACTOR_REMOVED: self.two_factor_removed,
            AlertKind.TWO_FACTOR_ADDED: self.two_factor_added,
        }
        return self.email_enabled and enabled[kind]


@dataclass(frozen=True)
class ChangeOrigin:
    """Where a security change came from: recorded in the history and shown in the alert."""

    session_id: str
    request: RequestInfo
    browser: str | None = None
    os: str | None = None


def queued_alert(
    kind: AlertKind, method: TwoFactorMethod, locale: str, origin: ChangeOrigin, now: datetime
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "kind": kind.value,
        "method": method.value,
        "locale": locale,
        "status": "pending",
        "attempts": 0,
        "createdAt": now,
        "nextAttemptAt": now,
        "origin": _origin_fields(origin),
    }


def security_event(
    kind: AlertKind, method: TwoFactorMethod, origin: ChangeOrigin, now: datetime
) -> dict[str, Any]:
    return {"type": kind.value, "method": method.value, "at": now, **_origin_fields(origin)}


def _origin_fields(origin: ChangeOrigin) -> dict[str, Any]:
    return {
        "sessionId": origin.session_id,
        "ip": origin.request.ip,
        "userAgent": origin.request.user_agent,
        "browser": origin.browser,
        "os": origin.os,
    }
