"""Each worker process listens on a socket of its own, so that connections are spread over them.

uvicorn's supervisor binds one socket and every worker accepts from it. The workers then race
for each connection, and the first one woken accepts everything already queued: a client (or a
proxy) that opens its keep-alive connections at once finds them all on one worker, and the other
workers stay idle for as long as those connections live. Measured here with 16 connections to
two workers: 16 and 0, 11 and 5, 4 and 12, from one run to the next, and the throughput of the
whole server moved with it.

With ``SO_REUSEPORT`` (Linux), each worker binds a listening socket of its own to the same
address, and the kernel hands each new connection to one of them by a hash of its addresses and
ports: no worker can take another's share. The supervisor still hands every worker it starts
(or restarts) the same list of sockets; here that list holds a ``WorkerListener``, which becomes
a newly bound socket when it is unpickled in the worker. The supervisor itself holds a bound
socket on the address for its whole life (``reserve``): it fails the start at once, with a clear
message, when the address is taken, fixes the port when 0 asks for any, and keeps another
program from taking the port between two workers. A socket that is bound but not listening is
given no connections.

The trade-off, the same as nginx's ``reuseport``: a connection goes to its socket's worker even
when that worker is busy, and the connections waiting on the socket of a worker that dies are
reset when it is replaced. For a service whose clients keep connections open, an even share is
worth more. Only processes of the same user may bind a port shared this way, which is why the
README asks for a user of the service's own.
"""

from __future__ import annotations

import socket
import sys
from typing import cast

#: Where the kernel spreads connections over the sockets sharing a port (not macOS or BSD).
SPREADS_CONNECTIONS = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def reserve(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` that workers can share the port with; ``OSError`` when
    the address is taken or cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return bound_socket(family, (host, port))


def bound_socket(family: int, address: tuple[str, int]) -> socket.socket:
    """A new stream socket bound to ``address``, sharing its port (``SO_REUSEPORT``)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


class WorkerListener:
    """Stands for a listening socket in what the supervisor passes to a worker: pickled as the
    address of ``reserved``, unpickled as a socket of the worker's own bound to it."""

    def __init__(self, reserved: socket.socket) -> None:
        self.family = reserved.family
        host, port = reserved.getsockname()[:2]
        self.address: tuple[str, int] = (host, port)

    def __reduce__(self) -> tuple[object, tuple[int, tuple[str, int]]]:
        return bound_socket, (self.family, self.address)


def for_each_worker(reserved: socket.socket) -> list[socket.socket]:
    """The sockets to give uvicorn's supervisor, which passes them on to each worker it starts:
    one ``WorkerListener``, typed as the socket it becomes there."""
    return [cast(socket.socket, WorkerListener(reserved))]
