"""``twofactor-api serve --workers 2`` spreads connections over its workers: each worker listens
on a socket of its own, keep-alive connections opened at once reach both, and an address already
taken stops the start-up with a clear message. Read from ``/proc``, on the real server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from tests.support.served import Served, environment_for
from tests.support.sockets import ESTABLISHED, LISTEN, socket_inodes_of, sockets_on
from twofactor import listeners
from twofactor.config import Settings

pytestmark = pytest.mark.skipif(
    not listeners.SPREADS_CONNECTIONS, reason="SO_REUSEPORT spreads connections on Linux only"
)

WORKERS = 2
CONNECTIONS = 16


@pytest.fixture(scope="module")
def served(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("listeners")
    settings = replace(base_settings, mongodb_database=f"listeners_{root.name}")
    server = Served(root / "serve.log", environment_for(settings), ("--workers", str(WORKERS)))
    try:
        yield server.wait_ready(workers=WORKERS)
    finally:
        log = server.stop()
    assert "Traceback" not in log


def test_each_worker_listens_on_a_socket_of_its_own(served: Served) -> None:
    listening = sockets_on(served.port, LISTEN)
    workers = served.worker_pids()

    owned = [socket_inodes_of(pid) & listening for pid in workers]

    assert len(workers) == WORKERS
    assert all(len(inodes) == 1 for inodes in owned)
    assert len(set.union(*owned)) == WORKERS
    assert "one socket per worker" in served.log_text()


def test_keep_alive_connections_opened_at_once_reach_every_worker(served: Served) -> None:
    clients = [httpx.Client(base_url=served.url, timeout=10) for _ in range(CONNECTIONS)]
    try:
        assert all(client.get("/health").status_code == 200 for client in clients)
        established = sockets_on(served.port, ESTABLISHED)

        per_worker = [len(socket_inodes_of(pid) & established) for pid in served.worker_pids()]
    finally:
        for client in clients:
            client.close()

    # One socket shared by the workers gave all 16 to one of them, or 11 and 5; by the kernel's
    # hash, one worker gets none once in 2**15 runs.
    assert sum(per_worker) == CONNECTIONS
    assert min(per_worker) > 0


def test_a_taken_address_stops_the_start_with_a_clear_message(
    base_settings: Settings, tmp_path: Path
) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        taken = other.getsockname()[1]
        server = Served(
            tmp_path / "serve.log",
            environment_for(base_settings),
            ("--workers", str(WORKERS), "--port", str(taken)),
        )
        try:
            status = server.wait(timeout=60)
        finally:
            log = server.stop()

    assert status == 3  # uvicorn's STARTUP_FAILURE, as when one worker cannot bind
    assert f"cannot listen on 127.0.0.1:{taken}" in log
    assert "Traceback" not in log
