"""``python -m twofactor serve`` in a process of its own, as a user (or systemd) runs it.

For the tests where the server process itself matters: its signals, its children (the embedded
database, the uvicorn workers), its HTTP limits and its log; and for the hostile-input corpus and
the benchmark, which talk to the service as an operator runs it (``serve_with``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from tests.support import responses_seen
from tests.support.secantus import free_port
from tests.support.sockets import all_listening
from twofactor.config import Settings, settings_to_environ

SERVE = [sys.executable, "-m", "twofactor", "serve"]
# The variables local mode must not inherit from the test run's environment.
_SERVICE_VARIABLES = {"MONGODB_URI", "JWT_SIGNING_KEYS", "ENCRYPTION_KEYS", "HASH_KEY", "DATA_DIR"}
# Lines of a server log that mean a request crashed or a worker died.
LOG_ALARMS = ("Exception in ASGI application", "Traceback", "died", "INTERNAL_ERROR")


def local_environment(data_dir: Path, **variables: str) -> dict[str, str]:
    """Local mode: no database configured, everything under ``data_dir``."""
    inherited = {k: v for k, v in os.environ.items() if k not in _SERVICE_VARIABLES}
    return {**inherited, "DATA_DIR": str(data_dir), **variables}


def environment_for(settings: Settings, **variables: str) -> dict[str, str]:
    """The variables that make the server use ``settings`` (database, keys, mail)."""
    inherited = {k: v for k, v in os.environ.items() if k not in _SERVICE_VARIABLES}
    return {**inherited, **settings_to_environ(settings), **variables}


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie of ours counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_gone(pids: list[int], timeout: float = 30) -> list[int]:
    """The pids still running after ``timeout`` seconds (polled, not slept)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in pids):
            return []
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


class Served:
    def __init__(
        self, log: Path, environment: Mapping[str, str], options: tuple[str, ...] = ()
    ) -> None:
        self.port = free_port()
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [*SERVE, "--port", str(self.port), *options],
                env=dict(environment),
                stdout=output,
                stderr=output,
            )
        self.url = f"http://127.0.0.1:{self.port}/api"

    def wait_ready(self, timeout: float = 60, workers: int = 1) -> Served:
        """Until ``/api/ready`` answers 200 (the database reachable) and ``workers`` processes
        have started and listen, or fail with the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_text()
            started = self.log_text().count("Application startup complete.")
            try:
                ready = httpx.get(self.url + "/ready", timeout=2).status_code == 200
                if ready and started >= workers and all_listening(self.port, workers):
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("the server did not become ready: " + self.log_text())

    def children(self) -> list[int]:
        return children_of(self.process.pid)

    def database_pid(self) -> int:
        [pid] = [pid for pid in self.children() if "secantusd-py" in command_line(pid)]
        return pid

    def worker_pids(self) -> list[int]:
        return [pid for pid in self.children() if "spawn_main" in command_line(pid)]

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 30) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> str:
        """SIGTERM, as systemd and ``docker stop`` do; SIGKILL if it does not end in time, and
        SIGKILL for any child left behind (a failing test must not leave processes running)."""
        children = self.children() if self.process.poll() is None else []
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in wait_gone(children):
            os.kill(pid, signal.SIGKILL)
        responses_seen.record_log(self.log)
        return self.log_text()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def trouble(self) -> list[str]:
        """The lines of the log no request may ever cause (``LOG_ALARMS``)."""
        return [line for line in self.log_text().splitlines() if any(a in line for a in LOG_ALARMS)]


def serve_with(settings: Settings, workers: int, log: Path) -> Served:
    """The service over ``settings`` (database, keys, mail) with ``workers`` processes, ready."""
    served = Served(log, environment_for(settings), ("--workers", str(workers)))
    try:
        return served.wait_ready(workers=workers)
    except BaseException:
        served.stop()
        raise
