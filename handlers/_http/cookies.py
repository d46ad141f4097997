"""The cookie policy: which cookies each outcome sets or clears, and how every cookie is written.

Browsers hold the same tokens as the JSON bodies, in cookies. Which cookies change is a matter
of what just happened (signed in, stepped up, second factor pending, signed out), not of which
endpoint it happened on, so handlers name the outcome and this module does the choreography.
Every cookie gets the same attributes from one function.
"""

from __future__ import annotations

from connexion import request
from starlette.responses import Response

from handlers._http.credentials import ACCESS, REFRESH, STEP_UP, TWO_FACTOR
from handlers._http.web import COOKIE_SECURE_KEY
from twofactor.domain.authentication import SignInResult, StepUpResult
from twofactor.domain.sessions import SessionTokens
from twofactor.security.tokens import IssuedToken


def signed_in(response: Response, tokens: SessionTokens) -> Response:
    """A new session (password login, refresh, guest)."""
    _write(response, ACCESS.cookie, tokens.access)
    _write(response, REFRESH.cookie, tokens.refresh)
    return response


def two_factor_pending(response: Response, token: IssuedToken) -> Response:
    """Password proven, a second factor is due: the pending-2FA token."""
    _write(response, TWO_FACTOR.cookie, token)
    return response


def stepped_up(response: Response, token: IssuedToken) -> Response:
    """A step-up token for the next security change."""
    _write(response, STEP_UP.cookie, token)
    return response


def signed_in_or_pending(response: Response, result: SignInResult) -> Response:
    """A password login: a session, or the pending-2FA token when a second factor is due."""
    if result.tokens is not None:
        signed_in(response, result.tokens)
    if result.challenge is not None:
        two_factor_pending(response, result.challenge.token)
    return response


def stepped_up_or_pending(response: Response, result: StepUpResult) -> Response:
    """A password step-up: a step-up token, or the pending-2FA token when a second factor is
    due."""
    if result.step_up is not None:
        stepped_up(response, result.step_up)
    if result.challenge is not None:
        two_factor_pending(response, result.challenge.token)
    return response


def signed_in_with_second_factor(response: Response, tokens: SessionTokens) -> Response:
    """The pending sign-in finished: a session, and the pending-2FA token is spent."""
    signed_in(response, tokens)
    return _two_factor_done(response)


def stepped_up_with_second_factor(response: Response, token: IssuedToken) -> Response:
    """The pending step-up finished: a step-up token, and the pending-2FA token is spent."""
    stepped_up(response, token)
    return _two_factor_done(response)


def recovered(response: Response, tokens: SessionTokens, step_up: IssuedToken) -> Response:
    """A recovery code signs in and steps up at once; the pending-2FA token is spent."""
    signed_in(response, tokens)
    stepped_up(response, step_up)
    return _two_factor_done(response)


def signed_out(response: Response) -> Response:
    """Every token cookie is cleared."""
    for kind in (ACCESS, REFRESH, STEP_UP, TWO_FACTOR):
        _write(response, kind.cookie, None)
    return response


def _two_factor_done(response: Response) -> Response:
    _write(response, TWO_FACTOR.cookie, None)
    return response


def _write(response: Response, name: str, token: IssuedToken | None) -> None:
    """The one way a cookie is written: HttpOnly, SameSite=Strict, Path=/, Secure as the
    deployment says; it lives as long as its token, and ``None`` clears it (Max-Age 0 and an
    Expires of now, as Starlette's ``delete_cookie`` writes it)."""
    response.set_cookie(
        name,
        token.token if token is not None else "",
        max_age=token.lifetime if token is not None else 0,
        expires=None if token is not None else 0,
        path="/",
        secure=bool(request.scope[COOKIE_SECURE_KEY]),
        httponly=True,
        samesite="strict",
    )
