"""A real SecantusDB server process for tests (MongoDB wire protocol over TCP)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

# Below the kernel's ephemeral range (32768 and up on Linux), from which every outgoing connection
# takes its local port: a port picked there can be taken by some client before the server binds it.
_PORTS = range(20_000, 32_000)


def free_port() -> int:
    """A port free on the loopback now, for a server started a moment later."""
    while True:
        port = _PORTS[secrets.randbelow(len(_PORTS))]
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


class SecantusServer:
    """Started and stopped for real: stopping it is how the tests produce database failures."""

    def __init__(self, storage: str = ":memory:", *, durable: bool = False) -> None:
        """``durable``: every commit is flushed to the journal before it is acknowledged, so
        that a write the service saw succeed survives ``kill()`` (by default SecantusDB, like
        mongod, acknowledges before the journal flush)."""
        self.port = free_port()
        self.storage = storage
        self.durable = durable
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self) -> SecantusServer:
        beside = Path(sys.executable).parent / "secantusd-py"
        executable = str(beside) if beside.exists() else shutil.which("secantusd-py")
        assert executable, "secantusd-py is not installed (pip install -e '.[local-db]')"
        self._process = subprocess.Popen(
            [executable, "--host", "127.0.0.1", "--port", str(self.port), *self._options()],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # A third-party server: coverage (pyproject's patch = subprocess) would only slow it.
            env={k: v for k, v in os.environ.items() if k != "COVERAGE_PROCESS_CONFIG"},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            client: MongoClient[dict[str, object]] = MongoClient(
                self.uri, serverSelectionTimeoutMS=300
            )
            try:
                client.admin.command("ping")
                return self
            except PyMongoError:
                time.sleep(0.05)
            finally:
                client.close()
        self.stop()
        raise RuntimeError("SecantusDB did not start")

    def _options(self) -> list[str]:
        durability = ["--sync-on-commit"] if self.durable else []
        return ["--storage-path", self.storage, "--log-level", "WARNING", *durability]

    def pause(self) -> None:
        """SIGSTOP: the server still accepts connections (the kernel does) but never answers."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: gone at once, storage as it was; ``start()`` again serves the same port."""
        assert self._process is not None
        self._process.kill()
        self._process.wait()
        self._process = None

    def stop(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)  # a paused server cannot handle SIGTERM
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


@contextmanager
def database_for_tests() -> Iterator[str]:
    """``MONGODB_URI`` when the caller set one (the tests' choice, not the service's
    configuration), else a SecantusDB server of our own for the duration."""
    external = os.environ.get("MONGODB_URI")
    if external:
        yield external
        return
    server = SecantusServer().start()
    try:
        yield server.uri
    finally:
        server.stop()
