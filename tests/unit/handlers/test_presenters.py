"""The JSON bodies, built from domain values: each field in its schema's place and form."""

from __future__ import annotations

import inspect
import re
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from handlers._http import presenters
from tests.unit.handlers.values import GUEST, MOMENT, PENDING, STEP_UP, TOKENS, USER
from twofactor.domain.authentication import (
    SignInResult,
    StatusReport,
    StepUpResult,
    TwoFactorChallenge,
)
from twofactor.domain.factor import TotpSetup
from twofactor.domain.model import TwoFactorMethod

SPECIFICATION = Path(__file__).resolve().parents[3] / "openapi.yaml"
CHALLENGE = TwoFactorChallenge(token=PENDING, methods=(TwoFactorMethod.TOTP,), preferred=None)
TOKEN_FIELDS = {
    "accessToken": "access-jwt",
    "refreshToken": "refresh-jwt",
    "tokenType": "Bearer",
    "expiresIn": 900,
    "refreshExpiresIn": 2592000,
    "sessionId": "session-1",
}


def test_every_presenter_is_named_after_a_response_schema() -> None:
    document: dict[str, Any] = yaml.safe_load(SPECIFICATION.read_text())
    schemas = {_snake(name) for name in document["components"]["schemas"]}
    presenter_names = {
        name
        for name, function in inspect.getmembers(presenters, inspect.isfunction)
        if function.__module__ == presenters.__name__ and not name.startswith("_")
    }
    assert presenter_names - {"timestamp"} <= schemas


def test_a_user_shows_its_methods_preference_and_password_identity() -> None:
    assert presenters.principal_response(USER) == {
        "id": "6565f2b7c2a4e41b9a0f3c40",
        "name": "Ada",
        "email": "ada@example.com",
        "roles": ["user"],
        "identityProviders": ["password"],
        "emailVerified": True,
        "twoFactorAuthEnabled": True,
        "twoFactorMethods": ["totp", "email"],
        "preferredTwoFactorMethod": "email",
        "createdAt": "2026-11-28T12:00:05Z",
        "lastActive": "2026-11-28T12:00:05Z",
    }


def test_a_guest_has_no_identity_provider_method_or_last_activity() -> None:
    body = presenters.principal_response(GUEST)

    assert body["email"] is None
    assert body["identityProviders"] == []
    assert body["twoFactorAuthEnabled"] is False
    assert body["twoFactorMethods"] == []
    assert body["preferredTwoFactorMethod"] is None
    assert body["lastActive"] is None


def test_timestamps_are_utc_to_the_second_with_a_z() -> None:
    paris = timezone(timedelta(hours=1))

    assert presenters.timestamp(MOMENT.astimezone(paris)) == "2026-11-28T12:00:05Z"
    assert presenters.timestamp(MOMENT + timedelta(microseconds=900)) == "2026-11-28T12:00:05Z"
    assert presenters.timestamp(None) is None


def test_tokens_come_in_the_contract_order() -> None:
    body = presenters.token_response(TOKENS)

    assert body == TOKEN_FIELDS
    assert list(body) == list(TOKEN_FIELDS)


def test_a_login_without_second_factor_carries_the_session_tokens() -> None:
    body = presenters.login_response(SignInResult(tokens=TOKENS))

    assert body == {"twoFactorRequired": False, **TOKEN_FIELDS}
    assert next(iter(body)) == "twoFactorRequired"


def test_a_login_that_needs_a_second_factor_carries_only_the_challenge() -> None:
    assert presenters.login_response(SignInResult(challenge=CHALLENGE)) == {
        "twoFactorRequired": True,
        "twoFactorToken": "two-factor-jwt",
        "twoFactorMethods": ["totp"],
        "preferredTwoFactorMethod": None,
    }


def test_a_step_up_carries_its_token_and_lifetime() -> None:
    assert presenters.step_up_response(StepUpResult(step_up=STEP_UP)) == {
        "twoFactorRequired": False,
        "stepUpToken": "step-up-jwt",
        "expiresIn": 300,
    }


def test_a_step_up_that_needs_a_second_factor_carries_only_the_challenge() -> None:
    body = presenters.step_up_response(StepUpResult(challenge=CHALLENGE))

    assert body["twoFactorRequired"] is True
    assert body["twoFactorToken"] == "two-factor-jwt"
    assert "stepUpToken" not in body


def test_an_anonymous_status_has_nulls_and_no_methods() -> None:
    assert presenters.auth_status(None, None) == {
        "authenticated": False,
        "principal": None,
        "sessionId": None,
        "twoFactorMethods": [],
        "stepUpPresent": False,
        "stepUpExpiresAt": None,
    }


def test_an_authenticated_status_reports_the_step_up_expiry() -> None:
    body = presenters.auth_status(StatusReport(USER, step_up_expires_at=MOMENT), "session-1")

    assert body == {
        "authenticated": True,
        "principal": presenters.principal_response(USER),
        "sessionId": "session-1",
        "twoFactorMethods": ["totp", "email"],
        "stepUpPresent": True,
        "stepUpExpiresAt": "2026-11-28T12:00:05Z",
    }


def test_a_status_without_usable_step_up_says_so() -> None:
    body = presenters.auth_status(StatusReport(USER, step_up_expires_at=None), "session-1")

    assert body["stepUpPresent"] is False
    assert body["stepUpExpiresAt"] is None


def test_a_totp_setup_shows_the_secret_once_with_its_setup_token() -> None:
    setup = TotpSetup(
        secret="JBSWY3DPEHPK3PXP",
        uri="otpauth://totp/twofactor:ada",
        qr_code="data:image/png;base64,AAAA",
        recovery_codes=["one", "two"],
        token="setup-jwt",
    )

    assert presenters.totp_setup_response(setup) == {
        "secret": "JBSWY3DPEHPK3PXP",
        "totpAuthUrl": "otpauth://totp/twofactor:ada",
        "qrCode": "data:image/png;base64,AAAA",
        "recoveryCodes": ["one", "two"],
        "token": "setup-jwt",
    }


def test_a_recovery_signs_in_and_steps_up_at_once() -> None:
    body = presenters.recovery_response(TOKENS, STEP_UP)

    assert body == {
        "twoFactorRequired": False,
        **TOKEN_FIELDS,
        "stepUpToken": "step-up-jwt",
        "stepUpExpiresIn": 300,
    }
    assert list(body)[-2:] == ["stepUpToken", "stepUpExpiresIn"]


def test_a_new_guest_comes_with_its_session() -> None:
    body = presenters.guest_response(GUEST, TOKENS)

    assert body == {"principal": presenters.principal_response(GUEST), **TOKEN_FIELDS}
    assert next(iter(body)) == "principal"


def test_a_sent_code_tells_the_cooldown() -> None:
    assert presenters.email_code_sent(60) == {"cooldown": 60}


def test_health_and_readiness() -> None:
    assert presenters.health() == {"status": "ok"}
    assert presenters.readiness(["database", "mail"]) == {
        "status": "ready",
        "checks": {"database": "ok", "mail": "ok"},
    }


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
