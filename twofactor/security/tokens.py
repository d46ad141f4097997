"""JWTs: the five token kinds of the contract and their claims.

Every kind has its own explicit type in the JOSE header (``MEDIA_TYPES``) as well as its
``token_type`` claim; the envelope shared by all kinds (signature under a named, rotatable key,
``typ``, ``iss``, ``aud``, times) is ``token_codec``'s.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from twofactor import errors
from twofactor.clock import Clock
from twofactor.security.keys import NamedKey
from twofactor.security.token_codec import Expired, Rejected, TokenCodec


class TokenType(StrEnum):
    ACCESS = "access_token"
    REFRESH = "refresh_token"
    STEP_UP = "step_up_token"
    TWO_FACTOR = "two_factor_authentication_token"
    TOTP_SETUP = "totp_setup"


#: The ``typ`` header of each kind (RFC 8725 §3.11): the access token's is RFC 9068's, the
#: others are this service's own, so no kind can stand in for another.
MEDIA_TYPES = {
    TokenType.ACCESS: "at+jwt",
    TokenType.REFRESH: "refresh+jwt",
    TokenType.STEP_UP: "step-up+jwt",
    TokenType.TWO_FACTOR: "2fa-pending+jwt",
    TokenType.TOTP_SETUP: "totp-setup+jwt",
}


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime
    lifetime: int


@dataclass(frozen=True)
class AccessClaims:
    sub: str
    sid: str
    jti: str
    roles: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True)
class RefreshClaims:
    sub: str
    sid: str
    jti: str
    expires_at: datetime


@dataclass(frozen=True)
class StepUpClaims:
    sub: str
    sid: str
    jti: str
    amr: tuple[str, ...]
    #: The principal's step-up generation at issue time (see ``Principal.step_up_generation``).
    generation: int
    expires_at: datetime


@dataclass(frozen=True)
class TwoFactorClaims:
    sub: str
    jti: str
    expires_at: datetime


@dataclass(frozen=True)
class TotpSetupClaims:
    sub: str
    jti: str
    #: The pending secret and recovery codes, encrypted: nobody can read them from the token.
    sealed: str
    expires_at: datetime


@dataclass(frozen=True)
class _Failures:
    invalid: type[errors.ServiceError]
    expired: type[errors.ServiceError]


_FAILURES = {
    TokenType.ACCESS: _Failures(errors.AccessTokenInvalid, errors.AccessTokenExpired),
    TokenType.REFRESH: _Failures(errors.RefreshTokenInvalid, errors.RefreshTokenExpired),
    TokenType.STEP_UP: _Failures(errors.StepUpTokenInvalid, errors.StepUpTokenExpired),
    TokenType.TWO_FACTOR: _Failures(errors.TwoFactorTokenInvalid, errors.TwoFactorTokenExpired),
    TokenType.TOTP_SETUP: _Failures(errors.InvalidTotpSetupToken, errors.InvalidTotpSetupToken),
}

TWO_FACTOR_TOKEN_TTL = 300
TOTP_SETUP_TOKEN_TTL = 600


class TokenService:
    """Issues and verifies tokens. Verification never touches the network: it is safe to run on
    the event loop (Connexion runs security functions there)."""

    def __init__(
        self,
        keys: tuple[NamedKey, ...],
        clock: Clock,
        *,
        issuer: str,
        audiences: tuple[str, ...],
        access_ttl: int,
        refresh_ttl: int,
        step_up_ttl: int,
    ) -> None:
        self._codec = TokenCodec(keys, clock, issuer=issuer, audiences=audiences)
        self._clock = clock
        self.lifetimes = {
            TokenType.ACCESS: access_ttl,
            TokenType.REFRESH: refresh_ttl,
            TokenType.STEP_UP: step_up_ttl,
            TokenType.TWO_FACTOR: TWO_FACTOR_TOKEN_TTL,
            TokenType.TOTP_SETUP: TOTP_SETUP_TOKEN_TTL,
        }

    # Issuing -------------------------------------------------------------------------------

    def issue_access(self, sub: str, sid: str, roles: tuple[str, ...]) -> IssuedToken:
        return self._issue(TokenType.ACCESS, sub, {"sid": sid, "roles": list(roles)})

    def issue_refresh(self, sub: str, sid: str) -> IssuedToken:
        return self._issue(TokenType.REFRESH, sub, {"sid": sid})

    def issue_step_up(
        self, sub: str, sid: str, amr: tuple[str, ...], generation: int
    ) -> IssuedToken:
        return self._issue(
            TokenType.STEP_UP, sub, {"sid": sid, "amr": list(amr), "gen": generation}
        )

    def issue_two_factor(self, sub: str) -> IssuedToken:
        return self._issue(TokenType.TWO_FACTOR, sub, {})

    def issue_totp_setup(self, sub: str, sealed: str) -> IssuedToken:
        return self._issue(TokenType.TOTP_SETUP, sub, {"setup": sealed})

    def _issue(self, token_type: TokenType, sub: str, extra: dict[str, Any]) -> IssuedToken:
        now = self._clock.now().replace(microsecond=0)
        lifetime = self.lifetimes[token_type]
        expires_at = now + timedelta(seconds=lifetime)
        jti = secrets.token_urlsafe(18)
        claims = {
            "sub": sub,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": jti,
            **extra,
        }
        token = self._codec.encode(MEDIA_TYPES[token_type], token_type.value, claims)
        return IssuedToken(token=token, jti=jti, expires_at=expires_at, lifetime=lifetime)

    # Verifying -----------------------------------------------------------------------------

    def verify_access(self, token: str) -> AccessClaims:
        claims, expires_at = self._verify(token, TokenType.ACCESS)
        roles = claims.get("roles")
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise errors.AccessTokenInvalid()
        return AccessClaims(
            sub=claims["sub"],
            sid=_text_claim(claims, "sid", errors.AccessTokenInvalid),
            jti=claims["jti"],
            roles=tuple(roles),
            expires_at=expires_at,
        )

    def verify_refresh(self, token: str) -> RefreshClaims:
        claims, expires_at = self._verify(token, TokenType.REFRESH)
        return RefreshClaims(
            sub=claims["sub"],
            sid=_text_claim(claims, "sid", errors.RefreshTokenInvalid),
            jti=claims["jti"],
            expires_at=expires_at,
        )

    def verify_step_up(self, token: str) -> StepUpClaims:
        claims, expires_at = self._verify(token, TokenType.STEP_UP)
        amr, generation = claims.get("amr"), claims.get("gen")
        if not isinstance(amr, list) or not all(isinstance(item, str) for item in amr):
            raise errors.StepUpTokenInvalid()
        if not isinstance(generation, int) or isinstance(generation, bool) or generation < 0:
            raise errors.StepUpTokenInvalid()
        return StepUpClaims(
            sub=claims["sub"],
            sid=_text_claim(claims, "sid", errors.StepUpTokenInvalid),
            jti=claims["jti"],
            amr=tuple(amr),
            generation=generation,
            expires_at=expires_at,
        )

    def verify_two_factor(self, token: str) -> TwoFactorClaims:
        claims, expires_at = self._verify(token, TokenType.TWO_FACTOR)
        return TwoFactorClaims(sub=claims["sub"], jti=claims["jti"], expires_at=expires_at)

    def verify_totp_setup(self, token: str) -> TotpSetupClaims:
        claims, expires_at = self._verify(token, TokenType.TOTP_SETUP)
        return TotpSetupClaims(
            sub=claims["sub"],
            jti=claims["jti"],
            sealed=_text_claim(claims, "setup", errors.InvalidTotpSetupToken),
            expires_at=expires_at,
        )

    def _verify(self, token: str, expected: TokenType) -> tuple[dict[str, Any], datetime]:
        failures = _FAILURES[expected]
        try:
            return self._codec.decode(token, MEDIA_TYPES[expected], expected.value)
        except Rejected:
            raise failures.invalid() from None
        except Expired:
            raise failures.expired() from None


def _text_claim(claims: dict[str, Any], name: str, invalid: type[errors.ServiceError]) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise invalid()
    return value
