"""What the service mails, as values: the mail adapter renders them in the given locale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from twofactor.domain.alerts import AlertKind


@dataclass(frozen=True)
class AlertContent:
    """A security alert: what changed, when, and from where."""

    kind: AlertKind
    #: The second factor's name as an untranslated message id (the mail adapter translates it).
    method_label: str
    recipient_email: str
    recipient_name: str
    occurred_at: datetime
    locale: str
    ip: str | None = None
    browser: str | None = None
    os: str | None = None
    user_agent: str | None = None
    time_zone: str = "UTC"


@dataclass(frozen=True)
class CodeContent:
    """A one-time code (second factor or address confirmation)."""

    recipient_email: str
    recipient_name: str
    code: str
    valid_minutes: int
    locale: str
