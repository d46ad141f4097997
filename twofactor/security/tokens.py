"""JWTs: the five token kinds of the contract and their claims.

Every kind has its own explicit type in the JOSE header (``MEDIA_TYPES``) as well as its
``token_type`` claim; the envelope shared by all kinds (signature under a named, rotatable key,
``typ``, ``iss``, ``aud``, times) is ``token_codec``'s.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar, cast

from twofactor import errors
from twofactor.clock import Clock
from twofactor.security.keys import NamedKey
from twofactor.security.token_codec import Expired, Rejected, TokenCodec
from twofactor.security.verified_tokens import VerifiedTokens


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

_Claims = TypeVar("_Claims")
#: Builds a kind's claims from the envelope's claims and expiry (see ``_access_claims`` below).
_Builder = Callable[[dict[str, Any], datetime], _Claims]


class TokenService:
    """Issues and verifies tokens. Verification never touches the network: it is safe to run on
    the event loop (Connexion runs security functions there).

    Successful verifications are remembered (``verified_tokens``), so a token presented again
    within its lifetime is not checked again; it still expires at its ``exp``. The memory lives
    in this instance, which is built once per process from the configured keys: a restart with
    other keys, issuer or audiences starts with an empty one.
    """

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
        verified_tokens: VerifiedTokens | None = None,
    ) -> None:
        self._codec = TokenCodec(keys, clock, issuer=issuer, audiences=audiences)
        self._clock = clock
        self._verified_tokens = VerifiedTokens() if verified_tokens is None else verified_tokens
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
        return self._verified(token, TokenType.ACCESS, _access_claims)

    def verify_refresh(self, token: str) -> RefreshClaims:
        return self._verified(token, TokenType.REFRESH, _refresh_claims)

    def verify_step_up(self, token: str) -> StepUpClaims:
        return self._verified(token, TokenType.STEP_UP, _step_up_claims)

    def verify_two_factor(self, token: str) -> TwoFactorClaims:
        return self._verified(token, TokenType.TWO_FACTOR, _two_factor_claims)

    def verify_totp_setup(self, token: str) -> TotpSetupClaims:
        return self._verified(token, TokenType.TOTP_SETUP, _totp_setup_claims)

    def _verified(self, token: str, expected: TokenType, build: _Builder[_Claims]) -> _Claims:
        remembered = self._verified_tokens.get(expected, token, self._clock.now())
        if remembered is not None:
            # Each kind has one builder, so what is remembered for this kind is what it built.
            return cast(_Claims, remembered)
        failures = _FAILURES[expected]
        try:
            claims, expires_at = self._codec.decode(token, MEDIA_TYPES[expected], expected.value)
        except Rejected:
            raise failures.invalid() from None
        except Expired:
            raise failures.expired() from None
        built = build(claims, expires_at)
        # Read after the codec's own reading: every time check it made holds from here on.
        checked_at = self._clock.now()
        self._verified_tokens.remember(
            expected, token, built, checked_at=checked_at, expires_at=expires_at
        )
        return built


# The claims of each kind beyond the envelope, checked once the codec accepted the token. Each
# raises the kind's ``*_INVALID`` error for a malformed claim.


def _access_claims(claims: dict[str, Any], expires_at: datetime) -> AccessClaims:
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


def _refresh_claims(claims: dict[str, Any], expires_at: datetime) -> RefreshClaims:
    return RefreshClaims(
        sub=claims["sub"],
        sid=_text_claim(claims, "sid", errors.RefreshTokenInvalid),
        jti=claims["jti"],
        expires_at=expires_at,
    )


def _step_up_claims(claims: dict[str, Any], expires_at: datetime) -> StepUpClaims:
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


def _two_factor_claims(claims: dict[str, Any], expires_at: datetime) -> TwoFactorClaims:
    return TwoFactorClaims(sub=claims["sub"], jti=claims["jti"], expires_at=expires_at)


def _totp_setup_claims(claims: dict[str, Any], expires_at: datetime) -> TotpSetupClaims:
    return TotpSetupClaims(
        sub=claims["sub"],
        jti=claims["jti"],
        sealed=_text_claim(claims, "setup", errors.InvalidTotpSetupToken),
        expires_at=expires_at,
    )


def _text_claim(claims: dict[str, Any], name: str, invalid: type[errors.ServiceError]) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise invalid()
    return value
