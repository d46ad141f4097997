"""HTTP operations of the ``auth`` tag: register, login, step-up, refresh, logout, status."""

from __future__ import annotations

from typing import Any

from connexion import request
from starlette.responses import Response

from handlers._http import cookies, presenters
from handlers._http.credentials import STEP_UP, sent
from handlers._http.web import Verified, client_info, json_response, request_info, services
from handlers.security import raise_unchecked_access
from twofactor.domain.accounts import Registration


def register(body: dict[str, Any]) -> Response:
    principal = services().accounts.register(
        Registration(email=body["email"], password=body["password"], name=body["name"]),
        request_info(),
    )
    return json_response(presenters.principal_response(principal), 201)


def login(body: dict[str, Any]) -> Response:
    result = services().authentication.sign_in(
        body["email"], body["password"], client_info(body.get("session")), request_info()
    )
    return cookies.signed_in_or_pending(json_response(presenters.login_response(result)), result)


def step_up(token_info: dict[str, Any], body: dict[str, Any] | bytes | None = None) -> Response:
    access = Verified.of(token_info).require_access()
    # An absent body is the schema's default `{}`, which Connexion hands over undecoded (bytes)
    # when the request names no media type: either way there is no password.
    password = body.get("password") if isinstance(body, dict) else None
    result = services().authentication.step_up(access, password)
    return cookies.stepped_up_or_pending(json_response(presenters.step_up_response(result)), result)


def refresh(token_info: dict[str, Any]) -> Response:
    tokens = services().sessions.refresh(Verified.of(token_info).require_refresh())
    return cookies.signed_in(json_response(presenters.token_response(tokens)), tokens)


def logout(token_info: dict[str, Any] | None = None) -> Response:
    raise_unchecked_access(request)
    access = Verified.of(token_info).access
    if access is not None:
        services().sessions.end(access.sid)
    return cookies.signed_out(Response(status_code=204))


def status(token_info: dict[str, Any] | None = None) -> Response:
    raise_unchecked_access(request)
    access = Verified.of(token_info).access
    if access is None:
        return json_response(presenters.auth_status(None, None))
    # The step-up token is only reported on, not required: read it as sent, unverified.
    report = services().authentication.status(access, sent(request, STEP_UP))
    return json_response(presenters.auth_status(report, access.sid))
