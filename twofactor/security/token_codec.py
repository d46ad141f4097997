"""The JWT envelope every token shares: signature, explicit type, issuer, audience and times.

A token is accepted as one kind only when all of these hold, and they are checked before any
other claim is read (RFC 8725 §3.11 explicit typing and §3.12 issuer and audience; RFC 9068
for the access token's ``at+jwt``):

* its ``kid`` names a verification key and its HS256 signature verifies under that key;
* the JOSE header's ``typ`` is the kind's media type, compared case-insensitively, the
  ``application/`` prefix optional (RFC 7515 §4.1.9);
* ``iss`` is the configured issuer and ``aud`` names one of the accepted audiences, so a token
  minted by another service that shares the key is refused;
* the ``token_type`` claim names the same kind (the claim-level form of the same fact);
* ``sub``, ``jti``, ``iat`` and ``exp`` are present and well-formed, and ``iat`` (and ``nbf``
  when present) is at most ``CLOCK_SKEW`` seconds ahead of the clock.

Times are checked here against the injected clock, not by PyJWT: PyJWT reads the system clock,
and its own ``iat`` check (pyjwt 2.15.1) takes any value ``int()`` accepts, such as the text
``"1700000000"``, ``1.5`` or ``true``. ``exp`` gets no leeway: a token never outlives the
lifetime it was issued with (the allowlist and cookies are sized by it).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any

import jwt

from twofactor.clock import Clock
from twofactor.security.keys import NamedKey

#: How far ahead of this server's clock a token's ``iat`` or ``nbf`` may be: the clock skew
#: tolerated between the servers of one deployment.
CLOCK_SKEW = 60

_ALGORITHM = "HS256"
_PRINCIPAL_ID = re.compile(r"^[0-9a-f]{24}$")
_REQUIRED_CLAIMS = ("token_type", "iss", "aud", "sub", "iat", "exp", "jti")


class Rejected(Exception):
    """The token is not a valid token of the kind asked for."""


class Expired(Exception):
    """A valid token of the kind asked for whose ``exp`` has passed."""


class TokenCodec:
    """Signs and checks the envelope; the kinds' own claims are ``tokens.TokenService``'s."""

    def __init__(
        self,
        keys: tuple[NamedKey, ...],
        clock: Clock,
        *,
        issuer: str,
        audiences: tuple[str, ...],
    ) -> None:
        if not keys:
            raise ValueError("at least one signing key is needed")
        if not audiences:
            raise ValueError("at least one audience is needed")
        self._signing_key = keys[0]
        self._verification_keys = {key.key_id: key.secret for key in keys}
        self._clock = clock
        self._issuer = issuer
        self._audiences = audiences

    def encode(self, typ: str, token_type: str, claims: dict[str, Any]) -> str:
        """A token of media type ``typ``, issued for the first audience."""
        envelope = {"token_type": token_type, "iss": self._issuer, "aud": self._audiences[0]}
        return jwt.encode(
            envelope | claims,
            self._signing_key.secret,
            algorithm=_ALGORITHM,
            headers={"kid": self._signing_key.key_id, "typ": typ},
        )

    def decode(self, token: str, typ: str, token_type: str) -> tuple[dict[str, Any], datetime]:
        """The claims and expiry of a token of media type ``typ`` and claim ``token_type``.

        Raises ``Rejected``, or ``Expired`` only for a token that passed every other check.
        """
        kid = _key_id(token)
        key = None if kid is None else self._verification_keys.get(kid)
        if key is None:
            raise Rejected()
        try:
            decoded = jwt.decode_complete(
                token,
                key,
                algorithms=[_ALGORITHM],
                issuer=self._issuer,
                audience=list(self._audiences),
                # Times are checked below, against the injected clock.
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": list(_REQUIRED_CLAIMS),
                },
            )
        except jwt.PyJWTError:
            raise Rejected() from None
        claims: dict[str, Any] = decoded["payload"]
        if _media_type(decoded["header"].get("typ")) != _media_type(typ):
            raise Rejected()
        if claims["token_type"] != token_type:
            raise Rejected()
        sub, jti = claims["sub"], claims["jti"]
        if not isinstance(sub, str) or not _PRINCIPAL_ID.match(sub):
            raise Rejected()
        if not isinstance(jti, str) or not jti:
            raise Rejected()
        return claims, self._expiry(claims)

    def _expiry(self, claims: dict[str, Any]) -> datetime:
        now = self._clock.now()
        iat, exp, nbf = (_seconds(claims.get(name)) for name in ("iat", "exp", "nbf"))
        if iat is None or exp is None or ("nbf" in claims and nbf is None):
            raise Rejected()
        if max(iat, nbf or 0) > now.timestamp() + CLOCK_SKEW:
            raise Rejected()
        try:
            expires_at = datetime.fromtimestamp(exp, tz=now.tzinfo)
        except (OverflowError, OSError, ValueError):
            raise Rejected() from None
        if now >= expires_at:
            raise Expired()
        return expires_at


def _key_id(token: str) -> str | None:
    """The ``kid`` of the token's JOSE header, read only to choose the verification key; PyJWT
    then checks the whole token, this header included. PyJWT's own ``get_unverified_header``
    would parse and validate every segment a second time, which is most of the cost of a check.
    """
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, RecursionError):  # binascii.Error and UnicodeDecodeError are ValueErrors
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def _media_type(typ: object) -> str | None:
    """``typ`` as a full media type: lower case, ``application/`` added when it has no ``/``."""
    if not isinstance(typ, str) or not typ.isascii():
        return None
    typ = typ.lower()
    return typ if "/" in typ else f"application/{typ}"


def _seconds(value: object) -> int | None:
    """A NumericDate as this service issues it: whole seconds, not a bool, text or float."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None
