"""``/api/ready`` over real parts: 200 while the database, the allowlist's own deployment and
the SMTP server answer; 503 ``SERVICE_UNAVAILABLE`` naming the one that does not, once it is
stopped. ``/api/metrics`` can be switched off."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.api import Api
from tests.support.secantus import SecantusServer
from tests.support.smtp import SmtpSink


@pytest.fixture
def database() -> Iterator[SecantusServer]:
    server = SecantusServer().start()
    yield server
    server.stop()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    running = SmtpSink().start()
    yield running
    running.stop()


def assert_not_ready(api: Api, component: str) -> None:
    response = api.http.get("/ready")
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "SERVICE_UNAVAILABLE"
    assert problem["detail"] == f"Not ready: {component} not reachable."


def test_with_the_database_and_the_mail_server_up_the_service_is_ready(api: Api) -> None:
    response = api.http.get("/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "mail": "ok"}}


def test_a_stopped_mail_server_makes_the_service_not_ready_naming_mail(
    start_api: Callable[..., Api], sink: SmtpSink
) -> None:
    assert start_api(smtp_port=sink.port).http.get("/ready").status_code == 200

    sink.stop()
    # A fresh process: the last answer of the first one is kept for a few seconds.
    assert_not_ready(start_api(smtp_port=sink.port), "mail")


def test_without_email_the_mail_server_is_not_checked(
    start_api: Callable[..., Api], sink: SmtpSink
) -> None:
    sink.stop()

    assert start_api(smtp_port=sink.port, email_enabled=False).http.get("/ready").status_code == 200


def test_a_stopped_database_makes_the_service_not_ready_naming_the_database(
    start_api: Callable[..., Api], database: SecantusServer
) -> None:
    api = start_api(mongodb_uri=database.uri)
    assert api.http.get("/ready").status_code == 200

    database.stop()

    assert_not_ready(api, "database")


def test_a_stopped_allowlist_deployment_is_named_on_its_own(
    start_api: Callable[..., Api], database: SecantusServer
) -> None:
    api = start_api(allowlist_mongodb_uri=database.uri)
    assert api.http.get("/ready").status_code == 200

    database.stop()

    assert_not_ready(api, "allowlist")


def test_switched_off_metrics_answer_404(start_api: Callable[..., Api]) -> None:
    response = start_api(metrics_enabled=False).http.get("/metrics")

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
