"""Fixtures of the in-process contract run: a real database, the real app, a seeded user.

Collected only by ``pytest contract/`` (the project's ``testpaths`` is ``tests``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from schemathesis.python import asgi

from contract.auth import CaseCredentials
from contract.inprocess import APP, OUTCOMES, AppSlot, Outcomes
from contract.support import (
    METHOD_STATES,
    PASSWORD,
    Keys,
    Seeder,
    new_database_name,
    new_email,
)
from tests.support import responses_seen
from tests.support.passwords import cheap_passwords
from tests.support.secantus import database_for_tests
from tests.support.smtp import SmtpSink
from twofactor.app import create_app
from twofactor.config import Settings
from twofactor.domain.throttle import Budget


def pytest_configure(config: pytest.Config) -> None:
    # What the server answered counts for the response-coverage report (make test's last step).
    responses_seen.install()


@pytest.fixture(scope="session")
def mongodb_uri() -> Iterator[str]:
    with database_for_tests() as uri:
        yield uri


@pytest.fixture(scope="session")
def smtp_port() -> Iterator[int]:
    """A real SMTP server, so alerts and emailed codes are delivered as in production."""
    sink = SmtpSink().start()
    yield sink.port
    sink.stop()


@pytest.fixture(scope="session")
def settings(mongodb_uri: str, smtp_port: int) -> Settings:
    settings = Keys.generate().settings(mongodb_uri, new_database_name(), smtp_port)
    # The run drives one seeded user through hundreds of security changes to reach every
    # outcome of the core operation; that budget has its own tests (tests/integration).
    return replace(
        settings, throttle_security_changes_per_user=Budget(1_000_000, timedelta(hours=1))
    )


@pytest.fixture
def asgi_app(settings: Settings) -> AppSlot:
    """The slot the schema is bound to, pointed at a new app started as a server starts it
    (store ping, indexes). One app per test item: see ``contract/inprocess.py``. As in
    production, Connexion does not validate responses (that would turn a mismatch into a 500 and
    hide it): Schemathesis does. Passwords are hashed with cheap argon2 parameters."""
    APP.current = create_app(settings, passwords=cheap_passwords())
    with asgi.get_client(APP):
        pass
    return APP


@pytest.fixture(scope="session")
def seeder(settings: Settings) -> Iterator[Seeder]:
    seeder = Seeder(settings)
    yield seeder
    seeder.close()


@pytest.fixture(scope="session")
def principal_id(settings: Settings, seeder: Seeder) -> str:
    """A user registered through the public API, with TOTP and email seeded in the store."""
    # The in-process client Schemathesis uses; it runs the app's lifespan (store ping, indexes).
    with asgi.get_client(create_app(settings, passwords=cheap_passwords())) as client:
        response = client.post(
            "/api/auth/register",
            json={"email": new_email(), "password": PASSWORD, "name": "Contract User"},
        )
    assert response.status_code == 201, response.text
    user_id: str = response.json()["id"]
    seeder.set_methods(user_id, METHOD_STATES[0])
    return user_id


@pytest.fixture(scope="session")
def case_credentials(seeder: Seeder, principal_id: str) -> CaseCredentials:
    """Fills the auth hook's placeholders with the seeded user's real credentials."""
    return CaseCredentials(seeder, principal_id)


@pytest.fixture(scope="session")
def outcomes() -> Outcomes:
    """Status codes per operation: checked by test_core_operation_reached_its_outcomes and
    printed at the end of the run."""
    return OUTCOMES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not OUTCOMES:
        return
    terminalreporter.section("status codes per operation (in-process contract run)")
    for label, counts in OUTCOMES.items():
        seen = ", ".join(f"{status}x{count}" for status, count in sorted(counts.items()))
        terminalreporter.write_line(f"{label}: {seen}")
