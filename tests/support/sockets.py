"""Which process holds which TCP socket, read from ``/proc`` (Linux): for the tests and the
benchmark that need to know whether every worker of a server listens and holds connections."""

from __future__ import annotations

from pathlib import Path

#: ``st`` of /proc/net/tcp: a listening socket, an established connection.
LISTEN, ESTABLISHED = "0A", "01"


def sockets_on(port: int, state: str) -> set[int]:
    """The inodes of the IPv4 TCP sockets whose local port is ``port``, in ``state``."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port and fields[3] == state:
            found.add(int(fields[9]))
    return found


def socket_inodes_of(pid: int) -> set[int]:
    """The inodes of the sockets process ``pid`` has open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().name
        except FileNotFoundError:  # pragma: no cover - closed while listed
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def all_listening(port: int, workers: int) -> bool:
    """Whether ``workers`` sockets listen on ``port``: a server whose workers listen on sockets
    of their own (``twofactor.listeners``) gives a worker no connection until its socket listens,
    so a load that starts earlier lands on the workers that were quicker to start."""
    return workers <= 1 or len(sockets_on(port, LISTEN)) >= workers
