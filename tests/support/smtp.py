"""A real SMTP server (aiosmtpd) that keeps what it receives, and can refuse or be stopped."""

from __future__ import annotations

import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.secantus import free_port


class SmtpSink:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.refusing = False
        self._messages: list[EmailMessage] = []
        #: Every envelope recipient (RCPT TO) of every accepted message, in order.
        self._recipients: list[str] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusing:
            return "451 4.3.0 Mailbox temporarily unavailable"
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._messages.append(message)
            self._recipients.extend(envelope.rcpt_tos)
        return "250 Message accepted"

    def start(self) -> SmtpSink:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def envelope_recipients(self) -> list[str]:
        """Where the server was told to deliver, whatever the headers say."""
        with self._lock:
            return list(self._recipients)

    def message_count(self) -> int:
        """How many messages arrived so far, to anyone."""
        with self._lock:
            return len(self._messages)

    def messages_to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [message for message in self._messages if message["To"] == address]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages_to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        return self.messages_to(address)
