"""Reading a credential: a header wins over its cookie, and ``None`` means "not sent here"."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from handlers._http.credentials import (
    ACCESS,
    REFRESH,
    STEP_UP,
    TWO_FACTOR,
    Credential,
    Source,
    credential,
    offered,
    sent,
)
from twofactor.errors import AccessTokenInvalid, RefreshTokenInvalid, ServiceError


def request(**headers: str) -> Request:
    """A request with these headers (``x_step_up_token`` is ``X-Step-Up-Token``)."""
    raw = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


def test_the_header_source_reads_a_raw_header_trimmed() -> None:
    assert credential(request(x_step_up_token=" step "), STEP_UP, Source.HEADER) == "step"


def test_the_cookie_source_reads_the_cookie_when_no_header_is_sent() -> None:
    found = request(cookie="two_factor_authentication_token=pending")

    assert credential(found, TWO_FACTOR, Source.COOKIE) == "pending"
    assert credential(found, TWO_FACTOR, Source.HEADER) is None


@pytest.mark.parametrize("header", ["other", ""])
def test_cookie_steps_aside_when_the_header_is_present(header: str) -> None:
    both = request(x_step_up_token=header, cookie="step_up_token=valid-cookie")

    assert credential(both, STEP_UP, Source.COOKIE) is None
    assert credential(both, STEP_UP, Source.HEADER) == header


def test_cookie_steps_aside_when_a_bearer_header_is_present() -> None:
    both = request(authorization="Bearer header-jwt", cookie="access_token=cookie-jwt")

    assert credential(both, ACCESS, Source.HEADER) == "header-jwt"
    assert credential(both, ACCESS, Source.COOKIE) is None


def test_the_bearer_scheme_is_case_insensitive_and_the_token_trimmed() -> None:
    assert credential(request(authorization="bEaReR   jwt  "), ACCESS, Source.HEADER) == "jwt"


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Bearerjwt"])
def test_an_authorization_header_of_another_scheme_leaves_the_cookie_to_answer(
    authorization: str,
) -> None:
    both = request(authorization=authorization, cookie="access_token=cookie-jwt")

    assert credential(both, ACCESS, Source.HEADER) is None
    assert credential(both, ACCESS, Source.COOKIE) == "cookie-jwt"


@pytest.mark.parametrize(
    ("kind", "error"), [(ACCESS, AccessTokenInvalid), (REFRESH, RefreshTokenInvalid)]
)
@pytest.mark.parametrize("source", list(Source))
def test_a_bearer_header_without_token_is_invalid_from_either_source(
    kind: Credential, error: type[ServiceError], source: Source
) -> None:
    empty = request(authorization="Bearer  ", cookie=f"{kind.cookie}=cookie-jwt")

    with pytest.raises(error):
        credential(empty, kind, source)


def test_no_credential_anywhere_is_none_from_both_sources() -> None:
    for kind in (ACCESS, REFRESH, STEP_UP, TWO_FACTOR):
        for source in Source:
            assert credential(request(), kind, source) is None


def test_an_empty_cookie_is_no_cookie() -> None:
    assert credential(request(cookie="refresh_token="), REFRESH, Source.COOKIE) is None


def test_a_malformed_cookie_does_not_hide_the_others() -> None:
    messy = request(cookie='junk; =x; a="b; access_token=jwt; other=1')

    assert credential(messy, ACCESS, Source.COOKIE) == "jwt"


def test_header_names_are_case_insensitive() -> None:
    lower = request(**{"x_two_factor_authentication_token": "pending"})

    assert credential(lower, TWO_FACTOR, Source.HEADER) == "pending"


def test_sent_prefers_the_header_and_falls_back_to_the_cookie() -> None:
    assert sent(request(x_step_up_token="h", cookie="step_up_token=c"), STEP_UP) == "h"
    assert sent(request(cookie="step_up_token=c"), STEP_UP) == "c"
    assert sent(request(), STEP_UP) is None


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": "Bearer jwt"},
        {"authorization": "Bearer"},  # unusable, but offered: and no error while answering a 401
        {"authorization": "bearerjwt"},
        {"cookie": "access_token=jwt"},
        {"authorization": "Basic dXNlcjpwYXNz", "cookie": "access_token=jwt"},
    ],
)
def test_an_access_credential_is_offered_valid_or_not(headers: dict[str, str]) -> None:
    assert offered(request(**headers), ACCESS)


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": "Basic dXNlcjpwYXNz"}, {"cookie": "access_token="}]
)
def test_no_access_credential_is_offered(headers: dict[str, str]) -> None:
    assert not offered(request(**headers), ACCESS)


def test_a_raw_header_is_offered_even_blank() -> None:
    assert offered(request(x_step_up_token=""), STEP_UP)
    assert not offered(request(), STEP_UP)
