"""The values the domain works with: principals, their second factors, sessions, origins.

They are decoded and decrypted from storage by the store; the domain never sees a document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    USER = "user"
    GUEST = "guest"


class TwoFactorMethod(StrEnum):
    """A second factor a user can enable; the value is its name in the API and in storage."""

    TOTP = "totp"
    EMAIL = "email"


@dataclass(frozen=True)
class TotpState:
    secret: str
    #: The last accepted RFC 6238 time step: a code of that step or earlier is never accepted again.
    last_used_step: int
    recovery_code_hashes: tuple[str, ...]
    enabled_at: datetime | None = None


@dataclass(frozen=True)
class EmailCodeState:
    """Email codes keep no secret: the code of the moment is stored with the principal."""

    enabled_at: datetime | None = None


#: What a second factor keeps once enabled.
FactorState = TotpState | EmailCodeState


@dataclass(frozen=True)
class StepUpAttempts:
    """What the user's password step-ups have counted (``twofactor.domain.step_up_throttle``)."""

    #: Wrong passwords in the window that ends at ``failures_end`` (none once it is over).
    failures: int
    failures_end: datetime
    #: No attempt is counted, so none is checked, before this moment.
    blocked_until: datetime | None = None

    def failures_at(self, now: datetime) -> int:
        return self.failures if self.failures_end > now else 0


@dataclass(frozen=True)
class ChangeCount:
    """The security changes counted for a user in the window that ends at ``window_end``
    (``twofactor.domain.change_budget``)."""

    count: int
    window_end: datetime
    #: Set once ``count`` reaches the budget: no change is counted before this moment.
    blocked_until: datetime | None = None


@dataclass(frozen=True)
class Principal:
    id: str
    kind: Kind
    roles: tuple[str, ...]
    name: str
    created_at: datetime
    last_active: datetime | None
    #: Bumped by every security change; a step-up token is only valid for the generation it was
    #: issued in, which is what makes step-up tokens single use.
    step_up_generation: int
    email: str | None = None
    email_verified: bool = False
    password_hash: str | None = None
    methods: tuple[TwoFactorMethod, ...] = ()
    preferred_method: TwoFactorMethod | None = None
    totp: TotpState | None = None
    locale: str | None = None
    step_up_attempts: StepUpAttempts | None = None
    security_changes: ChangeCount | None = None

    @property
    def is_guest(self) -> bool:
        return self.kind is Kind.GUEST

    @property
    def two_factor_enabled(self) -> bool:
        return bool(self.methods)


@dataclass(frozen=True)
class NewUser:
    """A user about to be registered: the store gives it an id, encrypts and indexes it."""

    name: str
    email: str
    email_hash: str
    password_hash: str
    created_at: datetime


@dataclass(frozen=True)
class RequestInfo:
    """Where a request came from, recorded with security events and shown in alerts."""

    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class ClientInfo:
    """What the client says about itself at sign-in, shown later in security alerts."""

    browser: str | None = None
    os: str | None = None


@dataclass(frozen=True)
class SessionRecord:
    """One sign-in, holding the one refresh token that is currently valid for it."""

    id: str
    principal_id: str
    refresh_jti: str
    created_at: datetime
    expires_at: datetime
    browser: str | None
    os: str | None
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class SessionDevice:
    """The browser and OS a session's client named at sign-in. Each access token's allowlist
    entry keeps a copy, so the read that checks the token also tells where a change comes from
    (no read of the session)."""

    browser: str | None = None
    os: str | None = None


@dataclass(frozen=True)
class ListedAccess:
    """An access token's allowlist entry: ``device`` is ``None`` for an entry written before
    entries kept their session's device (then the session is read instead)."""

    device: SessionDevice | None = None


@dataclass(frozen=True)
class ChangeOrigin:
    """Where a security change came from: recorded in the history and shown in the alert."""

    session_id: str
    request: RequestInfo
    browser: str | None = None
    os: str | None = None
