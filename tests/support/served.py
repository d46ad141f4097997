"""The service as an operator runs it: ``python -m twofactor serve --workers N`` in its own process.

For the tests where what matters is the real server: several uvicorn worker processes, their
supervisor, and the log an operator reads. The settings (database, SMTP sink, keys) reach the
process as environment variables, exactly as a deployment gives them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from tests.support.secantus import free_port
from twofactor.config import VARIABLES, Settings, settings_to_environ

#: Lines that must never appear in the log of a healthy server, whatever the requests were.
TROUBLE = (
    "Traceback",
    "Exception in ASGI application",
    "INTERNAL_ERROR",
    "Child process",  # uvicorn's supervisor: a worker died and was replaced
)


class ServedProcess:
    def __init__(self, settings: Settings, workers: int, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        environ = {key: value for key, value in os.environ.items() if not _is_setting(key)}
        environ |= settings_to_environ(settings)
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "twofactor",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(workers),
                ],
                env=environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def wait_ready(self, timeout: float = 60) -> ServedProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the server stopped while starting:\n" + self.log())
            try:
                if httpx2.get(self.url + "/api/ready", timeout=1).status_code == 200:
                    return self
            except httpx2.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("the server did not become ready:\n" + self.log())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def trouble(self) -> list[str]:
        """The lines of the log that no request may ever cause (see ``TROUBLE``)."""
        return [line for line in self.log().splitlines() if any(t in line for t in TROUBLE)]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _is_setting(name: str) -> bool:
    """Settings of the developer's own shell must not leak into the server under test."""
    return name in {variable.name for variable in VARIABLES}
