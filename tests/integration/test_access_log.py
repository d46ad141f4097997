"""The logs as ``serve`` writes them (``LOG_FORMAT=json``): one JSON access line per request with
its outcome, and not one token, password, code, secret or email address anywhere in the
output, app logs included, after every flow that carries them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.test_second_factors import User, bearer, next_totp
from tests.support.api import PASSWORD, Api
from tests.support.smtp import SmtpSink
from twofactor.logs import configure_logging


class Output:
    """What the service's log handler wrote, read from where the last read stopped."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self._read = 0

    def read(self) -> str:
        text = self.stream.getvalue()[self._read :]
        self._read += len(text)
        return text


@pytest.fixture
def served_logs() -> Iterator[Output]:
    """Logging set up as in ``serve``, its handler writing to a buffer instead of stderr; the
    previous set-up restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    # The test's own tools log too: the SMTP sink every command it receives (addresses
    # included), the HTTP client every URL. They are not the service: keep them out.
    quiet = [logging.getLogger(name) for name in ("mail.log", "httpx2", "httpx", "httpcore")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.WARNING)
    configure_logging("json")
    output = Output()
    [handler] = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(output.stream)
    yield output
    root.handlers[:] = handlers
    root.setLevel(level)
    for logger, previous in zip(quiet, levels, strict=True):
        logger.setLevel(previous)


def lines(logs: Output) -> list[dict[str, Any]]:
    return [json.loads(line) for line in logs.read().splitlines()]


def access(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [record for record in records if record["logger"] == "twofactor.access"]


def test_each_request_is_one_json_line_with_its_outcome(api: Api, served_logs: Output) -> None:
    missing = api.http.get("/users/me?locale=de")
    served_logs.read()  # only what follows
    denied = api.http.get("/users/me?locale=de")
    unknown = api.http.get("/no/such/path")

    denied_line, unknown_line = access(lines(served_logs))

    assert missing.status_code == denied.status_code == 401
    assert denied_line["requestId"] == denied.headers["x-request-id"]
    assert denied_line["level"] == "INFO"
    assert denied_line["method"] == "GET"
    assert denied_line["path"] == "/api/users/me"  # never the query string
    assert denied_line["operation"] == "handlers.users.get_me"
    assert denied_line["status"] == 401
    assert denied_line["code"] == "AUTHENTICATION_REQUIRED"
    assert denied_line["durationMs"] >= 0
    assert denied_line["client"]
    assert denied_line["timestamp"].endswith("Z")
    assert unknown.status_code == 404
    assert unknown_line["operation"] == "unmatched"
    assert unknown_line["code"] == "NOT_FOUND"


def test_a_304_logs_the_code_of_its_header(api: Api, served_logs: Output) -> None:
    account = api.account()
    served_logs.read()

    answer = api.http.delete("/auth/2fa/totp", headers=account.headers())

    [line] = access(lines(served_logs))
    assert answer.status_code == 304
    assert (line["status"], line["code"]) == (304, "TWO_FACTOR_METHOD_ALREADY_DISABLED")


def test_no_credential_code_secret_or_address_of_any_flow_reaches_the_logs(
    api: Api, smtp_sink: SmtpSink, served_logs: Output
) -> None:
    secrets: list[str] = [PASSWORD]
    user = User(api, smtp_sink)
    secrets += [user.email, user.access, user.step_up]
    assert user.set_up_totp().status_code == 200
    secrets += [user.secret, *user.recovery_codes, *user.used_codes]

    # A 2FA login, a refresh, an emailed code, a recovery, and what an attacker sends.
    challenge = api.http.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    pending = challenge.json()["twoFactorToken"]
    login = api.http.post(
        "/auth/2fa/login",
        json={"totp": next_totp(user.secret, api, user.used_codes)},
        headers={"X-Two-Factor-Authentication-Token": pending},
    ).json()
    refreshed = api.http.post("/auth/refresh", headers=bearer(login["refreshToken"])).json()
    secrets += [pending, login["accessToken"], login["refreshToken"], *refreshed.values()]
    secrets += [*user.used_codes, user.mailed_code(bearer(user.access), count=2)]
    again = api.http.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    recovered = api.http.post(
        "/auth/2fa/totp/recover",
        json={"code": user.recovery_codes[0]},
        headers={"X-Two-Factor-Authentication-Token": again.json()["twoFactorToken"]},
    )
    assert recovered.status_code == 200, recovered.text
    secrets += [again.json()["twoFactorToken"], *recovered.json().values()]
    wrong = "Wrong-Horse-Battery-Staple-7"
    bad = [
        api.http.post("/auth/login", json={"email": user.email, "password": wrong}),
        api.http.post(
            "/auth/register", json={"email": user.email, "password": "sh0rt!", "name": 1}
        ),
        api.http.get(f"/users/me?token={user.access}", headers={"Cookie": f"access_token={wrong}"}),
        api.http.post("/auth/step-up", json={"password": wrong}, headers=bearer(user.access)),
    ]
    secrets += [wrong, "sh0rt!"]

    output = served_logs.read()
    assert all(answer.status_code >= 400 for answer in bad)
    assert '"logger": "twofactor.access"' in output
    leaked = [
        value for value in secrets if isinstance(value, str) and len(value) >= 6 and value in output
    ]
    assert leaked == []
