"""HTTP operations of the ``two-factor`` tag: finishing sign-in and step-up with a second
factor, and choosing the preferred method."""

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
from twofactor.domain.verification import Proof


def login_with_second_factor(token_info: dict[str, Any], body: dict[str, Any]) -> Response:
    pending = Credentials.of(token_info).require_two_factor()
    tokens = services().two_factor.sign_in(pending, proof(body), client_info(None), request_info())
    response = json_response({"twoFactorRequired": False, **tokens_body(tokens)})
    set_session_cookies(response, tokens.access, tokens.refresh)
    clear_cookies(response, TWO_FACTOR_COOKIE)
    return response


def step_up_with_second_factor(token_info: dict[str, Any], body: dict[str, Any]) -> Response:
    credentials = Credentials.of(token_info)
    step_up = services().two_factor.step_up(
        credentials.require_access(), credentials.require_two_factor(), proof(body)
    )
    response = json_response(
        {"twoFactorRequired": False, "stepUpToken": step_up.token, "expiresIn": step_up.lifetime}
    )
    set_token_cookie(response, STEP_UP_COOKIE, step_up)
    clear_cookies(response, TWO_FACTOR_COOKIE)
    return response


def set_preferred_method(token_info: dict[str, Any], body: dict[str, Any]) -> Response:
    principal = services().enrollment.set_preferred(
        security_change(token_info), TwoFactorMethod(body["method"])
    )
    return json_response(principal_body(principal))


def proof(body: dict[str, Any]) -> Proof:
    """The spec lets exactly one of ``totp`` and ``email`` through."""
    method = TwoFactorMethod.TOTP if "totp" in body else TwoFactorMethod.EMAIL
    return Proof(method=method, code=str(body[method.value]))
