"""Hand-made JWTs for the invalid-token cases: real signatures over deliberately wrong claims."""

from __future__ import annotations

import time
from typing import Any

import jwt

from twofactor.config import Settings


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a token the service issued (signature not checked: tests only read them)."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def forge(
    settings: Settings,
    claims: dict[str, Any],
    *,
    key: bytes | None = None,
    kid: str | None = None,
) -> str:
    """Sign ``claims`` with the service's current key unless ``key``/``kid`` say otherwise."""
    signing = settings.jwt_signing_keys[0]
    return jwt.encode(
        claims,
        key if key is not None else signing.secret,
        algorithm="HS256",
        headers={"kid": kid if kid is not None else signing.key_id},
    )


def resign(settings: Settings, token: str, **changes: Any) -> str:
    """The same token with some claims changed (``None`` removes a claim), validly signed."""
    claims = claims_of(token) | changes
    return forge(settings, {name: value for name, value in claims.items() if value is not None})


def expired_now() -> int:
    return int(time.time()) - 10
