"""The SMTP sink: aiosmtpd on loopback in a process of its own, one ``.eml`` file per message.

A process of its own so that receiving the alerts does not take the load generator's GIL;
the files are how the benchmark reads the codes it needs and checks the alerts afterwards.
Run as ``python -m bench.sink --port P --directory D``; it stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

READY = "ready"


class _Handler:
    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._numbers = itertools.count()
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            number = next(self._numbers)
        partial = self._directory / f"{number:08d}.part"
        partial.write_bytes(envelope.content)
        # Renamed once complete: a reader never sees half a message.
        partial.rename(partial.with_suffix(".eml"))
        return "250 Message accepted"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--directory", type=Path, required=True)
    arguments = parser.parse_args()
    controller = Controller(
        _Handler(arguments.directory), hostname="127.0.0.1", port=arguments.port
    )
    controller.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print(READY, flush=True)
    stopped.wait()
    controller.stop()
    return 0


class Mailbox:
    """The reading side: the messages the sink wrote so far, parsed once each."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._seen: dict[str, EmailMessage] = {}

    def messages(self) -> list[EmailMessage]:
        for name in sorted(os.listdir(self.directory)):
            if name.endswith(".eml") and name not in self._seen:
                parsed = message_from_bytes(
                    (self.directory / name).read_bytes(), policy=policy.default
                )
                assert isinstance(parsed, EmailMessage)
                self._seen[name] = parsed
        return list(self._seen.values())

    def to(self, address: str, subject: str | None = None) -> list[EmailMessage]:
        return [
            message
            for message in self.messages()
            if message["To"] == address and (subject is None or message["Subject"] == subject)
        ]

    def wait_for(
        self, address: str, count: int, subject: str | None = None, timeout: float = 30
    ) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.to(address, subject)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


if __name__ == "__main__":
    raise SystemExit(main())
