"""Database commands per request, counted with pymongo command monitoring on the app's client.

The listener is registered on the real application's MongoClient through ``create_app``'s
``event_listeners`` (the service itself registers none), so every command a request sends to
the database is seen, as pymongo sends it: one ``started`` event per command. Counts are not
timings: they are exact, so they are asserted. The budgets are what each request may cost.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace

import httpx2
import pytest
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

from tests.integration.test_disable_totp import disable, methods_in_store
from tests.support.api import PASSWORD, Api
from tests.support.smtp import SmtpSink
from twofactor.config import Settings

_CONNECTION_COMMANDS = {"hello", "ismaster", "isMaster", "endSessions", "ping"}
#: A sign-in counts its three budgets in one write (each a conditional upsert), reads the
#: principal, settles the counters (one write), inserts the session and its access token and
#: marks the principal active. A step-up reads the allowlist and the principal and counts its
#: attempt in the principal document; a right password writes nothing more unless the principal
#: read showed failures to forget (``twofactor.domain.step_up_throttle``).
LOGIN_COMMANDS = 6
STEP_UP_COMMANDS = 3


class CommandLog(CommandListener):
    """Every command the app sends, in order, as ``"<command> <collection>"``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.commands: list[str] = []

    def started(self, event: CommandStartedEvent) -> None:
        if event.command_name in _CONNECTION_COMMANDS:
            return
        target = event.command.get(event.command_name)
        with self._lock:
            self.commands.append(f"{event.command_name} {target}")

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass

    def take(self) -> list[str]:
        with self._lock:
            taken, self.commands = self.commands, []
        return taken


@pytest.fixture(scope="module")
def counted(base_settings: Settings) -> Iterator[tuple[Api, CommandLog]]:
    log = CommandLog()
    settings = replace(base_settings, mongodb_database=f"test_{uuid.uuid4().hex[:10]}")
    running = Api(settings, event_listeners=[log]).start()
    yield running, log
    running.stop()


def counted_request(log: CommandLog, send: Callable[[], httpx2.Response]) -> list[str]:
    log.take()
    response = send()
    assert response.status_code < 500, response.text
    return log.take()


def test_disable_totp_answering_304_reads_twice_and_writes_nothing(
    counted: tuple[Api, CommandLog],
) -> None:
    api, log = counted
    account = api.account(("email",))

    commands = counted_request(log, lambda: disable(api, account.headers()))

    # The allowlist entry, the principal: no budget counted, nothing written.
    assert commands == ["find access_token_allowlist", "find principals"]


def test_disable_totp_answering_200_takes_four_commands_with_its_alert(
    counted: tuple[Api, CommandLog], smtp_sink: SmtpSink
) -> None:
    api, log = counted
    account = api.account(("totp", "email"))

    commands = counted_request(log, lambda: disable(api, account.headers()))

    # The change, the step-up consumption, the budget's count, the history and the alert queued
    # already claimed: one conditional write on the principal, which is not read again; then the
    # alert's outcome.
    assert commands == [
        "find access_token_allowlist",
        "find principals",
        "update principals",
        "update principals",
    ]
    assert "find sessions" not in commands
    assert methods_in_store(api, account) == ["email"]
    smtp_sink.wait_for(account.email)
    [entry] = api.document(account.id)["alertOutbox"]
    assert (entry["status"], entry["attempts"]) == ("sent", 1)


def test_disable_totp_with_an_access_token_listed_before_devices_were_kept_reads_the_session(
    counted: tuple[Api, CommandLog], smtp_sink: SmtpSink
) -> None:
    api, log = counted
    account = api.account(("totp", "email"))
    api.db["access_token_allowlist"].update_many(
        {"sessionId": account.session_id}, {"$unset": {"device": ""}}
    )

    commands = counted_request(log, lambda: disable(api, account.headers()))

    assert "find sessions" in commands
    assert len(commands) <= 6, commands
    smtp_sink.wait_for(account.email)


def test_login_takes_at_most_six_commands(counted: tuple[Api, CommandLog]) -> None:
    api, log = counted
    account = api.account()

    commands = counted_request(
        log,
        lambda: api.http.post("/auth/login", json={"email": account.email, "password": PASSWORD}),
    )

    assert len(commands) <= LOGIN_COMMANDS, commands


def test_password_step_up_takes_at_most_three_commands(counted: tuple[Api, CommandLog]) -> None:
    api, log = counted
    account = api.account()

    commands = counted_request(
        log,
        lambda: api.http.post(
            "/auth/step-up",
            json={"password": PASSWORD},
            headers={"Authorization": f"Bearer {account.access_token}"},
        ),
    )

    assert len(commands) <= STEP_UP_COMMANDS, commands
