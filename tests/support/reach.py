"""One request per operation that gets past its credential checks to the account behind it.

The per-operation tests (a deleted principal, a corrupted document, a stopped database, an
exhausted budget, ...) send each operation the request that reaches the stored principal, with
every credential valid and a body of the right shape, so the fault under test is the only thing
wrong. ``Reached`` holds what such requests need: an account with TOTP and email codes enabled,
its access, step-up and refresh tokens, and the pending 2FA tokens its password sign-in and
password step-up were answered with.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2

from tests.support.api import PASSWORD, Account, Api

TWO_FACTOR_HEADER = "X-Two-Factor-Authentication-Token"


@dataclass(frozen=True)
class Reached:
    """An account with both second factors, and every token an operation may need."""

    account: Account
    #: The pending token of a password sign-in (for the 2FA sign-in and recovery).
    sign_in_challenge: str
    #: The pending token of a password step-up (for the 2FA step-up).
    step_up_challenge: str

    @classmethod
    def prepare(cls, api: Api) -> Reached:
        account = api.account(("totp", "email"))
        sign_in = api.http.post("/auth/login", json={"email": account.email, "password": PASSWORD})
        step_up = api.http.post(
            "/auth/step-up", json={"password": PASSWORD}, headers=account.headers(step_up=False)
        )
        for challenge in (sign_in, step_up):
            assert challenge.status_code == 200, challenge.text
            assert challenge.json()["twoFactorRequired"] is True, challenge.text
        return cls(account, sign_in.json()["twoFactorToken"], step_up.json()["twoFactorToken"])


Headers = dict[str, str]


@dataclass(frozen=True)
class Operation:
    """How to send one operation a request that reaches the account of a ``Reached``."""

    operation_id: str
    method: str
    path: str
    #: The credentials the request carries.
    headers: Callable[[Reached], Headers]
    #: A body of the right shape (``None``: no body).
    body: Callable[[Reached], Any] = lambda _: None

    def send(self, api: Api, reached: Reached, headers: Headers | None = None) -> httpx2.Response:
        """The request, with ``headers`` in place of the operation's own credentials if given."""
        sent = self.headers(reached) if headers is None else headers
        body = self.body(reached)
        if body is None:
            return api.http.request(self.method, self.path, headers=sent)
        return api.http.request(self.method, self.path, headers=sent, json=body)

    def __str__(self) -> str:
        return self.operation_id.removeprefix("handlers.")

    @property
    def behind_an_access_token(self) -> bool:
        return self.headers in (_access, _access_and_step_up, _step_up_challenge)


def _access(reached: Reached) -> Headers:
    return reached.account.headers(step_up=False)


def _access_and_step_up(reached: Reached) -> Headers:
    return reached.account.headers()


def _sign_in_challenge(reached: Reached) -> Headers:
    return {TWO_FACTOR_HEADER: reached.sign_in_challenge}


def _step_up_challenge(reached: Reached) -> Headers:
    return _access(reached) | {TWO_FACTOR_HEADER: reached.step_up_challenge}


def _new_registration(_: Reached) -> dict[str, str]:
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    return {"email": email, "password": PASSWORD, "name": "Grace Hopper"}


#: Every operation that reads or writes a principal, by ``operationId``.
OPERATIONS = {
    operation.operation_id: operation
    for operation in (
        Operation(
            "handlers.auth.login",
            "POST",
            "/auth/login",
            lambda _: {},
            lambda r: {"email": r.account.email, "password": PASSWORD},
        ),
        Operation("handlers.auth.logout", "POST", "/auth/logout", _access),
        Operation(
            "handlers.auth.refresh",
            "POST",
            "/auth/refresh",
            lambda r: {"Authorization": f"Bearer {r.account.refresh_token}"},
        ),
        Operation(
            "handlers.auth.register", "POST", "/auth/register", lambda _: {}, _new_registration
        ),
        Operation("handlers.auth.status", "GET", "/auth/status", _access),
        Operation(
            "handlers.auth.step_up",
            "POST",
            "/auth/step-up",
            _access,
            lambda _: {"password": PASSWORD},
        ),
        Operation("handlers.email_2fa.send_code", "POST", "/auth/2fa/email/send", _access),
        Operation(
            "handlers.email_2fa.enable",
            "POST",
            "/auth/2fa/email/enable",
            _access_and_step_up,
            lambda _: {"code": "123456"},
        ),
        Operation("handlers.email_2fa.disable", "DELETE", "/auth/2fa/email", _access_and_step_up),
        Operation(
            "handlers.guests.create_guest",
            "POST",
            "/guests",
            lambda _: {},
            lambda _: {"name": "Guest"},
        ),
        Operation("handlers.totp.begin_setup", "GET", "/auth/2fa/totp/setup", _access_and_step_up),
        Operation(
            "handlers.totp.confirm_setup",
            "POST",
            "/auth/2fa/totp/setup",
            _access_and_step_up,
            lambda _: {"token": "not.a.token", "code": "123456"},
        ),
        Operation("handlers.totp.disable_totp", "DELETE", "/auth/2fa/totp", _access_and_step_up),
        Operation(
            "handlers.totp.recover",
            "POST",
            "/auth/2fa/totp/recover",
            _sign_in_challenge,
            lambda _: {"code": "abcde-12345"},
        ),
        Operation(
            "handlers.two_factor.login_with_second_factor",
            "POST",
            "/auth/2fa/login",
            _sign_in_challenge,
            lambda _: {"totp": "123456"},
        ),
        Operation(
            "handlers.two_factor.set_preferred_method",
            "POST",
            "/auth/2fa/preferred-method",
            _access_and_step_up,
            lambda _: {"method": "email"},
        ),
        Operation(
            "handlers.two_factor.step_up_with_second_factor",
            "POST",
            "/auth/2fa/step-up",
            _step_up_challenge,
            lambda _: {"totp": "123456"},
        ),
        Operation("handlers.users.get_me", "GET", "/users/me", _access),
    )
}


def operations(*operation_ids: str) -> list[Operation]:
    return [OPERATIONS[f"handlers.{operation_id}"] for operation_id in operation_ids]
