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
- A whole send ends within ``SEND_DEADLINE`` seconds once the server has greeted. ``SMTP_TIMEOUT``
  bounds each wait for the server, not their sum: a server that trickles its answers a byte at a
  time would otherwise hold a send for as long as it likes. At the deadline the connection's
  socket is shut down from a watchdog thread, which ends the blocked read, and the send fails
  like any other. One watchdog thread watches every send of the pool (a timer thread per send
  cost a tenth of the service's CPU time on the path that sends an alert) and ends once no send
  has been watched for a few seconds.

The TLS context is built once, by the caller (see ``tls_context``): building one loads the
whole CA store, which costs more than the rest of a send on a local network.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import threading
import time
from collections import deque
from email.message import EmailMessage
from pathlib import Path

#: The longest a send may take, connecting included. Well under the five minutes after which the
#: outbox treats a claimed alert as abandoned and lets the retry worker send it: a send still
#: running then could deliver the alert a second time.
SEND_DEADLINE = 120.0

#: Idle connections kept per process: as many as the alert sends that run at once (see
#: ``twofactor.wiring.ALERT_SENDERS``) plus one for the retry worker.
KEPT_CONNECTIONS = 17


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
        deadline: float = SEND_DEADLINE,
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
        self._watchdog = _Watchdog(deadline, name=f"smtp-deadlines-{host}:{port}")
        self._idle: list[smtplib.SMTP] = []
        self._lock = threading.Lock()
        self._closed = False
        #: Connections opened so far (the tests read it: N mails, one connection).
        self.opened = 0

    def send(self, message: EmailMessage, envelope_to: str) -> None:
        """Send ``message`` to ``envelope_to`` only; raises ``smtplib.SMTPException`` or
        ``OSError`` when it was not accepted."""
        with self._watchdog.watch() as deadline:
            smtp = self._kept_connection(deadline) or self._connect(deadline)
            try:
                smtp.send_message(message, to_addrs=[envelope_to])
            except BaseException:
                _discard(smtp)
                raise
        # Accepted. A deadline that passed just after it shut the socket: keep no such connection.
        if deadline.expired:
            _discard(smtp)
        else:
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

    def _kept_connection(self, deadline: _Deadline) -> smtplib.SMTP | None:
        """A kept connection that answered ``RSET``, or ``None``: none kept, or the one tried
        was dead (closed here; the caller then opens one new connection)."""
        with self._lock:
            if not self._idle:
                return None
            # The most recently used: the least likely to have been closed for idleness.
            smtp = self._idle.pop()
        try:
            deadline.watch(smtp)
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

    def _connect(self, deadline: _Deadline) -> smtplib.SMTP:
        smtp: smtplib.SMTP
        # The constructor connects and reads the greeting before the deadline can watch the
        # socket: that part is bounded by ``SMTP_TIMEOUT`` per line, and a deadline that passed
        # meanwhile ends the send right after it.
        if self._tls == "tls":
            smtp = smtplib.SMTP_SSL(
                self._host, self._port, timeout=self._timeout, context=self._context
            )
        else:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        try:
            deadline.watch(smtp)
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


class _Deadline:
    """Shuts down the socket of the watched connection when the time is up."""

    def __init__(self, watchdog: _Watchdog, at: float) -> None:
        self._watchdog = watchdog
        #: When the time is up, on ``time.monotonic``'s clock.
        self.at = at
        self._lock = threading.Lock()
        self._watched: smtplib.SMTP | None = None
        self.expired = False
        #: The send is over: nothing to expire any more.
        self.ended = False

    def __enter__(self) -> _Deadline:
        return self

    def __exit__(self, *_: object) -> None:
        self._watchdog.forget(self)

    def watch(self, smtp: smtplib.SMTP) -> None:
        with self._lock:
            self._watched = smtp
        self.check()

    def check(self) -> None:
        """Raise if the time ran out (a step may have ended just as its socket was shut)."""
        if self.expired:
            raise TimeoutError("the mail server took longer than the send deadline")

    def shut(self) -> None:
        """End the watched connection's send (``expired`` is set already)."""
        with self._lock:
            smtp = self._watched
        sock = getattr(smtp, "sock", None) if smtp is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One thread that expires the deadlines of a pool's sends.

    Every deadline is the same number of seconds from its start, so the deadlines in the queue
    expire in the order they were made: the thread only ever waits for the first one. A send that
    ends marks its deadline ended, and the ended ones at the head of the queue go with it, so the
    queue holds about as many deadlines as there are sends in progress.
    """

    #: Seconds without anything to watch after which the thread ends (the next send starts one).
    IDLE = 5.0

    def __init__(self, seconds: float, name: str) -> None:
        self._seconds = seconds
        self._name = name
        self._changed = threading.Condition()
        self._queue: deque[_Deadline] = deque()
        self._thread: threading.Thread | None = None
        #: When the thread's current wait ends by itself: a later deadline needs no wake-up.
        self._wakes_at = 0.0

    def watch(self) -> _Deadline:
        deadline = _Deadline(self, time.monotonic() + self._seconds)
        with self._changed:
            self._queue.append(deadline)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            elif deadline.at < self._wakes_at:
                # Only with a deadline shorter than ``IDLE``: waking the thread for each send
                # cost a twentieth of the service's time on the path that sends an alert.
                self._changed.notify()
        return deadline

    def forget(self, deadline: _Deadline) -> None:
        with self._changed:
            deadline.ended = True
            while self._queue and self._queue[0].ended:
                self._queue.popleft()

    def _run(self) -> None:
        while (due := self._next_due()) is not None:
            due.shut()

    def _next_due(self) -> _Deadline | None:
        """The next deadline whose time is up (taken off the queue), or ``None`` once idle."""
        with self._changed:
            while True:
                while self._queue and self._queue[0].ended:
                    self._queue.popleft()
                if not self._queue:
                    self._wakes_at = time.monotonic() + self.IDLE
                    if not self._changed.wait(self.IDLE) and not self._queue:
                        self._thread = None
                        return None
                    continue
                first = self._queue[0]
                left = first.at - time.monotonic()
                if left <= 0:
                    self._queue.popleft()
                    # Under the lock that ``forget`` takes: a send that ends from now on sees it
                    # and keeps no connection whose socket is about to be shut.
                    first.expired = True
                    return first
                self._wakes_at = first.at
                self._changed.wait(left)


def _quit(smtp: smtplib.SMTP) -> None:
    # A polite goodbye; a server that is gone already makes it fail, which changes nothing.
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()
    _discard(smtp)


def _discard(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        smtp.close()
