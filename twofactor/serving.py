"""How ``twofactor-api serve`` runs uvicorn: explicit HTTP limits, and a clean stop on signals.

**Limits.** Every limit of the HTTP server is set here rather than left to uvicorn's defaults
(README "Configuration" lists them). The server speaks HTTP/1.1 through h11 rather than
httptools, because h11 is the parser that bounds what it buffers while a request head (request
line and headers) arrives: ``HEAD_LIMIT`` bytes, beyond which uvicorn answers 400 and closes the
connection. httptools buffers a head of any size. uvicorn times a connection out only once it
has answered a request; ``_HeadDeadline`` also gives a client ``KEEP_ALIVE_TIMEOUT`` seconds to
deliver each whole request head, so that connections that send nothing, or trickle a head byte by
byte (slowloris), cannot hold the ``MAX_CONNECTIONS`` slots. Those two limits are settings (they
depend on what stands in front of the service); the others are constants.

**Stopping.** systemd and ``docker stop`` send SIGTERM, a terminal sends SIGINT. uvicorn handles
both with a graceful shutdown and then raises the signal again so that the process ends by it;
with the default disposition that would end the process before any ``finally`` of ours runs, and
the embedded database would be left behind. So ``run_until_stopped`` owns both signals for the
whole command: outside uvicorn's own handling, a stop signal raises ``StopRequested`` in the main
thread, which unwinds whatever is under way (start-up included) through its ``finally`` blocks;
then the process ends by that same signal, the conventional status (a shell shows 143 for
SIGTERM, systemd counts it a clean stop).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.supervisors import Multiprocess

from twofactor import listeners
from twofactor.config import ConfigError, Settings, export_to_environment

logger = logging.getLogger("twofactor.serving")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

#: Largest request head (request line and headers together) buffered, in bytes.
HEAD_LIMIT = 16 * 1024
#: Connections the kernel queues before they are accepted.
BACKLOG = 2048
#: Seconds a stop waits for requests in progress before cancelling them: short enough that the
#: database is stopped within ``docker stop``'s 10 s grace period.
GRACEFUL_SHUTDOWN = 5


class StopRequested(BaseException):
    """A stop signal arrived. A ``BaseException``, so no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def run_until_stopped(body: Callable[[], int]) -> int:
    """``body()``'s exit status; on SIGTERM/SIGINT, unwind ``body`` and end by that signal."""
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    stopping = False

    def on_stop_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        if not stopping:  # a second signal must not interrupt the cleanup of the first
            stopping = True
            raise StopRequested(signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_stop_signal)
    try:
        return body()
    except StopRequested as stop:
        stopped_by = stop.signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    logger.info("stopped by %s", signal.Signals(stopped_by).name)
    # A process ending by SIGINT keeps no coverage data: measured by the outcome in the tests.
    if stopped_by == signal.SIGINT:  # pragma: no cover
        # Python's own SIGINT handler would only turn it into a KeyboardInterrupt traceback.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.raise_signal(stopped_by)
    return 128 + stopped_by  # pragma: no cover - only where the signal does not end the process


def serve(settings: Settings, *, host: str, port: int, workers: int) -> int:
    """Serve until a stop signal (``StopRequested``); 3 when the application failed to start."""
    _require_database(settings)
    if workers <= 1:
        from twofactor.app import create_app

        server = uvicorn.Server(uvicorn_config(create_app(settings), settings, host, port))
        server.run()
        # A signal ends ``run`` by ``StopRequested``: returning means the start-up failed.
        return 0 if server.started else STARTUP_FAILURE
    # Each worker counts into files of one fresh directory, which /metrics adds up.
    metrics_dir = Path(tempfile.mkdtemp(prefix="twofactor-metrics-"))
    try:
        export_to_environment(replace(settings, metrics_dir=metrics_dir))
        config = uvicorn_config(
            "twofactor.app:app_from_environment",
            settings,
            host,
            port,
            factory=True,
            workers=workers,
        )
        with ExitStack() as held:
            try:
                sockets = _worker_sockets(config, held)
            except OSError as error:
                logger.error("cannot listen on %s:%d: %s", host, port, error.strerror)
                return STARTUP_FAILURE
            supervisor = _Supervisor(config, sockets=sockets)
            supervisor.run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    if supervisor.stopped_by is not None:
        raise StopRequested(supervisor.stopped_by)
    return STARTUP_FAILURE  # the supervisor gives up when a worker cannot start


