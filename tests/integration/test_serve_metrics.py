"""``twofactor-api serve --workers 2`` as operators run it: ``/api/metrics`` adds up what every
worker counted (exactly), and the server log is JSON lines, with no uvicorn access lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.api import PASSWORD
from tests.support.secantus import free_port
from twofactor.config import VARIABLES, Settings, settings_to_environ

WORKERS = 2
REQUESTS = 40


@dataclass
class Served:
    url: str
    log: Path


@pytest.fixture(scope="module")
def served(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    settings = replace(base_settings, mongodb_database=f"serve_{port}")
    environ = {k: v for k, v in os.environ.items() if k not in {v.name for v in VARIABLES}}
    environ |= settings_to_environ(settings)
    command = [sys.executable, "-m", "twofactor", "serve", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--workers", str(WORKERS)], env=environ, stdout=output, stderr=output
        )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 60
        while not _answers(url):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield Served(url, log)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def requests_counted(url: str, operation: str) -> float:
    """The sum, over every label set of ``operation``, of ``twofactor_http_requests_total``."""
    scraped = httpx.get(url + "/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    return sum(
        sample.value
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
        if sample.name == "twofactor_http_requests_total"
        and sample.labels["operation"] == operation
    )


def test_the_count_over_two_workers_is_exactly_the_number_of_requests(served: Served) -> None:
    before = requests_counted(served.url, "handlers.users.get_me")

    for _ in range(REQUESTS):
        # A new connection each time: the workers take turns accepting them.
        assert httpx.get(served.url + "/users/me").status_code == 401

    assert requests_counted(served.url, "handlers.users.get_me") == before + REQUESTS


def test_the_server_log_is_json_lines_with_one_access_line_per_request(served: Served) -> None:
    email = f"served-{free_port()}@example.com"
    registered = httpx.post(
        served.url + "/auth/register", json={"email": email, "password": PASSWORD, "name": "S"}
    )
    assert registered.status_code == 201
    request_id = registered.headers["x-request-id"]

    deadline = time.monotonic() + 10
    while request_id not in served.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    records = [json.loads(line) for line in served.log.read_text().splitlines()]

    [line] = [record for record in records if record.get("requestId") == request_id]
    assert (line["operation"], line["status"]) == ("handlers.auth.register", 201)
    assert all(record["logger"] != "uvicorn.access" for record in records)
    text = served.log.read_text()
    assert PASSWORD not in text
    assert email not in text
