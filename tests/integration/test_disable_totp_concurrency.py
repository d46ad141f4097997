"""Races on the second factors: whatever the interleaving, a user never ends with zero methods,
a change is never applied twice, and every applied change has exactly one alert queued."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tests.support.api import Account, Api
from twofactor.domain.alerts import AlertKind, SecurityEvent
from twofactor.domain.guard import SecurityChangeRequest
from twofactor.domain.model import ChangeOrigin, RequestInfo, TwoFactorMethod
from twofactor.domain.services import Services
from twofactor.errors import ServiceError
from twofactor.store.principals import PrincipalStore
from twofactor.wiring import build_runtime

ROUNDS = 15


@dataclass
class Session:
    access_token: str
    step_up_token: str

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.access_token}",
            "X-Step-Up-Token": self.step_up_token,
        }


def user_with_two_sessions(api: Api) -> tuple[Account, Session, Session]:
    """Two sign-ins of one user, each with its own step-up token, then TOTP and email on."""
    account = api.account()
    second_login = api.login(account.email)
    second = Session(second_login["accessToken"], api.step_up(second_login["accessToken"]))
    api.enable_methods(account.id, ("totp", "email"))
    return account, Session(account.access_token, account.step_up_token), second


@pytest.fixture(scope="module")
def api(live_api: Api) -> Api:
    """The races go through a real server: uvicorn on a loopback socket, as in production."""
    return live_api


@pytest.fixture
def domain(api: Api) -> Iterator[Services]:
    """The domain services on the same database, to race the HTTP API with a direct call."""
    runtime = build_runtime(api.settings, api.clock, passwords=api.passwords)
    yield runtime.services
    runtime.close()


def race(*actions: Callable[[], str]) -> list[str]:
    barrier = threading.Barrier(len(actions))

    def lined_up(action: Callable[[], str]) -> str:
        barrier.wait()
        return action()

    with ThreadPoolExecutor(len(actions)) as pool:
        return list(pool.map(lined_up, actions))


def http_disable(api: Api, session: Session) -> Callable[[], str]:
    def action() -> str:
        response = api.http.delete("/auth/2fa/totp", headers=session.headers())
        if response.status_code in (200, 304):
            return str(response.status_code)
        return f"{response.status_code} {response.json()['code']}"

    return action


def domain_disable_email(domain: Services, session: Session) -> Callable[[], str]:
    def action() -> str:
        change = SecurityChangeRequest(
            access=domain.tokens.verify_access(session.access_token),
            step_up=domain.tokens.verify_step_up(session.step_up_token),
            request=RequestInfo(ip="127.0.0.1", user_agent="race"),
        )
        try:
            domain.second_factors.disable(TwoFactorMethod.EMAIL, change)
        except ServiceError as error:
            return f"{error.status} {error.code}"
        return "200"

    return action


def test_two_parallel_totp_disables_apply_once(api: Api) -> None:
    outcomes: Counter[str] = Counter()
    for _ in range(ROUNDS):
        account, first, second = user_with_two_sessions(api)

        results = race(http_disable(api, first), http_disable(api, second))

        outcomes.update(results)
        assert results.count("200") == 1, results
        assert set(results) <= {"200", "304", "401 STEP_UP_TOKEN_INVALID"}, results
        document = api.document(account.id)
        assert document["twoFactor"]["methods"] == ["email"]
        assert len(document["alertOutbox"]) == 1
        assert len(document["securityEvents"]) == 1
    assert outcomes["200"] == ROUNDS


def test_disabling_totp_and_email_in_parallel_never_leaves_zero_methods(
    api: Api, domain: Services
) -> None:
    outcomes: Counter[str] = Counter()
    for _ in range(ROUNDS):
        account, first, second = user_with_two_sessions(api)

        results = race(http_disable(api, first), domain_disable_email(domain, second))

        outcomes.update(results)
        assert results.count("200") == 1, results
        document = api.document(account.id)
        assert len(document["twoFactor"]["methods"]) == 1
        assert document["twoFactor"]["preferred"] == document["twoFactor"]["methods"][0]
        assert len(document["alertOutbox"]) == 1
    assert outcomes["200"] == ROUNDS


def test_a_change_made_after_the_guard_read_makes_the_write_miss(
    api: Api, domain: Services
) -> None:
    account = api.account(("totp", "email"))
    principal = domain.accounts.require(account.id)
    # Another writer turns email off behind the reader's back.
    api.enable_methods(account.id, ("totp",))

    store = PrincipalStore(api.principals, api.cipher)
    origin = ChangeOrigin(session_id=account.session_id, request=RequestInfo(None, None))
    now = api.clock.now()
    event = SecurityEvent(AlertKind.TWO_FACTOR_REMOVED, TwoFactorMethod.TOTP, origin, now)
    applied = store.remove_method(principal, TwoFactorMethod.TOTP, event=event, alert=None, now=now)

    assert applied is None
    assert api.document(account.id)["twoFactor"]["methods"] == ["totp"]
