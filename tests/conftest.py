"""Fixtures: a real SecantusDB server (unless MONGODB_URI is set) and the real app over HTTP.

``api`` and ``start_api`` call the app in-process; ``live_api`` serves it on a loopback socket, for
the tests where the wire matters (see ``tests/support/api.py``).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from tests.support import responses_seen
from tests.support.api import Api
from tests.support.secantus import database_for_tests
from tests.support.smtp import SmtpSink
from twofactor.config import Settings
from twofactor.domain.throttle import Budget
from twofactor.security.keys import NamedKey


def pytest_configure(config: pytest.Config) -> None:
    # The response-coverage report (contract/response_coverage.py) counts what the server said.
    responses_seen.install()


@pytest.fixture(scope="session")
def mongodb_uri() -> Iterator[str]:
    with database_for_tests() as uri:
        yield uri


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def base_settings(mongodb_uri: str, smtp_sink: SmtpSink) -> Settings:
    return Settings(
        mongodb_uri=mongodb_uri,
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        smtp_tls="none",
        # The servers' own retry worker stays out of the way; the test of it sets 1 s.
        alert_retry_interval=3600,
        mongodb_database=f"test_{uuid.uuid4().hex[:10]}",
        jwt_signing_keys=(NamedKey("test-jwt-1", secrets.token_bytes(32)),),
        encryption_keys=(NamedKey("test-enc-1", secrets.token_bytes(32)),),
        hash_key=secrets.token_bytes(32),
        # Every test reaches the app from the loopback address: the per-address budgets of
        # accounts would stop the suite itself. The tests of those budgets set small ones.
        throttle_register_per_address=Budget(1_000_000, timedelta(seconds=1)),
        throttle_guests_per_address=Budget(1_000_000, timedelta(seconds=1)),
    )


@pytest.fixture(scope="session")
def api(base_settings: Settings) -> Iterator[Api]:
    """One running application shared by the tests that do not change its configuration."""
    running = Api(base_settings).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def live_api(base_settings: Settings) -> Iterator[Api]:
    """The same application served by uvicorn over TCP, shared by the tests that need a socket."""
    running = Api(base_settings, live=True).start()
    yield running
    running.stop()


@pytest.fixture
def start_api(base_settings: Settings) -> Iterator[Callable[..., Api]]:
    """Start a separate application with some settings changed; stopped after the test."""
    started: list[Api] = []

    def start(**overrides: Any) -> Api:
        overrides.setdefault("mongodb_database", f"test_{uuid.uuid4().hex[:10]}")
        settings = replace(base_settings, **overrides)
        running = Api(settings).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
