"""The principal as the domain sees it, decoded and decrypted from its stored document."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    USER = "user"
    GUEST = "guest"


class TwoFactorMethod(StrEnum):
    TOTP = "totp"
    EMAIL = "email"


@dataclass(frozen=True)
class TotpState:
    secret: str
    #: The last accepted RFC 6238 time step: a code of that step or earlier is never accepted again.
    last_used_step: int
    recovery_code_hashes: tuple[str, ...]


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

    @property
    def is_guest(self) -> bool:
        return self.kind is Kind.GUEST

    @property
    def two_factor_enabled(self) -> bool:
        return bool(self.methods)


@dataclass(frozen=True)
class RequestInfo:
    """Where a request came from, recorded with security events and shown in alerts."""

    ip: str | None
    user_agent: str | None
