"""Security events and alerts: what a change records in the user's history and what it queues.

Both are written in the same store write as the change itself, so a committed change always has
its history entry and (when wanted) its alert.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from twofactor.domain.locales import resolve_locale
from twofactor.domain.model import ChangeOrigin, Principal, TwoFactorMethod


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
class SecurityEvent:
    """One entry of the user's security history."""

    kind: AlertKind
    method: TwoFactorMethod
    origin: ChangeOrigin
    at: datetime


@dataclass(frozen=True)
class QueuedAlert:
    """An alert to queue with its change; it is rendered later in ``locale``."""

    id: str
    kind: AlertKind
    method: TwoFactorMethod
    locale: str
    origin: ChangeOrigin
    created_at: datetime
    #: Set when the request that queues the alert sends it right after: it is queued already
    #: claimed by that request (``sending``, one attempt), so no second write claims it.
    claim: str | None = None


@dataclass(frozen=True)
class LocaleRequest:
    """What the request says about the alert's language (the user's stored one comes later)."""

    requested: str | None = None
    accept_language: str | None = None


class AlertComposer:
    """Builds the alert of a change, in the locale the request and the user ask for."""

    def __init__(
        self, policy: AlertPolicy, default_locale: str, available_locales: Collection[str]
    ) -> None:
        self._policy = policy
        self._default_locale = default_locale
        self._available = available_locales

    def compose(
        self,
        event: SecurityEvent,
        principal: Principal,
        language: LocaleRequest,
    ) -> QueuedAlert | None:
        """The alert of ``event``, or ``None`` when alerts of its kind are not sent."""
        if not self._policy.wants(event.kind):
            return None
        locale = resolve_locale(
            requested=language.requested,
            stored=principal.locale,
            accept_language=language.accept_language,
            default=self._default_locale,
            available=self._available,
        )
        return QueuedAlert(
            id=uuid.uuid4().hex,
            kind=event.kind,
            method=event.method,
            locale=locale,
            origin=event.origin,
            created_at=event.at,
        )
