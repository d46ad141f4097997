"""Long-lived SMTP connections, shared by the threads of one process.

Opening a connection costs a TCP handshake, the greeting, ``EHLO``, for TLS a handshake and a
second ``EHLO``, and a login: several round trips per mail, where a kept connection needs one.
So a sent mail gives its connection back, and the next mail takes it:

- Before each mail over a kept connection, ``RSET``: it starts the transaction from a clean
  state whatever happened before, and it is the liveness check (a server may close a connection
  that sat idle; that is normal). Nothing was sent yet when it fails, so the mail is then sent
  over one new connection instead. A separate ``NOOP`` would be a second round trip for nothing.
- A connection on which anything else failed is closed, never kept: its state is unknown.
- At most ``KEPT_CONNECTIONS`` connections wait idle; a send that finds none opens its own
  (so a send never waits for another), and a connection given back to a full pool is closed.
- The login (``SMTP_USERNAME``/``SMTP_PASSWORD``) happens once per connection.
- ``close`` (at shutdown) says ``QUIT`` on the idle connections; one given back later is closed.

The TLS context is built once, by the caller (see ``tls_context``): building one loads the
whole CA store, which costs more than the rest of a send on a local network.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
from email.message import EmailMessage
from pathlib import Path

#: Idle connections kept per process: as many as the alert sends that run at once (see
#: ``twofactor.wiring.ALERT_SENDERS``) plus one for the retry worker.
KEPT_CONNECTIONS = 5


def tls_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """The context every TLS connection to the mail server uses: the system's CA store, or only
    the CAs in the PEM file ``ca_file`` (a private CA). Certificates and host names are checked.

    Raises ``OSError`` (unreadable) or ``ssl.SSLError`` (no certificate in it) for a bad file."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


class SmtpConnections:
    def __init__(
        self,
        host: str,
        port: int,
        tls: str,
        context: ssl.SSLContext | None,
        username: str | None = None,
        password: str | None = None,
        *,
        timeout: float,
        kept: int = KEPT_CONNECTIONS,
    ) -> None:
        if tls != "none" and context is None:
            raise ValueError(f"SMTP_TLS={tls} needs a TLS context")
        self._host = host
        self._port = port
        self._tls = tls
        self._context = context
        self._credentials = (username, password) if username and password else None
        self._timeout = timeout
        self._kept = kept
        self._idle: list[smtplib.SMTP] = []
        self._lock = threading.Lock()
        self._closed = False
        #: Connections opened so far (the tests read it: N mails, one connection).
        self.opened = 0

    def send(self, message: EmailMessage, envelope_to: str) -> None:
        """Send ``message`` to ``envelope_to`` only; raises ``smtplib.SMTPException`` or
        ``OSError`` when it was not accepted."""
        smtp = self._kept_connection() or self._connect()
        try:
            smtp.send_message(message, to_addrs=[envelope_to])
        except BaseException:
            _discard(smtp)
            raise
        self._give_back(smtp)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for smtp in idle:
            _quit(smtp)

    @property
    def idle(self) -> int:
        with self._lock:
            return len(self._idle)

    def _kept_connection(self) -> smtplib.SMTP | None:
        """A kept connection that answered ``RSET``, or ``None``: none kept, or the one tried
        was dead (closed here; the caller then opens one new connection)."""
        with self._lock:
            if not self._idle:
                return None
            # The most recently used: the least likely to have been closed for idleness.
            smtp = self._idle.pop()
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            _discard(smtp)
            return None
        return smtp

    def _give_back(self, smtp: smtplib.SMTP) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._kept:
                self._idle.append(smtp)
                return
        _quit(smtp)

    def _connect(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP
        if self._tls == "tls":
            smtp = smtplib.SMTP_SSL(
                self._host, self._port, timeout=self._timeout, context=self._context
            )
        else:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        try:
            if self._tls == "starttls":
                smtp.starttls(context=self._context)
            if self._credentials is not None:
                smtp.login(*self._credentials)
        except BaseException:
            _discard(smtp)
            raise
        with self._lock:
            self.opened += 1
        return smtp


def _quit(smtp: smtplib.SMTP) -> None:
    # A polite goodbye; a server that is gone already makes it fail, which changes nothing.
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()
    _discard(smtp)


def _discard(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        smtp.close()
