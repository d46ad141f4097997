"""HTTP operations of the ``totp`` tag; ``disable_totp`` is the service's core operation."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from handlers._http.presenters import principal_body, tokens_body
from handlers._http.web import (
    STEP_UP_COOKIE,
    TWO_FACTOR_COOKIE,
    Credentials,
    clear_cookies,
    client_info,
    json_response,
    request_info,
    security_change,
    services,
    set_session_cookies,
    set_token_cookie,
)
from twofactor.domain.model import TwoFactorMethod


def disable_totp(token_info: dict[str, Any], locale: str | None = None) -> Response:
    principal = services().second_factors.disable(
        TwoFactorMethod.TOTP, security_change(token_info, locale)
    )
    return json_response(principal_body(principal))


def begin_setup(token_info: dict[str, Any]) -> Response:
    setup = services().enrollment.begin_totp_setup(security_change(token_info))
    return json_response(
        {
            "secret": setup.secret,
            "totpAuthUrl": setup.uri,
            "qrCode": setup.qr_code,
            "recoveryCodes": setup.recovery_codes,
            "token": setup.token,
        }
    )


def confirm_setup(token_info: dict[str, Any], body: dict[str, Any]) -> Response:
    principal = services().enrollment.confirm_totp_setup(
        security_change(token_info), body["token"], body["code"]
    )
    return json_response(principal_body(principal))


def recover(token_info: dict[str, Any], body: dict[str, Any]) -> Response:
    pending = Credentials.of(token_info).require_two_factor()
    tokens, step_up = services().two_factor.recover(
        pending, body["code"], client_info(None), request_info()
    )
    response = json_response(
        {
            "twoFactorRequired": False,
            **tokens_body(tokens),
            "stepUpToken": step_up.token,
            "stepUpExpiresIn": step_up.lifetime,
        }
    )
    set_session_cookies(response, tokens.access, tokens.refresh)
    set_token_cookie(response, STEP_UP_COOKIE, step_up)
    clear_cookies(response, TWO_FACTOR_COOKIE)
    return response
