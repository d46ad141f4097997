"""Is the mail server reachable? A cheap, bounded probe for the readiness check.

One probe is a TCP connection (TLS for ``SMTP_TLS=tls``), ``EHLO``, ``NOOP`` and ``QUIT`` within
a short timeout: no STARTTLS, no login, no message, so it costs the mail server next to nothing
and never counts as a failed login. Its result is kept for ``max_age`` seconds and only one
probe runs at a time (the others answer with the last result), so a flood of readiness probes
cannot become a flood of SMTP connections.

Probing beats "the last delivery worked": a service that sends no mail for an hour would
otherwise not notice its mail server went away, and a single failed delivery (one refused
recipient) would mark it down.
"""

from __future__ import annotations

import smtplib
import ssl
import threading
import time
from collections.abc import Callable

_TIMEOUT_SECONDS = 2.0
_MAX_AGE_SECONDS = 5.0


class SmtpProbe:
    def __init__(
        self,
        host: str,
        port: int,
        tls: str,
        *,
        context: ssl.SSLContext | None = None,
        timeout: float = _TIMEOUT_SECONDS,
        max_age: float = _MAX_AGE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._host = host
        self._port = port
        self._tls = tls
        # The service's own context (built once, with its CAs); one of its own otherwise.
        self._context = context
        self._timeout = timeout
        self._max_age = max_age
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._result = True
        self._checked_at: float | None = None

    def reachable(self) -> bool:
        if self._fresh():
            return self._result
        # Another thread probing right now: answer with the last result, unless there is none.
        if not self._lock.acquire(blocking=self._checked_at is None):
            return self._result
        try:
            if not self._fresh():
                self._result = self._probe()
                self._checked_at = self._monotonic()
            return self._result
        finally:
            self._lock.release()

    def _fresh(self) -> bool:
        checked_at = self._checked_at
        return checked_at is not None and self._monotonic() - checked_at < self._max_age

    def _probe(self) -> bool:
        try:
            smtp = (
                smtplib.SMTP_SSL(
                    self._host,
                    self._port,
                    timeout=self._timeout,
                    context=self._context or ssl.create_default_context(),
                )
                if self._tls == "tls"
                else smtplib.SMTP(self._host, self._port, timeout=self._timeout)
            )
            with smtp:
                smtp.ehlo()
                code, _ = smtp.noop()
        except (smtplib.SMTPException, OSError):
            return False
        return code == 250
