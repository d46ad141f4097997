"""``create_app(settings)``: the Connexion application, routed and secured by ``openapi.yaml``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from anyio import to_thread
from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.middleware import MiddlewarePosition
from connexion.resolver import Resolver
from connexion.utils import get_function_from_name
from starlette.exceptions import HTTPException

from handlers._http import problems
from handlers._http.bodies import RequestBodyGate
from handlers._http.metrics import Exposition
from handlers._http.middleware import RequestContextMiddleware
from handlers._http.spec_index import SpecIndex
from handlers._http.threads import on_threads
from handlers.security import SECURITY_MAP
from twofactor.clock import Clock, SystemClock
from twofactor.config import Settings, load_settings_from_environment
from twofactor.errors import ServiceError
from twofactor.lifeline import die_with_parent
from twofactor.logs import configure_logging
from twofactor.security.passwords import PasswordHasher
from twofactor.store.database import CommandListeners
from twofactor.wiring import Runtime, build_runtime

logger = logging.getLogger("twofactor.app")

SPECIFICATION = Path(__file__).resolve().parent.parent / "openapi.yaml"


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    passwords: PasswordHasher | None = None,
    validate_responses: bool = False,
    database_required: bool = True,
    event_listeners: CommandListeners = (),
) -> AsyncApp:
    """The application for ``settings`` (which must name a database and carry keys).

    ``clock`` is injected so tests can move time, ``passwords`` so they can hash cheaply;
    ``validate_responses`` makes every answer be checked against the spec (the tests turn it on).
    ``database_required`` makes an unreachable database fail the start-up; worker processes
    turn it off (see ``Runtime.open``), so that a worker uvicorn restarts during a database
    outage does not make uvicorn stop the whole server. ``event_listeners`` (pymongo command
    monitoring) let the tests count the database commands each request sends.
    """
    runtime = build_runtime(
        settings, clock or SystemClock(), passwords=passwords, event_listeners=event_listeners
    )

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        if not await to_thread.run_sync(partial(runtime.open, database_required=database_required)):
            logger.warning("the database is unreachable; serving 503 on /ready until it is back")
        worker = asyncio.create_task(_retry_alerts(runtime))
        try:
            yield
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            runtime.close()

    app = AsyncApp(__name__, lifespan=lifespan, security_map=SECURITY_MAP)
    app.add_api(
        SPECIFICATION,
        # Each plain handler runs in the service's thread pool (``handlers._http.threads``).
        resolver=Resolver(function_resolver=_on_threads),
        strict_validation=True,
        validate_responses=validate_responses,
    )
    spec = SpecIndex.load(SPECIFICATION)
    app.add_middleware(
        RequestContextMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        services=runtime.services,
        cookie_secure=settings.cookie_secure,
        exposition=Exposition(settings.metrics_dir) if settings.metrics_enabled else None,
        operation_of=spec.operation_id,
    )
    # Added after the context middleware, so inside it: a 413, 415 or 400 of the body gate still
    # has its request id and log line.
    app.add_middleware(
        RequestBodyGate,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        max_bytes=settings.max_body_size,
        takes_no_body=spec.takes_no_body,
    )
    renderers: list[tuple[type[Exception], problems.Renderer]] = [
        (ServiceError, problems.service_error),
        (ProblemException, partial(problems.connexion_problem, spec=spec)),
        (HTTPException, partial(problems.http_exception, spec=spec)),
        (UnicodeDecodeError, problems.undecodable_body),
        (Exception, problems.unexpected_error),
    ]
    for error, renderer in renderers:
        app.add_error_handler(error, problems.on_event_loop(renderer))
    return app


def _on_threads(operation_id: str) -> Any:
    return on_threads(get_function_from_name(operation_id))


def app_from_environment() -> AsyncApp:
    """Factory for uvicorn worker processes, which receive their settings as variables.

    A worker ends with the supervisor that started it, even a supervisor killed with SIGKILL
    (see ``twofactor.lifeline``): an orphaned worker would go on serving on the shared socket.
    """
    supervisor = multiprocessing.parent_process()
    if supervisor is not None and supervisor.pid is not None:
        die_with_parent(supervisor.pid)
    settings = load_settings_from_environment()
    configure_logging(settings.log_format)
    return create_app(settings, database_required=False)


async def _retry_alerts(runtime: Runtime) -> None:
    """The outbox worker of this process: sends alerts whose first attempt failed."""
    while True:
        await asyncio.sleep(runtime.settings.alert_retry_interval)
        try:
            await to_thread.run_sync(runtime.services.alerts.deliver_due)
        except Exception:
            logger.exception("the alert retry pass failed; the next pass tries again")
