"""The cookie policy: which cookies each outcome writes, all with the same attributes.

The secure flag comes from the request scope through Connexion's request context, which the
``secure`` fixture sets the way Connexion's middleware would.
"""

from __future__ import annotations

from collections.abc import Iterator
from http.cookies import SimpleCookie

import pytest
from connexion.context import _scope
from starlette.responses import Response

from handlers._http import cookies
from handlers._http.web import COOKIE_SECURE_KEY
from tests.unit.handlers.values import PENDING, STEP_UP, TOKENS
from twofactor.domain.authentication import SignInResult, StepUpResult, TwoFactorChallenge

TOKEN_COOKIES = [
    "access_token",
    "refresh_token",
    "step_up_token",
    "two_factor_authentication_token",
]


@pytest.fixture(params=[True, False], ids=["secure", "plain"])
def secure(request: pytest.FixtureRequest) -> Iterator[bool]:
    flag: bool = request.param
    token = _scope.set({"type": "http", COOKIE_SECURE_KEY: flag})
    yield flag
    _scope.reset(token)


def written(response: Response) -> list[tuple[str, SimpleCookie]]:
    """Each Set-Cookie header, in order, as (name, parsed cookie)."""
    found = []
    for header in response.headers.getlist("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        (name,) = cookie
        found.append((name, cookie))
    return found


def values(response: Response) -> dict[str, tuple[str, str]]:
    return {name: (c[name].value, c[name]["max-age"]) for name, c in written(response)}


def test_every_cookie_is_http_only_strict_site_wide_and_secure_as_deployed(secure: bool) -> None:
    response = cookies.recovered(Response(), TOKENS, STEP_UP)
    cookies.signed_out(response)

    assert len(written(response)) == 8
    for name, cookie in written(response):
        assert cookie[name]["httponly"] is True
        assert cookie[name]["samesite"] == "strict"
        assert cookie[name]["path"] == "/"
        assert bool(cookie[name]["secure"]) is secure


def test_signing_in_sets_the_session_cookies_for_their_lifetimes(secure: bool) -> None:
    response = cookies.signed_in(Response(), TOKENS)

    assert values(response) == {
        "access_token": ("access-jwt", "900"),
        "refresh_token": ("refresh-jwt", "2592000"),
    }


def test_a_password_login_that_needs_a_second_factor_sets_only_the_pending_cookie(
    secure: bool,
) -> None:
    challenge = TwoFactorChallenge(token=PENDING, methods=(), preferred=None)

    pending = cookies.signed_in_or_pending(Response(), SignInResult(challenge=challenge))
    signed = cookies.signed_in_or_pending(Response(), SignInResult(tokens=TOKENS))

    assert values(pending) == {"two_factor_authentication_token": ("two-factor-jwt", "300")}
    assert list(values(signed)) == ["access_token", "refresh_token"]


def test_a_password_step_up_sets_the_step_up_or_the_pending_cookie(secure: bool) -> None:
    challenge = TwoFactorChallenge(token=PENDING, methods=(), preferred=None)

    stepped = cookies.stepped_up_or_pending(Response(), StepUpResult(step_up=STEP_UP))
    pending = cookies.stepped_up_or_pending(Response(), StepUpResult(challenge=challenge))

    assert values(stepped) == {"step_up_token": ("step-up-jwt", "300")}
    assert list(values(pending)) == ["two_factor_authentication_token"]


def test_finishing_with_a_second_factor_clears_the_pending_cookie_last(secure: bool) -> None:
    signed = cookies.signed_in_with_second_factor(Response(), TOKENS)
    stepped = cookies.stepped_up_with_second_factor(Response(), STEP_UP)
    recovered = cookies.recovered(Response(), TOKENS, STEP_UP)

    cleared = ("", "0")
    assert list(values(signed).items())[-1] == ("two_factor_authentication_token", cleared)
    assert list(values(stepped)) == ["step_up_token", "two_factor_authentication_token"]
    assert list(values(recovered)) == TOKEN_COOKIES
    assert values(recovered)["two_factor_authentication_token"] == cleared


def test_signing_out_clears_every_token_cookie(secure: bool) -> None:
    response = cookies.signed_out(Response())

    assert values(response) == {name: ("", "0") for name in TOKEN_COOKIES}
    assert all(cookie[name]["expires"] for name, cookie in written(response))
