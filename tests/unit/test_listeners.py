"""Each worker's own listening socket: what the supervisor's stand-in becomes in a worker, and how
the kernel shares connections between such sockets (real sockets on the loopback)."""

from __future__ import annotations

import errno
import pickle
import socket
from collections.abc import Iterator

import pytest

from twofactor import listeners

pytestmark = pytest.mark.skipif(
    not listeners.SPREADS_CONNECTIONS, reason="SO_REUSEPORT spreads connections on Linux only"
)


@pytest.fixture
def reserved() -> Iterator[socket.socket]:
    with listeners.reserve("127.0.0.1", 0) as sock:
        yield sock


def worker_socket(reserved: socket.socket) -> socket.socket:
    """What a worker gets: the stand-in, pickled in the supervisor and unpickled in the worker."""
    [stand_in] = listeners.for_each_worker(reserved)
    # Our own bytes, made one line above: the very path uvicorn's spawned workers take.
    made = pickle.loads(pickle.dumps(stand_in))  # noqa: S301
    assert isinstance(made, socket.socket)
    return made


def accept_all(sockets: list[socket.socket]) -> list[int]:
    """How many queued connections each listening socket accepts."""
    counts = []
    for sock in sockets:
        sock.setblocking(False)
        count = 0
        while True:
            try:
                connection, _ = sock.accept()
            except BlockingIOError:
                break
            connection.close()
            count += 1
        counts.append(count)
    return counts


def connect(port: int, times: int) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(times)]


def test_a_worker_listener_becomes_a_new_socket_bound_to_the_reserved_address(
    reserved: socket.socket,
) -> None:
    with worker_socket(reserved) as own:
        assert own.getsockname() == reserved.getsockname()
        assert own.fileno() != reserved.fileno()
        assert own.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1


def test_reserving_port_zero_fixes_one_port_for_every_worker(reserved: socket.socket) -> None:
    port = reserved.getsockname()[1]

    with worker_socket(reserved) as first, worker_socket(reserved) as second:
        assert port != 0
        assert first.getsockname()[1] == second.getsockname()[1] == port


def test_connections_opened_at_once_are_shared_by_the_workers_sockets(
    reserved: socket.socket,
) -> None:
    with worker_socket(reserved) as first, worker_socket(reserved) as second:
        first.listen(64)
        second.listen(64)
        clients = connect(reserved.getsockname()[1], 32)
        try:
            counts = accept_all([first, second])
        finally:
            for client in clients:
                client.close()

    # A shared socket would give all 32 to whichever worker woke first; by the kernel's hash,
    # one socket gets all of them once in 2**31 runs.
    assert sum(counts) == 32
    assert min(counts) > 0


def test_the_reserved_socket_takes_no_connection_away_from_the_workers(
    reserved: socket.socket,
) -> None:
    with worker_socket(reserved) as own:
        own.listen(64)
        clients = connect(reserved.getsockname()[1], 16)
        try:
            [accepted] = accept_all([own])
        finally:
            for client in clients:
                client.close()

    assert accepted == 16


def test_an_address_another_program_listens_on_cannot_be_reserved() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)

        with pytest.raises(OSError, match="in use") as refused:
            listeners.reserve("127.0.0.1", other.getsockname()[1])

    assert refused.value.errno == errno.EADDRINUSE


def test_an_ipv6_address_is_reserved_as_ipv6() -> None:
    if not socket.has_ipv6:  # pragma: no cover - the machines that run the tests have IPv6
        pytest.skip("no IPv6")
    try:
        sock = listeners.reserve("::1", 0)
    except OSError:  # pragma: no cover - a container without an IPv6 loopback
        pytest.skip("no IPv6 loopback")
    with sock, worker_socket(sock) as own:
        assert sock.family == own.family == socket.AF_INET6
        assert own.getsockname()[:2] == sock.getsockname()[:2]
