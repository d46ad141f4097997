"""JSON bodies of the API, built from domain results (the schemas are in ``openapi.yaml``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from twofactor.domain.authentication import SignInResult, StepUpResult, TwoFactorChallenge
from twofactor.domain.model import Principal
from twofactor.domain.sessions import SessionTokens


def timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def principal_body(principal: Principal) -> dict[str, Any]:
    return {
        "id": principal.id,
        "name": principal.name,
        "email": principal.email,
        "roles": list(principal.roles),
        "identityProviders": ["password"] if principal.password_hash is not None else [],
        "emailVerified": principal.email_verified,
        "twoFactorAuthEnabled": principal.two_factor_enabled,
        "twoFactorMethods": [method.value for method in principal.methods],
        "preferredTwoFactorMethod": (
            principal.preferred_method.value if principal.preferred_method else None
        ),
        "createdAt": timestamp(principal.created_at),
        "lastActive": timestamp(principal.last_active),
    }


def tokens_body(tokens: SessionTokens) -> dict[str, Any]:
    return {
        "accessToken": tokens.access.token,
        "refreshToken": tokens.refresh.token,
        "tokenType": "Bearer",
        "expiresIn": tokens.access.lifetime,
        "refreshExpiresIn": tokens.refresh.lifetime,
        "sessionId": tokens.session_id,
    }


def challenge_body(challenge: TwoFactorChallenge) -> dict[str, Any]:
    return {
        "twoFactorRequired": True,
        "twoFactorToken": challenge.token.token,
        "twoFactorMethods": [method.value for method in challenge.methods],
        "preferredTwoFactorMethod": challenge.preferred.value if challenge.preferred else None,
    }


def sign_in_body(result: SignInResult) -> dict[str, Any]:
    if result.challenge is not None:
        return challenge_body(result.challenge)
    assert result.tokens is not None
    return {"twoFactorRequired": False, **tokens_body(result.tokens)}


def step_up_body(result: StepUpResult) -> dict[str, Any]:
    if result.challenge is not None:
        return challenge_body(result.challenge)
    assert result.step_up is not None
    return {
        "twoFactorRequired": False,
        "stepUpToken": result.step_up.token,
        "expiresIn": result.step_up.lifetime,
    }
