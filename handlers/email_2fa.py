"""HTTP operations of the ``email-2fa`` tag: emailed one-time codes as a second factor."""

from __future__ import annotations

from typing import Any

from connexion import request
from starlette.responses import Response

from handlers._http import presenters
from handlers._http.web import Verified, json_response, security_change, services
from twofactor.domain.model import TwoFactorMethod


def send_code(token_info: dict[str, Any]) -> Response:
    verified = Verified.of(token_info)
    claims = verified.access or verified.require_two_factor()
    cooldown = services().email_codes.send(claims.sub, request.headers.get("accept-language"))
    return json_response(presenters.email_code_sent(cooldown))


def enable(token_info: dict[str, Any], body: dict[str, Any]) -> Response:
    principal = services().enrollment.enable_email(security_change(token_info), body["code"])
    return json_response(presenters.principal_response(principal))


def disable(token_info: dict[str, Any], locale: str | None = None) -> Response:
    principal = services().second_factors.disable(
        TwoFactorMethod.EMAIL, security_change(token_info, locale)
    )
    return json_response(presenters.principal_response(principal))
