"""The HTTP server's own limits, tried over raw sockets against ``twofactor-api serve``: a request
head that grows past 16 KiB is refused; a connection that stays idle, sends nothing or trickles its
head is closed after ``KEEP_ALIVE_TIMEOUT``; connections beyond ``MAX_CONNECTIONS`` get 503; the
server answers normally afterwards."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.support.served import Served, local_environment
from twofactor.serving import HEAD_LIMIT

MAX_CONNECTIONS = 4
KEEP_ALIVE = 1


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("limits")
    environment = local_environment(
        root / "data", KEEP_ALIVE_TIMEOUT=str(KEEP_ALIVE), MAX_CONNECTIONS=str(MAX_CONNECTIONS)
    )
    server = Served(root / "serve.log", environment).wait_ready()
    yield server
    log = server.stop()
    assert "Traceback" not in log
    assert "Exception in ASGI application" not in log


def connect(served: Served) -> socket.socket:
    return socket.create_connection(("127.0.0.1", served.port), timeout=10)


def read_until_closed(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def assert_still_answers(served: Served) -> None:
    assert httpx.get(served.url + "/health", timeout=10).status_code == 200


def test_a_header_block_growing_past_the_head_limit_is_refused_with_400(served: Served) -> None:
    with connect(served) as connection:
        # The head never ends: the server must stop buffering it, not wait for the end.
        connection.sendall(b"GET /api/health HTTP/1.1\r\nHost: test\r\nX-Padding: ")
        connection.sendall(b"a" * (2 * HEAD_LIMIT))

        answer = read_until_closed(connection)

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert_still_answers(served)


def test_a_request_line_growing_past_the_head_limit_is_refused_with_400(served: Served) -> None:
    with connect(served) as connection:
        connection.sendall(b"GET /api/health?q=" + b"a" * (2 * HEAD_LIMIT))

        answer = read_until_closed(connection)

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert_still_answers(served)


def test_a_head_within_the_limit_is_served(served: Served) -> None:
    response = httpx.get(served.url + "/health", headers={"X-Padding": "a" * (HEAD_LIMIT // 2)})

    assert response.status_code == 200
    assert "server" not in response.headers
    assert "date" in response.headers


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(served: Served) -> None:
    with connect(served) as connection:
        connection.sendall(b"GET /api/health HTTP/1.1\r\nHost: test\r\n\r\n")
        answered = time.monotonic()

        received = read_until_closed(connection)  # returns when the server closes
        idle = time.monotonic() - answered

    assert received.startswith(b"HTTP/1.1 200 ")
    assert KEEP_ALIVE - 0.2 <= idle < KEEP_ALIVE + 3


def test_a_connection_that_sends_nothing_is_closed_after_the_keep_alive_timeout(
    served: Served,
) -> None:
    with connect(served) as connection:
        opened = time.monotonic()

        received = read_until_closed(connection)
        waited = time.monotonic() - opened

    assert received == b""
    assert KEEP_ALIVE - 0.2 <= waited < KEEP_ALIVE + 3


def test_a_head_trickled_byte_by_byte_is_cut_off_after_the_keep_alive_timeout(
    served: Served,
) -> None:
    head = b"GET /api/health HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"a" * 1000
    with connect(served) as connection:
        connection.settimeout(0.2)
        opened = time.monotonic()
        closed = False
        for byte in head:  # one byte every 0.2 s: each one would reset an idle timer
            try:
                connection.sendall(bytes([byte]))
                closed = connection.recv(1) == b""
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            if closed:
                break
        waited = time.monotonic() - opened

    assert closed
    assert KEEP_ALIVE - 0.2 <= waited < KEEP_ALIVE + 3
    assert_still_answers(served)


def test_connections_beyond_max_connections_get_503_until_they_close(served: Served) -> None:
    with ExitStack() as held:
        # Requests whose body never comes: each holds its connection (no head deadline applies).
        for _ in range(MAX_CONNECTIONS):
            connection = held.enter_context(connect(served))
            connection.sendall(
                b"POST /api/auth/login HTTP/1.1\r\nHost: test\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
        deadline = time.monotonic() + 10
        while (status := httpx.get(served.url + "/health").status_code) != 503:
            assert time.monotonic() < deadline, status
            time.sleep(0.05)

    deadline = time.monotonic() + 10
    while (status := httpx.get(served.url + "/health").status_code) != 200:
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
