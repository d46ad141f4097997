"""Hand-made JWTs for the invalid-token cases: real signatures over deliberately wrong claims."""

from __future__ import annotations

import time
from typing import Any

import jwt

from twofactor.config import Settings
from twofactor.security.tokens import MEDIA_TYPES, TokenType


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a token the service issued (signature not checked: tests only read them)."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def header_of(token: str) -> dict[str, Any]:
    return jwt.get_unverified_header(token)


def media_type_of(token_type: object) -> str:
    """The ``typ`` the service gives a token of ``token_type`` (``JWT`` for an unknown one)."""
    known = {kind.value: MEDIA_TYPES[kind] for kind in TokenType}
    return known.get(token_type, "JWT") if isinstance(token_type, str) else "JWT"


def forge(
    settings: Settings,
    claims: dict[str, Any],
    *,
    key: bytes | None = None,
    kid: str | None = None,
    typ: str | None = None,
    algorithm: str = "HS256",
) -> str:
    """Sign ``claims`` with the service's current key unless ``key``/``kid`` say otherwise.

    The ``typ`` header is the one the service gives the ``token_type`` claim unless ``typ`` is
    given; ``typ=""`` leaves the header without one.
    """
    signing = settings.jwt_signing_keys[0]
    return jwt.encode(
        claims,
        None if algorithm == "none" else key if key is not None else signing.secret,
        algorithm=algorithm,
        headers={
            "kid": kid if kid is not None else signing.key_id,
            "typ": media_type_of(claims.get("token_type")) if typ is None else typ,
        },
    )


def resign(settings: Settings, token: str, *, typ: str | None = None, **changes: Any) -> str:
    """The same token with some claims changed (``None`` removes a claim), validly signed,
    with the same ``typ`` header unless ``typ`` says otherwise."""
    claims = claims_of(token) | changes
    kept = {name: value for name, value in claims.items() if value is not None}
    return forge(settings, kept, typ=header_of(token).get("typ", "") if typ is None else typ)


def expired_now() -> int:
    return int(time.time()) - 10
