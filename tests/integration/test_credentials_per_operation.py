"""The credential answers of the check order, on every operation that takes the credential (the
core operation has its own, fuller tests): a revoked access token, a missing step-up token and
an expired one. Each is its real cause: a logout, no header, the clock past the step-up token's
lifetime. Nothing changes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx2
import pytest

from tests.support.api import Account, Api
from tests.support.reach import TWO_FACTOR_HEADER, Operation, Reached, operations
from twofactor.config import Settings
from twofactor.security.tokens import TWO_FACTOR_TOKEN_TTL

#: (method, path, a body of the right shape) of each operation behind an access token.
ACCESS_OPERATIONS = [
    ("POST", "/auth/step-up", {"password": "not checked"}),
    ("POST", "/auth/2fa/email/send", None),
    ("POST", "/auth/2fa/step-up", {"totp": "123456"}),
]
#: ... and of each one behind a step-up token too.
STEP_UP_OPERATIONS = [
    ("GET", "/auth/2fa/totp/setup", None),
    ("POST", "/auth/2fa/totp/setup", {"token": "not checked", "code": "123456"}),
    ("POST", "/auth/2fa/email/enable", {"code": "123456"}),
    ("DELETE", "/auth/2fa/email", None),
    ("POST", "/auth/2fa/preferred-method", {"method": "email"}),
]


@pytest.fixture(scope="module")
def own_clock_api(base_settings: Settings) -> Iterator[Api]:
    """An app of this module's own: its clock moves past step-up lifetimes."""
    settings = replace(base_settings, mongodb_database=f"test_{uuid.uuid4().hex[:10]}")
    running = Api(settings).start()
    yield running
    running.stop()


def send(api: Api, method: str, path: str, body: Any, headers: dict[str, str]) -> httpx2.Response:
    if body is None:
        return api.http.request(method, path, headers=headers)
    return api.http.request(method, path, headers=headers, json=body)


def problem_code(response: httpx2.Response) -> tuple[int, str]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response.status_code, response.json()["code"]


@pytest.mark.parametrize(("method", "path", "body"), ACCESS_OPERATIONS + STEP_UP_OPERATIONS)
def test_an_access_token_of_a_session_that_logged_out_returns_401_expired(
    own_clock_api: Api, method: str, path: str, body: Any
) -> None:
    account = own_clock_api.account(("totp", "email"))
    logout = own_clock_api.http.post("/auth/logout", headers=account.headers(step_up=False))
    assert logout.status_code == 204

    response = send(own_clock_api, method, path, body, account.headers())

    assert problem_code(response) == (401, "ACCESS_TOKEN_EXPIRED")
    assert methods(own_clock_api, account) == ["email", "totp"]


@pytest.mark.parametrize(("method", "path", "body"), STEP_UP_OPERATIONS)
def test_a_security_operation_without_a_step_up_token_returns_401_missing(
    own_clock_api: Api, method: str, path: str, body: Any
) -> None:
    account = own_clock_api.account(("totp", "email"))

    response = send(own_clock_api, method, path, body, account.headers(step_up=False))

    assert problem_code(response) == (401, "STEP_UP_TOKEN_MISSING")
    assert methods(own_clock_api, account) == ["email", "totp"]


@pytest.mark.parametrize(("method", "path", "body"), STEP_UP_OPERATIONS)
def test_a_security_operation_with_an_expired_step_up_token_returns_401_expired(
    own_clock_api: Api, method: str, path: str, body: Any
) -> None:
    account = own_clock_api.account(("totp", "email"))
    # Past the step-up token's lifetime, well within the access token's.
    own_clock_api.clock.advance(own_clock_api.settings.step_up_token_ttl + 1)

    response = send(own_clock_api, method, path, body, account.headers())

    assert problem_code(response) == (401, "STEP_UP_TOKEN_EXPIRED")
    assert methods(own_clock_api, account) == ["email", "totp"]


@pytest.mark.parametrize(
    "operation",
    operations(
        "email_2fa.send_code",
        "totp.recover",
        "two_factor.login_with_second_factor",
        "two_factor.step_up_with_second_factor",
    ),
    ids=str,
)
def test_a_pending_2fa_token_past_its_lifetime_returns_401_expired(
    own_clock_api: Api, operation: Operation
) -> None:
    reached = Reached.prepare(own_clock_api)
    own_clock_api.clock.advance(TWO_FACTOR_TOKEN_TTL + 1)
    # The pending token alone where it is an alternative to the access token.
    headers = operation.headers(reached)
    if operation.operation_id == "handlers.email_2fa.send_code":
        headers = {TWO_FACTOR_HEADER: reached.sign_in_challenge}

    response = operation.send(own_clock_api, reached, headers)

    assert problem_code(response) == (401, "TWO_FACTOR_TOKEN_EXPIRED")
    assert methods(own_clock_api, reached.account) == ["email", "totp"]


def test_a_2fa_step_up_with_an_undecodable_access_token_returns_401_invalid(
    own_clock_api: Api,
) -> None:
    reached = Reached.prepare(own_clock_api)
    operation = operations("two_factor.step_up_with_second_factor")[0]
    headers = operation.headers(reached) | {"Authorization": "Bearer not.a.token"}

    response = operation.send(own_clock_api, reached, headers)

    assert problem_code(response) == (401, "ACCESS_TOKEN_INVALID")


def methods(api: Api, account: Account) -> list[str]:
    return sorted(api.document(account.id)["twoFactor"]["methods"])
