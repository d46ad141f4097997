"""``twofactor-api serve`` in local mode never leaves its embedded database (or a worker) behind:
stopped with SIGTERM or SIGINT it stops the database and ends by that signal; killed with SIGKILL,
the kernel ends its children; either way the same ``DATA_DIR`` serves again at once."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.served import Served, command_line, local_environment, wait_gone


def status_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return "gone"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def serve(data_dir: Path) -> Iterator[Callable[..., Served]]:
    """Start the server on ``data_dir``; every server started is stopped after the test."""
    started: list[Served] = []

    def start(*options: str) -> Served:
        log = data_dir.parent / f"serve-{len(started)}.log"
        started.append(Served(log, local_environment(data_dir), options))
        return started[-1]

    yield start
    for served in started:
        served.stop()


@pytest.mark.parametrize(
    ("workers", "signum"),
    [(1, signal.SIGTERM), (2, signal.SIGTERM), (2, signal.SIGINT)],
)
def test_a_stop_signal_stops_the_database_and_ends_the_server_by_that_signal(
    serve: Callable[..., Served], workers: int, signum: signal.Signals
) -> None:
    served = serve("--workers", str(workers)).wait_ready()
    assert len(served.worker_pids()) == (workers if workers > 1 else 0)
    children = served.children()  # the database, the workers and multiprocessing's helper
    assert served.database_pid() in children

    served.signal(signum)

    assert served.wait() == -signum
    assert wait_gone(children) == []
    log = served.log_text()
    assert f"stopped by {signum.name}" in log
    assert "Traceback" not in log


@pytest.mark.parametrize("workers", [1, 2])
def test_sigkill_of_the_server_ends_the_database_and_the_workers_and_a_restart_works(
    serve: Callable[..., Served], workers: int
) -> None:
    served = serve("--workers", str(workers)).wait_ready()
    registered = httpx.post(
        served.url + "/auth/register",
        json={"email": "killed@example.com", "password": "x" * 20, "name": "Killed"},
    )
    assert registered.status_code == 201, registered.text
    children = served.children()
    assert served.database_pid() in children

    served.signal(signal.SIGKILL)

    assert served.wait() == -signal.SIGKILL
    left = wait_gone(children)
    assert left == [], [(pid, command_line(pid), status_of(pid)) for pid in left]
    # Only one process may use a storage directory: the restart proves the old one let go.
    again = serve().wait_ready()
    login = httpx.post(
        again.url + "/auth/login", json={"email": "killed@example.com", "password": "x" * 20}
    )
    assert login.status_code == 200, login.text


def test_sigterm_during_start_up_leaves_no_database(serve: Callable[..., Served]) -> None:
    served = serve()
    deadline = time.monotonic() + 30
    while not (databases := [p for p in served.children() if "secantusd" in command_line(p)]):
        assert time.monotonic() < deadline, served.log_text()
        time.sleep(0.01)

    served.signal(signal.SIGTERM)

    assert served.wait() == -signal.SIGTERM
    assert wait_gone(databases) == []
