"""HTTP operations of the ``auth`` tag: register, login, step-up, refresh, logout, status."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from handlers._http.presenters import (
    principal_body,
    sign_in_body,
    step_up_body,
    timestamp,
    tokens_body,
)
from handlers._http.web import (
    ACCESS_COOKIE,
    REFRESH_COOKIE,
    STEP_UP_COOKIE,
    TWO_FACTOR_COOKIE,
    Credentials,
    clear_cookies,
    client_info,
    json_response,
    request_info,
    services,
    set_session_cookies,
    set_token_cookie,
    step_up_credential,
)
from twofactor.domain.accounts import Registration


def register(body: dict[str, Any]) -> Response:
    principal = services().accounts.register(
        Registration(email=body["email"], password=body["password"], name=body["name"])
    )
    return json_response(principal_body(principal), 201)


def login(body: dict[str, Any]) -> Response:
    result = services().authentication.sign_in(
        body["email"], body["password"], client_info(body.get("session")), request_info()
    )
    response = json_response(sign_in_body(result))
    if result.tokens is not None:
        set_session_cookies(response, result.tokens.access, result.tokens.refresh)
    if result.challenge is not None:
        set_token_cookie(response, TWO_FACTOR_COOKIE, result.challenge.token)
    return response


def step_up(token_info: dict[str, Any], body: dict[str, Any] | None = None) -> Response:
    access = Credentials.of(token_info).require_access()
    result = services().authentication.step_up(access, (body or {}).get("password"))
    response = json_response(step_up_body(result))
    if result.step_up is not None:
        set_token_cookie(response, STEP_UP_COOKIE, result.step_up)
    if result.challenge is not None:
        set_token_cookie(response, TWO_FACTOR_COOKIE, result.challenge.token)
    return response


def refresh(token_info: dict[str, Any]) -> Response:
    claims = Credentials.of(token_info).refresh
    assert claims is not None, "the spec requires a refresh credential"
    tokens = services().sessions.refresh(claims)
    response = json_response(tokens_body(tokens))
    set_session_cookies(response, tokens.access, tokens.refresh)
    return response


def logout(token_info: dict[str, Any] | None = None) -> Response:
    access = Credentials.of(token_info).access
    if access is not None:
        services().sessions.end(access.sid)
    response = Response(status_code=204)
    clear_cookies(response, ACCESS_COOKIE, REFRESH_COOKIE, STEP_UP_COOKIE, TWO_FACTOR_COOKIE)
    return response


def status(token_info: dict[str, Any] | None = None) -> Response:
    access = Credentials.of(token_info).access
    if access is None:
        return json_response(
            {
                "authenticated": False,
                "principal": None,
                "sessionId": None,
                "twoFactorMethods": [],
                "stepUpPresent": False,
                "stepUpExpiresAt": None,
            }
        )
    report = services().authentication.status(access, step_up_credential())
    return json_response(
        {
            "authenticated": True,
            "principal": principal_body(report.principal),
            "sessionId": access.sid,
            "twoFactorMethods": [method.value for method in report.principal.methods],
            "stepUpPresent": report.step_up_expires_at is not None,
            "stepUpExpiresAt": timestamp(report.step_up_expires_at),
        }
    )
