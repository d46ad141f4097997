"""HTTP operations of the ``health`` tag: liveness, readiness and the Prometheus metrics."""

from __future__ import annotations

from connexion import request
from starlette.exceptions import HTTPException
from starlette.responses import Response

from handlers._http import presenters
from handlers._http.metrics import MEDIA_TYPE, Exposition
from handlers._http.web import METRICS_KEY, json_response, services
from twofactor.errors import ServiceUnavailable


async def live() -> Response:
    # A coroutine: Connexion runs it on the event loop, where a plain ``def`` would cost a hop
    # to the thread pool and back for an answer that reads nothing.
    return json_response(presenters.health())


def ready() -> Response:
    checks = services().readiness.check()
    down = [name for name, reachable in checks.items() if not reachable]
    if down:
        # Component names only ("database", "mail"): never an address or a driver message.
        raise ServiceUnavailable(f"Not ready: {', '.join(down)} not reachable.")
    return json_response(presenters.readiness(list(checks)))


def metrics() -> Response:
    # A plain ``def``: Connexion runs it in a thread, so reading the workers' files never
    # blocks the event loop.
    exposition: Exposition | None = request.scope.get(METRICS_KEY)
    if exposition is None:
        # Switched off (METRICS_ENABLED=false): answered as a path that is not there.
        raise HTTPException(404)
    return Response(exposition.render(), media_type=MEDIA_TYPE)
