"""The security functions' conventions on top of the precedence rule: ``None`` lets the next
alternative answer, a step-up function reports a step-up token missing from both places, and the
access token is checked against the allowlist once per request."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from connexion.lifecycle import ConnexionRequest

from handlers import security
from handlers._http.web import SERVICES_KEY
from twofactor.errors import AccessTokenInvalid, StepUpTokenMissing
from twofactor.security.tokens import AccessClaims, StepUpClaims

MOMENT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ACCESS = AccessClaims(sub="u1", sid="s1", jti="a1", roles=("user",), expires_at=MOMENT)
STEP_UP = StepUpClaims(sub="u1", sid="s1", jti="s1", amr=("pwd",), generation=0, expires_at=MOMENT)


class FakeServices:
    """Tokens named ``good*`` verify; the allowlist reads are counted."""

    def __init__(self) -> None:
        self.allowlist_reads = 0
        self.verifications = 0
        self.tokens = SimpleNamespace(
            verify_access=lambda token: self._verify(token, ACCESS),
            verify_step_up=lambda token: self._verify(token, STEP_UP),
        )
        self.sessions = SimpleNamespace(require_listed=self._require_listed)

    def _verify(self, token: str, claims: Any) -> Any:
        self.verifications += 1
        if not token.startswith("good"):
            raise AccessTokenInvalid()
        return claims

    def _require_listed(self, claims: AccessClaims) -> None:
        self.allowlist_reads += 1


def request(services: FakeServices, **headers: str) -> ConnexionRequest:
    raw = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    scope = {"type": "http", "method": "GET", "path": "/", "headers": raw, SERVICES_KEY: services}
    return ConnexionRequest(scope)


@pytest.mark.parametrize("function", [security.step_up_from_header, security.step_up_from_cookie])
def test_a_step_up_token_in_neither_place_is_reported_missing(function: Any) -> None:
    with pytest.raises(StepUpTokenMissing):
        function(request(FakeServices()))


def test_the_step_up_header_function_leaves_a_cookie_to_the_cookie_function() -> None:
    cookie_only = request(FakeServices(), cookie="step_up_token=good-cookie")

    assert security.step_up_from_header(cookie_only) is None
    assert security.step_up_from_cookie(cookie_only) == {"sub": "u1", "step_up": STEP_UP}


def test_an_invalid_step_up_header_fails_even_next_to_a_valid_cookie() -> None:
    both = request(FakeServices(), x_step_up_token="forged", cookie="step_up_token=good-cookie")

    assert security.step_up_from_cookie(both) is None
    with pytest.raises(AccessTokenInvalid):
        security.step_up_from_header(both)


def test_an_absent_two_factor_token_is_no_error() -> None:
    assert security.two_factor_from_header(request(FakeServices())) is None
    assert security.two_factor_from_cookie(request(FakeServices())) is None


def test_the_allowlist_is_read_once_per_request() -> None:
    services = FakeServices()
    one = request(services, authorization="Bearer good-jwt")

    async def alternatives() -> list[Any]:
        return [
            await security.access_from_bearer(one),
            await security.access_from_cookie(one),
            await security.access_from_bearer(one),
        ]

    verified = {"sub": "u1", "access": ACCESS, "device": None}
    assert asyncio.run(alternatives()) == [verified, None, verified]
    assert services.allowlist_reads == 1
    assert services.verifications == 1


def test_a_failed_access_check_fails_the_same_way_in_every_alternative() -> None:
    services = FakeServices()
    one = request(services, cookie="access_token=revoked")

    async def twice() -> None:
        for _ in range(2):
            with pytest.raises(AccessTokenInvalid):
                await security.access_from_cookie(one)
        assert await security.access_from_bearer(one) is None

    asyncio.run(twice())
    assert services.verifications == 1
