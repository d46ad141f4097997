"""HTTP operations of the ``two-factor`` tag: finishing sign-in and step-up with a second
factor, and choosing the preferred method."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from handlers._http import cookies, presenters
from handlers._http.web import (
    Verified,
    client_info,
    json_response,
    request_info,
    second_factor_proof,
    security_change,
    services,
)
from twofactor.domain.authentication import SignInResult, StepUpResult
from twofactor.domain.model import TwoFactorMethod


def login_with_second_factor(token_info: dict[str, Any], body: dict[str, Any]) -> Response:
    pending = Verified.of(token_info).require_two_factor()
    tokens = services().two_factor.sign_in(
        pending, second_factor_proof(body), client_info(None), request_info()
    )
    response = json_response(presenters.login_response(SignInResult(tokens=tokens)))
    return cookies.signed_in_with_second_factor(response, tokens)


def step_up_with_second_factor(token_info: dict[str, Any], body: dict[str, Any]) -> Response:
    verified = Verified.of(token_info)
    step_up = services().two_factor.step_up(
        verified.require_access(), verified.require_two_factor(), second_factor_proof(body)
    )
    response = json_response(presenters.step_up_response(StepUpResult(step_up=step_up)))
    return cookies.stepped_up_with_second_factor(response, step_up)


def set_preferred_method(token_info: dict[str, Any], body: dict[str, Any]) -> Response:
    principal = services().enrollment.set_preferred(
        security_change(token_info), TwoFactorMethod(body["method"])
    )
    return json_response(presenters.principal_response(principal))
