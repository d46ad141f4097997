"""A real SMTP server (aiosmtpd) that keeps what it receives, and can refuse, stall on DATA, be
stopped, speak TLS (STARTTLS or implicit) and close idle connections; it counts connections."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from tests.support.secantus import free_port


class _CountingController(Controller):
    def __init__(self, sink: SmtpSink, **kwargs: Any) -> None:
        super().__init__(sink, **kwargs)
        self._sink = sink

    def factory(self) -> SMTP:
        # Called once per accepted connection.
        self._sink.count_connection()
        return super().factory()


class SmtpSink:
    def __init__(
        self,
        port: int | None = None,
        *,
        tls: str = "none",
        context: ssl.SSLContext | None = None,
        idle_timeout: float = 300,
    ) -> None:
        """``tls``: ``starttls`` (required before MAIL) or ``tls`` (implicit), with the server
        ``context``; ``idle_timeout``: seconds after which an idle connection is closed."""
        self.port = port or free_port()
        self._tls = tls
        self._context = context
        self._idle_timeout = idle_timeout
        self.refusing = False
        #: Seconds each DATA takes before its answer (a slow mail server).
        self.data_delay = 0.0
        self._connections = 0
        self._messages: list[EmailMessage] = []
        #: Every envelope recipient (RCPT TO) of every accepted message, in order.
        self._recipients: list[str] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.refusing:
            return "451 4.3.0 Mailbox temporarily unavailable"
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._messages.append(message)
            self._recipients.extend(envelope.rcpt_tos)
        return "250 Message accepted"

    def start(self) -> SmtpSink:
        kwargs: dict[str, Any] = {"timeout": self._idle_timeout}
        if self._tls == "starttls":
            kwargs.update(tls_context=self._context, require_starttls=True)
        elif self._tls == "tls":
            kwargs.update(ssl_context=self._context)
        self._controller = _CountingController(self, hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def count_connection(self) -> None:
        with self._lock:
            self._connections += 1

    def connections(self) -> int:
        """How many connections the server accepted so far."""
        with self._lock:
            return self._connections

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
