"""Domain values for the handler unit tests: a user with both factors, a guest, tokens."""

from __future__ import annotations

from datetime import UTC, datetime

from twofactor.domain.model import Kind, Principal, TwoFactorMethod
from twofactor.domain.sessions import SessionTokens
from twofactor.security.tokens import IssuedToken

MOMENT = datetime(2026, 11, 28, 12, 0, 5, tzinfo=UTC)

USER = Principal(
    id="6565f2b7c2a4e41b9a0f3c40",
    kind=Kind.USER,
    roles=("user",),
    name="Ada",
    created_at=MOMENT,
    last_active=MOMENT,
    step_up_generation=3,
    email="ada@example.com",
    email_verified=True,
    password_hash="$argon2id$stand-in",
    methods=(TwoFactorMethod.TOTP, TwoFactorMethod.EMAIL),
    preferred_method=TwoFactorMethod.EMAIL,
)

GUEST = Principal(
    id="6565f2b7c2a4e41b9a0f3c41",
    kind=Kind.GUEST,
    roles=("guest",),
    name="Visitor",
    created_at=MOMENT,
    last_active=None,
    step_up_generation=0,
)


def issued(token: str, lifetime: int) -> IssuedToken:
    return IssuedToken(token=token, jti=f"jti-{token}", expires_at=MOMENT, lifetime=lifetime)


TOKENS = SessionTokens(
    session_id="session-1", access=issued("access-jwt", 900), refresh=issued("refresh-jwt", 2592000)
)
STEP_UP = issued("step-up-jwt", 300)
PENDING = issued("two-factor-jwt", 300)
