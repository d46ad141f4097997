"""HTTP operations of the ``totp`` tag; ``disable_totp`` is the service's core operation."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from handlers._http import cookies, presenters
from handlers._http.web import (
    Verified,
    client_info,
    json_response,
    request_info,
    security_change,
    services,
)
from twofactor.domain.model import TwoFactorMethod


def disable_totp(token_info: dict[str, Any], locale: str | None = None) -> Response:
    principal = services().second_factors.disable(
        TwoFactorMethod.TOTP, security_change(token_info, locale)
    )
    return json_response(presenters.principal_response(principal))


def begin_setup(token_info: dict[str, Any]) -> Response:
    setup = services().enrollment.begin_totp_setup(security_change(token_info))
    return json_response(presenters.totp_setup_response(setup))


def confirm_setup(token_info: dict[str, Any], body: dict[str, Any]) -> Response:
    principal = services().enrollment.confirm_totp_setup(
        security_change(token_info), body["token"], body["code"]
    )
    return json_response(presenters.principal_response(principal))


def recover(token_info: dict[str, Any], body: dict[str, Any]) -> Response:
    pending = Verified.of(token_info).require_two_factor()
    tokens, step_up = services().two_factor.recover(
        pending, body["code"], client_info(None), request_info()
    )
    response = json_response(presenters.recovery_response(tokens, step_up))
    return cookies.recovered(response, tokens, step_up)
