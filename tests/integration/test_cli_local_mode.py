"""``twofactor-api serve`` as a user runs it: local mode starts its own database, generates its
keys once, keeps data across restarts and stops the database with the server."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient

from tests.support.api import PASSWORD
from tests.support.secantus import free_port
from twofactor.local_mode import LocalDatabase

SERVE = [sys.executable, "-m", "twofactor", "serve"]


class Served:
    def __init__(
        self,
        data_dir: Path,
        environment: dict[str, str] | None = None,
        options: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        self.log = data_dir.parent / f"serve-{self.port}.log"
        environ = {
            key: value
            for key, value in os.environ.items()
            if key not in {"MONGODB_URI", "JWT_SIGNING_KEYS", "ENCRYPTION_KEYS", "HASH_KEY"}
        }
        environ |= {"DATA_DIR": str(data_dir), **(environment or {})}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*SERVE, "--port", str(self.port), *options], env=environ, stdout=log, stderr=log
            )
        self.url = f"http://127.0.0.1:{self.port}/api"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("the server did not start: " + self.log.read_text())

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        return self.log.read_text()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def database_children(data_dir: Path) -> list[str]:
    found = subprocess.run(
        ["pgrep", "-f", f"secantusd-py.*{data_dir}"], capture_output=True, text=True, check=False
    )
    return found.stdout.split()


def test_serve_without_configuration_runs_on_the_embedded_database(data_dir: Path) -> None:
    served = Served(data_dir)
    try:
        served.wait_ready()
        email = "local@example.com"
        registered = httpx.post(
            served.url + "/auth/register",
            json={"email": email, "password": PASSWORD, "name": "Local"},
        )
        assert registered.status_code == 201, registered.text
        assert httpx.get(served.url + "/ready").status_code == 200
        assert database_children(data_dir)
    finally:
        log = served.stop()
    keys = data_dir / "dev-keys.json"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    assert "generated development keys" in log
    assert PASSWORD not in log
    assert not database_children(data_dir)

    # Started again: same keys, same data.
    again = Served(data_dir)
    try:
        again.wait_ready()
        login = httpx.post(again.url + "/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
    finally:
        log = again.stop()
    assert "generated development keys" not in log


def test_serve_with_a_database_but_no_keys_stops_naming_the_variable(data_dir: Path) -> None:
    served = Served(data_dir, {"MONGODB_URI": "mongodb://127.0.0.1:1"})

    assert served.process.wait(timeout=30) == 2
    assert "JWT_SIGNING_KEYS is required when MONGODB_URI is set" in served.stop()


def test_serve_with_an_invalid_setting_stops_naming_the_variable(data_dir: Path) -> None:
    served = Served(data_dir, {"ACCESS_TOKEN_TTL": "soon"})

    assert served.process.wait(timeout=30) == 2
    assert "ACCESS_TOKEN_TTL must be a whole number" in served.stop()


def test_serve_with_several_workers_shares_one_embedded_database(data_dir: Path) -> None:
    served = Served(data_dir, options=("--workers", "2"))
    try:
        served.wait_ready()
        registered = httpx.post(
            served.url + "/auth/register",
            json={"email": "workers@example.com", "password": PASSWORD, "name": "Workers"},
        )
        # Whichever worker answers, the account is in the one database.
        logins = [
            httpx.post(
                served.url + "/auth/login",
                json={"email": "workers@example.com", "password": PASSWORD},
            ).status_code
            for _ in range(4)
        ]
        assert registered.status_code == 201, registered.text
        assert logins == [200] * 4
        assert len(database_children(data_dir)) == 1
    finally:
        log = served.stop()
    assert "POST /api/auth/login 200" in log
    assert not database_children(data_dir)


def test_the_embedded_database_is_written_without_retryable_writes(data_dir: Path) -> None:
    # One local process has no failover for a retry to survive, and SecantusDB would keep a
    # record of each retryable write that every later one walks.
    database = LocalDatabase(data_dir)
    uri = database.start()
    try:
        with MongoClient(uri) as client:
            assert client.options.retry_writes is False
            client["probe"]["writes"].insert_one({"written": True})
    finally:
        database.stop()
