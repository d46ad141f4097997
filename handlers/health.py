"""HTTP operations of the ``health`` tag: liveness and readiness."""

from __future__ import annotations

from starlette.responses import Response

from handlers._http import presenters
from handlers._http.web import json_response, services
from twofactor.errors import ServiceUnavailable


def live() -> Response:
    return json_response(presenters.health())


def ready() -> Response:
    if not services().readiness.is_ready():
        raise ServiceUnavailable("The database does not answer.")
    return json_response(presenters.readiness())
