"""Throttling through the real app over a real database: floods of registrations and guests,
the security-change budget of the core operation, sign-in from a shared address, and budgets
shared by the processes of a server started with two workers. Budgets are made small through
settings, so a handful of requests reaches them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx2

from tests.support.api import PASSWORD, Api
from tests.support.secantus import free_port
from twofactor.config import VARIABLES, Settings, settings_to_environ
from twofactor.domain.throttle import Budget

HOUR = timedelta(hours=1)
SERVE = [sys.executable, "-m", "twofactor", "serve"]
#: Left out of the servers' inherited environment: their settings are the test's.
_SERVICE_VARIABLES = {variable.name for variable in VARIABLES}


def assert_throttled(response: httpx2.Response, code: str, window: timedelta) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= window.total_seconds()


def registration(email: str | None = None) -> dict[str, str]:
    email = email or f"user-{uuid.uuid4().hex[:12]}@example.com"
    return {"email": email, "password": PASSWORD, "name": "Flood"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Registration and guests ------------------------------------------------------------------------


def test_a_registration_flood_is_refused_with_retry_after_and_stores_nothing_more(
    start_api: Callable[..., Api],
) -> None:
    api = start_api(throttle_register_per_address=Budget(3, HOUR))
    taken = registration()

    answers = [api.http.post("/auth/register", json=taken).status_code for _ in range(2)]
    answers.append(api.http.post("/auth/register", json=registration()).status_code)
    flood = [api.http.post("/auth/register", json=registration()) for _ in range(5)]

    assert answers == [201, 409, 201]  # a taken address counts too
    for response in flood:
        assert_throttled(response, "TOO_MANY_REQUESTS", HOUR)
    assert api.principals.count_documents({}) == 2


def test_a_guest_flood_is_refused_with_retry_after_and_creates_nothing_more(
    start_api: Callable[..., Api],
) -> None:
    api = start_api(throttle_guests_per_address=Budget(2, HOUR))

    created = [api.http.post("/guests", json={"name": "Visitor"}) for _ in range(2)]
    flood = [api.http.post("/guests", json={"name": "Visitor"}) for _ in range(4)]

    assert [response.status_code for response in created] == [201, 201]
    for response in flood:
        assert_throttled(response, "TOO_MANY_REQUESTS", HOUR)
        assert "set-cookie" not in response.headers
    assert api.principals.count_documents({}) == 2
    assert api.db["sessions"].count_documents({}) == 2


def test_the_registration_budget_opens_again_when_its_window_ends(
    start_api: Callable[..., Api],
) -> None:
    api = start_api(throttle_register_per_address=Budget(1, HOUR))
    assert api.http.post("/auth/register", json=registration()).status_code == 201
    assert api.http.post("/auth/register", json=registration()).status_code == 429

    api.clock.advance(HOUR.total_seconds())

    assert api.http.post("/auth/register", json=registration()).status_code == 201


# The core operation -----------------------------------------------------------------------------


def test_disable_totp_beyond_the_users_budget_of_security_changes_is_429(
    start_api: Callable[..., Api],
) -> None:
    api = start_api(throttle_security_changes_per_user=Budget(2, HOUR))
    account = api.account(("totp", "email"))
    other = api.account(("totp", "email"))

    # Two requests behind the step-up token that change nothing but count (TOTP is on already).
    answers = [
        api.http.get("/auth/2fa/totp/setup", headers=account.headers()).status_code
        for _ in range(2)
    ]
    refused = api.http.delete("/auth/2fa/totp", headers=account.headers())

    assert answers == [304, 304], answers
    assert_throttled(refused, "TOO_MANY_REQUESTS", HOUR)
    assert refused.json()["instance"] == "/api/auth/2fa/totp"
    assert api.document(account.id)["twoFactor"]["methods"] == ["totp", "email"]
    # The budget is the user's: another user is counted apart.
    assert api.http.delete("/auth/2fa/totp", headers=other.headers()).status_code == 200


def test_disable_totp_answers_that_change_nothing_spend_no_budget(
    start_api: Callable[..., Api],
) -> None:
    # DELETE counts on the budget only once a change is about to be written: 304 and 400
    # answers change nothing, send no alert and cost no write.
    api = start_api(throttle_security_changes_per_user=Budget(1, HOUR))
    without_totp = api.account(("email",))
    totp_only = api.account(("totp",))

    not_modified = [
        api.http.delete("/auth/2fa/totp", headers=without_totp.headers()).status_code
        for _ in range(3)
    ]
    only_method = [
        api.http.delete("/auth/2fa/totp", headers=totp_only.headers()).status_code for _ in range(3)
    ]

    assert not_modified == [304, 304, 304]
    assert only_method == [400, 400, 400]
    # The one unit of each budget is still there for a request that counts (preferring a
    # method that is not enabled: 400, counted, nothing written).
    for account, disabled in ((without_totp, "totp"), (totp_only, "email")):
        preferred = api.http.post(
            "/auth/2fa/preferred-method", json={"method": disabled}, headers=account.headers()
        )
        assert preferred.status_code == 400, preferred.text
        again = api.http.post(
            "/auth/2fa/preferred-method", json={"method": disabled}, headers=account.headers()
        )
        assert_throttled(again, "TOO_MANY_REQUESTS", HOUR)


def test_requests_without_the_users_credentials_do_not_spend_the_users_budget(
    start_api: Callable[..., Api],
) -> None:
    api = start_api(throttle_security_changes_per_user=Budget(1, HOUR))
    account = api.account(("totp", "email"))
    stranger = api.account()
    forged = {**account.headers(step_up=False), "X-Step-Up-Token": stranger.step_up_token}

    attempts = [
        api.http.delete("/auth/2fa/totp", headers=account.headers(step_up=False)),
        api.http.delete("/auth/2fa/totp", headers=forged),
        api.http.delete("/auth/2fa/totp", headers={"X-Step-Up-Token": account.step_up_token}),
    ] * 3

    assert {response.status_code for response in attempts} == {401}
    disabled = api.http.delete("/auth/2fa/totp", headers=account.headers())
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["twoFactorMethods"] == ["email"]


# Sign-in from a shared address ------------------------------------------------------------------


def test_wrong_passwords_for_many_accounts_do_not_lock_out_an_untouched_account(
    start_api: Callable[..., Api],
) -> None:
    api = start_api(throttle_login_per_address=Budget(3, timedelta(minutes=15)))
    _, ada = api.register()
    _, bob = api.register()
    for number in range(3):
        wrong = {"email": f"nobody{number}@example.com", "password": "nope"}
        assert api.http.post("/auth/login", json=wrong).status_code == 401

    signed_in = api.http.post("/auth/login", json={"email": ada, "password": PASSWORD})
    guessed = api.http.post("/auth/login", json={"email": bob, "password": "nope"})
    again = api.http.post("/auth/login", json={"email": bob, "password": PASSWORD})

    assert signed_in.status_code == 200
    assert_throttled(guessed, "TOO_MANY_ATTEMPTS", timedelta(minutes=15))
    assert_throttled(again, "TOO_MANY_ATTEMPTS", timedelta(minutes=15))


# Shared by the processes of a server ------------------------------------------------------------


@contextmanager
def serving(base_settings: Settings, workers: int, **changes: Any) -> Iterator[str]:
    """``twofactor-api serve --workers N`` over the test database with ``changes`` to its
    settings; the URL of its API while it runs."""
    settings = replace(base_settings, mongodb_database=f"test_{uuid.uuid4().hex[:10]}", **changes)
    port = free_port()
    environ = {key: value for key, value in os.environ.items() if key not in _SERVICE_VARIABLES}
    environ |= settings_to_environ(settings)
    process = subprocess.Popen(
        [*SERVE, "--port", str(port), "--workers", str(workers)],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "the server stopped"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if httpx2.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        _, log = process.communicate(timeout=30)
        assert b"Traceback" not in log, log.decode(errors="replace")


def register_from(url: str, forwarded_for: str) -> httpx2.Response:
    # A new connection each time, so that every worker takes some of the requests.
    with httpx2.Client(timeout=30) as client:
        return client.post(
            url + "/auth/register",
            json=registration(),
            headers={"X-Forwarded-For": forwarded_for},
        )


def test_the_registration_budget_is_shared_by_the_workers_of_a_server(
    base_settings: Settings,
) -> None:
    with (
        serving(base_settings, 2, throttle_register_per_address=Budget(3, HOUR)) as url,
        ThreadPoolExecutor(max_workers=4) as pool,
    ):
        # Without TRUSTED_PROXIES a forged X-Forwarded-For gives no bucket of its own.
        answers = list(pool.map(lambda n: register_from(url, f"198.51.100.{n}"), range(12)))

    statuses = sorted(response.status_code for response in answers)
    assert statuses == [201] * 3 + [429] * 9
    for response in answers:
        if response.status_code == 429:
            assert_throttled(response, "TOO_MANY_REQUESTS", HOUR)


def test_behind_a_trusted_proxy_the_forwarded_client_address_keys_the_budget(
    base_settings: Settings,
) -> None:
    with serving(
        base_settings,
        1,
        throttle_register_per_address=Budget(1, HOUR),
        trusted_proxies="127.0.0.1",
    ) as url:
        first = register_from(url, "198.51.100.1")
        second = register_from(url, "198.51.100.2")
        again = register_from(url, "198.51.100.1")

    assert (first.status_code, second.status_code) == (201, 201)
    assert_throttled(again, "TOO_MANY_REQUESTS", HOUR)


def test_a_burst_of_step_up_guesses_across_workers_checks_no_more_passwords_than_the_budget(
    base_settings: Settings,
) -> None:
    budget = Budget(5, timedelta(minutes=15))
    with (
        serving(base_settings, 2, throttle_step_up_per_user=budget) as url,
        ThreadPoolExecutor(max_workers=12) as pool,
    ):
        email = registration()["email"]
        assert httpx2.post(url + "/auth/register", json=registration(email)).status_code == 201
        signed_in = httpx2.post(url + "/auth/login", json={"email": email, "password": PASSWORD})
        access = bearer(signed_in.json()["accessToken"])

        def step_up(password: str) -> httpx2.Response:
            # A connection each, so that both workers take some of the burst.
            with httpx2.Client(timeout=60) as client:
                return client.post(
                    url + "/auth/step-up", json={"password": password}, headers=access
                )

        burst = list(pool.map(step_up, ["not the password"] * 12))
        afterwards = step_up(PASSWORD)

    # Every attempt is counted before its password is checked, so the burst cannot get more
    # guesses checked than the budget, however its requests interleave.
    assert sorted(r.status_code for r in burst) == [401] * budget.limit + [429] * 7
    for response in burst:
        if response.status_code == 429:
            assert_throttled(response, "TOO_MANY_ATTEMPTS", budget.window)
    assert_throttled(afterwards, "TOO_MANY_ATTEMPTS", budget.window)
