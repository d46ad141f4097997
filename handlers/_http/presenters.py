"""The JSON bodies of the API, built from domain values: one function per response schema of
``openapi.yaml``, named after it, so a body's shape is written once and next to no HTTP detail.

Key order is part of the answer (clients and snapshots see it); keep it when editing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from twofactor.domain.authentication import (
    SignInResult,
    StatusReport,
    StepUpResult,
    TwoFactorChallenge,
)
from twofactor.domain.factor import TotpSetup
from twofactor.domain.model import Principal, TwoFactorMethod
from twofactor.domain.sessions import SessionTokens
from twofactor.security.tokens import IssuedToken

Body = dict[str, Any]


def principal_response(principal: Principal) -> Body:
    return {
        "id": principal.id,
        "name": principal.name,
        "email": principal.email,
        "roles": list(principal.roles),
        "identityProviders": ["password"] if principal.password_hash is not None else [],
        "emailVerified": principal.email_verified,
        "twoFactorAuthEnabled": principal.two_factor_enabled,
        "twoFactorMethods": _methods(principal.methods),
        "preferredTwoFactorMethod": _method(principal.preferred_method),
        "createdAt": timestamp(principal.created_at),
        "lastActive": timestamp(principal.last_active),
    }


def login_response(result: SignInResult) -> Body:
    """Session tokens, or the challenge when a second factor is due."""
    if result.challenge is not None:
        return _challenge(result.challenge)
    assert result.tokens is not None
    return {"twoFactorRequired": False, **token_response(result.tokens)}


def step_up_response(result: StepUpResult) -> Body:
    """A step-up token, or the challenge when a second factor is due."""
    if result.challenge is not None:
        return _challenge(result.challenge)
    assert result.step_up is not None
    return {
        "twoFactorRequired": False,
        "stepUpToken": result.step_up.token,
        "expiresIn": result.step_up.lifetime,
    }


def token_response(tokens: SessionTokens) -> Body:
    return {
        "accessToken": tokens.access.token,
        "refreshToken": tokens.refresh.token,
        "tokenType": "Bearer",
        "expiresIn": tokens.access.lifetime,
        "refreshExpiresIn": tokens.refresh.lifetime,
        "sessionId": tokens.session_id,
    }


def auth_status(report: StatusReport | None, session_id: str | None) -> Body:
    """The caller's state; ``report`` is ``None`` when the request has no access credential."""
    if report is None:
        return {
            "authenticated": False,
            "principal": None,
            "sessionId": None,
            "twoFactorMethods": [],
            "stepUpPresent": False,
            "stepUpExpiresAt": None,
        }
    return {
        "authenticated": True,
        "principal": principal_response(report.principal),
        "sessionId": session_id,
        "twoFactorMethods": _methods(report.principal.methods),
        "stepUpPresent": report.step_up_expires_at is not None,
        "stepUpExpiresAt": timestamp(report.step_up_expires_at),
    }


def totp_setup_response(setup: TotpSetup) -> Body:
    return {
        "secret": setup.secret,
        "totpAuthUrl": setup.uri,
        "qrCode": setup.qr_code,
        "recoveryCodes": setup.recovery_codes,
        "token": setup.token,
    }


def recovery_response(tokens: SessionTokens, step_up: IssuedToken) -> Body:
    return {
        "twoFactorRequired": False,
        **token_response(tokens),
        "stepUpToken": step_up.token,
        "stepUpExpiresIn": step_up.lifetime,
    }


def email_code_sent(cooldown: int) -> Body:
    """``cooldown``: seconds before another code can be sent."""
    return {"cooldown": cooldown}


def guest_response(principal: Principal, tokens: SessionTokens) -> Body:
    return {"principal": principal_response(principal), **token_response(tokens)}


def health() -> Body:
    return {"status": "ok"}


def readiness(components: list[str]) -> Body:
    return {"status": "ready", "checks": dict.fromkeys(components, "ok")}


def timestamp(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC to the second, with ``Z``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _challenge(challenge: TwoFactorChallenge) -> Body:
    return {
        "twoFactorRequired": True,
        "twoFactorToken": challenge.token.token,
        "twoFactorMethods": _methods(challenge.methods),
        "preferredTwoFactorMethod": _method(challenge.preferred),
    }


def _methods(methods: tuple[TwoFactorMethod, ...]) -> list[str]:
    return [method.value for method in methods]


def _method(method: TwoFactorMethod | None) -> str | None:
    return method.value if method else None
