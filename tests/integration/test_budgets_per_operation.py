"""The security-change budget on every operation that spends it, and the budget of setup codes:
exhausted by real requests under small configured budgets, each refusal a 429 with
``Retry-After`` that changes nothing (``test_throttling.py`` covers sign-in and the rest)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import httpx2
import pytest

from tests.support.api import Account, Api
from twofactor.config import Settings
from twofactor.domain.throttle import Budget

HOUR = timedelta(hours=1)
#: Each security change (and each look at a new TOTP setup) spends one unit of this budget.
SETUP = "/auth/2fa/totp/setup"


@pytest.fixture(scope="module")
def tight(base_settings: Settings) -> Iterator[Api]:
    """One security change and one wrong setup code per user and hour."""
    settings = replace(
        base_settings,
        mongodb_database=f"test_{uuid.uuid4().hex[:10]}",
        throttle_security_changes_per_user=Budget(1, HOUR),
        throttle_two_factor_codes_per_user=Budget(1, HOUR),
    )
    running = Api(settings).start()
    yield running
    running.stop()


def assert_throttled(response: httpx2.Response, code: str) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == code
    assert 0 < int(response.headers["Retry-After"]) <= HOUR.total_seconds()


def methods(api: Api, account: Account) -> list[str]:
    return sorted(api.document(account.id)["twoFactor"]["methods"])


@pytest.mark.parametrize(
    ("methods_on", "method", "path", "body"),
    [
        (("email",), "GET", SETUP, None),
        (("email",), "POST", SETUP, {"token": "not.a.token", "code": "123456"}),
        ((), "POST", "/auth/2fa/email/enable", {"code": "123456"}),
        (("totp", "email"), "DELETE", "/auth/2fa/email", None),
    ],
)
def test_a_security_change_over_the_users_budget_returns_429_and_changes_nothing(
    tight: Api, methods_on: tuple[str, ...], method: str, path: str, body: dict[str, str] | None
) -> None:
    account = tight.account(methods_on)
    # A look at a TOTP setup spends the one change of the hour, whatever it answers (200, or
    # 304 with TOTP on): it stores nothing and keeps the step-up token.
    assert tight.http.get(SETUP, headers=account.headers()).status_code in (200, 304)

    response = tight.http.request(method, path, headers=account.headers(), json=body)

    assert_throttled(response, "TOO_MANY_REQUESTS")
    assert methods(tight, account) == sorted(methods_on)


def test_wrong_setup_codes_over_the_users_budget_return_429_too_many_attempts(
    base_settings: Settings,
) -> None:
    # One wrong code an hour, and changes enough for each attempt to be one.
    settings = replace(
        base_settings,
        mongodb_database=f"test_{uuid.uuid4().hex[:10]}",
        throttle_two_factor_codes_per_user=Budget(1, HOUR),
    )
    api = Api(settings).start()
    try:
        account = api.account()
        setup = api.http.get(SETUP, headers=account.headers()).json()

        def confirm() -> httpx2.Response:
            body = {"token": setup["token"], "code": "000000"}
            return api.http.post(SETUP, headers=account.headers(), json=body)

        assert confirm().json()["code"] == "INVALID_TWO_FACTOR_CODE"
        assert_throttled(confirm(), "TOO_MANY_ATTEMPTS")
        assert methods(api, account) == []
    finally:
        api.stop()