def _worker_sockets(config: uvicorn.Config, held: ExitStack) -> list[socket.socket]:
    """What the supervisor hands each worker: a socket of its own on Linux (``listeners``), the
    one shared socket elsewhere. ``OSError`` when the address is taken."""
    if not listeners.SPREADS_CONNECTIONS:  # pragma: no cover - Linux runs the tests
        return [config.bind_socket()]
    reserved = held.enter_context(listeners.reserve(config.host, config.port))
    logger.info("listening on %s:%d, one socket per worker", *reserved.getsockname()[:2])
    return listeners.for_each_worker(reserved)


def _require_database(settings: Settings) -> None:
    """The server does not start without its database. Checked here once, with a clear message,
    for all the workers: they start without requiring it, so that uvicorn's restart of one of
    them during an outage does not stop the server."""
    from twofactor.clock import SystemClock
    from twofactor.wiring import build_runtime

    runtime = build_runtime(settings, SystemClock())
    try:
        if not runtime.open(database_required=False):
            raise ConfigError("the database (MONGODB_URI) is unreachable")
    finally:
        runtime.close()


def uvicorn_config(
    app: Any, settings: Settings, host: str, port: int, **options: Any
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=_HeadDeadline,
        h11_max_incomplete_event_size=HEAD_LIMIT,
        limit_concurrency=settings.max_connections,
        backlog=BACKLOG,
        timeout_keep_alive=settings.keep_alive_timeout,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        # The server's name and version help only whoever probes it; ``Date`` is required of an
        # origin server with a clock (RFC 9110, section 6.6.1).
        server_header=False,
        date_header=True,
        access_log=False,  # the service logs each request itself, with its request id
        log_config=None,
        # The client address keys the throttling budgets: X-Forwarded-For is believed only from
        # the proxies TRUSTED_PROXIES names (uvicorn would trust 127.0.0.1 by default).
        proxy_headers=settings.trusted_proxies is not None,
        forwarded_allow_ips=settings.trusted_proxies or "",
        **options,
    )


class _Supervisor(Multiprocess):
    """uvicorn's supervisor of worker processes, remembering the signal that stopped it."""

    stopped_by: int | None = None

    def handle_int(self) -> None:  # pragma: no cover - see run_until_stopped
        self.stopped_by = signal.SIGINT
        super().handle_int()

    def handle_term(self) -> None:
        self.stopped_by = signal.SIGTERM
        super().handle_term()


class _HeadDeadline(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for each request head.

    The deadline starts when the connection opens and again when a response is complete; it is
    lifted as soon as a whole request head has arrived (uvicorn then starts a new request cycle).
    uvicorn's own keep-alive timer is lifted by any byte the client sends, so alone it lets a
    client hold a connection forever by sending one byte now and then.
    """

    _deadline: asyncio.TimerHandle | None = None
    _waiting_since: object = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._lift_once_a_head_arrived()

    def on_response_complete(self) -> None:
        self._arm()
        super().on_response_complete()  # may start a pipelined request already received
        self._lift_once_a_head_arrived()

    def connection_lost(self, exc: Exception | None) -> None:
        self._lift()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._lift()
        self._waiting_since = self.cycle
        self._deadline = self.loop.call_later(self.timeout_keep_alive, self._too_slow)

    def _lift_once_a_head_arrived(self) -> None:
        if self.cycle is not self._waiting_since:
            self._lift()

    def _lift(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()
