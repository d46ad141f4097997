"""Everything the benchmark measures runs in a process of its own, started and stopped here.

SecantusDB (GPL-2.0: only ever a separate process) and the service (``python -m twofactor serve
--workers N``, settings as environment variables) are started by the same helpers the test suite
uses; the Connexion floor and the SMTP sink by the small ones below.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx2

from tests.support.secantus import free_port
from tests.support.sockets import all_listening

ROOT = Path(__file__).resolve().parent.parent


def _environment() -> dict[str, str]:
    # Coverage (when the smoke test runs under it) measures the service, not these helpers.
    return {k: v for k, v in os.environ.items() if k != "COVERAGE_PROCESS_CONFIG"}


class SinkProcess:
    def __init__(self, directory: Path, log_path: Path) -> None:
        self.port = free_port()
        self.directory = directory
        with log_path.open("wb") as log:
            self.process = self._start(directory, log)
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != b"ready":
            raise RuntimeError("the SMTP sink did not start:\n" + log_path.read_text())

    def _start(self, directory: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.sink",
                "--port",
                str(self.port),
                "--directory",
                str(directory),
            ],
            cwd=ROOT,
            env=_environment(),
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        _stop(self.process, signal.SIGTERM)


class FloorProcess:
    """The one-path Connexion app at ``url``/api/health."""

    def __init__(self, workers: int, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.floor",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(workers),
                ],
                cwd=ROOT,
                env=_environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                answers = httpx2.get(self.url + "/api/health", timeout=1).status_code == 200
                if answers and all_listening(self.port, workers):
                    return
                time.sleep(0.1)
            except httpx2.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the Connexion floor did not start:\n" + log_path.read_text())

    def stop(self) -> None:
        _stop(self.process, signal.SIGINT)


def _stop(process: subprocess.Popen[bytes], how: signal.Signals) -> None:
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
