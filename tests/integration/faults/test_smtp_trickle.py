"""A mail server that answers a byte at a time: each byte comes well within ``SMTP_TIMEOUT``, so
only the send deadline can end the send. It must, long before the outbox's five-minute claim
runs out (the retry worker would then send the alert a second time)."""

from __future__ import annotations

import smtplib
import socket
import threading
from email.message import EmailMessage

import pytest

from twofactor.mail.connections import SmtpConnections

#: What the trickling server drips after its greeting, one byte per ``DRIP_S``: an endless
#: multi-line EHLO answer, long enough to outlast any reasonable deadline many times over.
DRIP = b"250-trickle\r\n" * 400
DRIP_S = 0.05


class TricklingServer:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.dripped = 0
        self.client_left = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> TricklingServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._listener.close()
        self._thread.join(timeout=30)

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection:
            connection.sendall(b"220 slow.example ESMTP\r\n")
            connection.settimeout(DRIP_S)
            for byte in DRIP:
                try:
                    if connection.recv(1024) == b"" and self.dripped:
                        break  # the client shut its side: it gave up
                except TimeoutError:
                    pass
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    break
                self.dripped += 1
            else:
                return
            self.client_left.set()


def test_a_send_to_a_server_that_trickles_its_answers_ends_at_the_deadline() -> None:
    message = EmailMessage()
    message["Subject"] = "alert"
    message.set_content("body")
    with TricklingServer() as server:
        connections = SmtpConnections("127.0.0.1", server.port, "none", None, timeout=5, deadline=1)
        with pytest.raises(smtplib.SMTPServerDisconnected):
            connections.send(message, "ada@example.com")

        assert server.client_left.wait(timeout=10)
    # The client left while the server still had most of its answer to drip.
    assert server.dripped < len(DRIP) // 2
    assert connections.idle == 0
