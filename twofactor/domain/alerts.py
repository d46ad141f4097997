"""Security alerts as queued in the principal document, in the same write as the change."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from twofactor.domain.locales import resolve_locale
from twofactor.domain.model import Principal, RequestInfo, TwoFactorMethod

if TYPE_CHECKING:
    from twofactor.domain.guard import SecurityChangeRequest


class AlertKind(StrEnum):
    """What happened; the kind of a security-history entry, and of its alert if it has one."""

    TWO_FACTOR_REMOVED = "two_factor_removed"
    TWO_FACTOR_ADDED = "two_factor_added"
    PREFERRED_METHOD_CHANGED = "preferred_two_factor_method_changed"


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
        return self.email_enabled and enabled.get(kind, False)


@dataclass(frozen=True)
class ChangeOrigin:
    """Where a security change came from: recorded in the history and shown in the alert."""

    session_id: str
    request: RequestInfo
    browser: str | None = None
    os: str | None = None


class AlertComposer:
    """Builds the outbox entry of a change, in the locale the request and the user ask for."""

    def __init__(
        self, policy: AlertPolicy, default_locale: str, available_locales: Collection[str]
    ) -> None:
        self._policy = policy
        self._default_locale = default_locale
        self._available = available_locales

    def compose(
        self,
        kind: AlertKind,
        method: TwoFactorMethod,
        change: SecurityChangeRequest,
        principal: Principal,
        origin: ChangeOrigin,
        now: datetime,
    ) -> dict[str, Any] | None:
        if not self._policy.wants(kind):
            return None
        locale = resolve_locale(
            requested=change.locale,
            stored=principal.locale,
            accept_language=change.accept_language,
            default=self._default_locale,
            available=self._available,
        )
        return queued_alert(kind, method, locale, origin, now)


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
