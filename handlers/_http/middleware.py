"""The outermost middleware: request id, the services for this app, the access log and the HTTP
metrics.

It sits before Connexion's exception middleware so that it also sees the 401/404 answers, and
before the body limits so that a 413 has its request id, log line and count too.

The access log is one record per request on ``twofactor.access``, its fields in
``extra={"fields": ...}`` (top-level keys of the JSON line): ``requestId``, ``method``, ``path``,
``operation``, ``status``, ``code``, ``durationMs``, ``client``. Never the query string, a
header, a cookie or a body: credentials and codes travel there. ``code`` is the problem's
``code`` (read from the body of problem answers only, which are small) or the ``X-Error-Code``
header of a 304.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers._http import metrics
from handlers._http.web import COOKIE_SECURE_KEY, METRICS_KEY, REQUEST_ID_KEY, SERVICES_KEY
from twofactor.domain.services import Services
from twofactor.logs import FIELDS

access_log = logging.getLogger("twofactor.access")

#: Connexion's routing records the operation it chose in ``scope["extensions"]`` under this key.
_ROUTING = "connexion_routing"
#: A hostile path can be kilobytes long; the log keeps its beginning.
_PATH_LIMIT = 200
#: Problem bodies are a few hundred bytes, but ``instance`` echoes the request path, which may be
#: as long as the request head allows (16 KiB, ``twofactor.serving.HEAD_LIMIT``; up to six bytes
#: a byte once escaped in JSON): a 404 for a very long path must still be logged with its code.
#: A larger error body is not parsed for its code.
_PROBLEM_BODY_LIMIT = 128 * 1024
_PROBLEM_MEDIA_TYPE = b"application/problem+json"


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        services: Services,
        cookie_secure: bool,
        exposition: metrics.Exposition | None,
        operation_of: Callable[[str, str], str | None] = lambda _path, _method: None,
    ) -> None:
        self._app = app
        #: The operation of a request Connexion did not route (answered before routing).
        self._operation_of = operation_of
        self._services = services
        self._cookie_secure = cookie_secure
        self._exposition = exposition

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request_id = _request_id()
        scope[REQUEST_ID_KEY] = request_id
        scope[SERVICES_KEY] = self._services
        scope[COOKIE_SECURE_KEY] = self._cookie_secure
        scope[METRICS_KEY] = self._exposition
        # Shared with the copy of the scope Connexion's routing makes: it writes the operation
        # into this very dictionary.
        extensions: dict[str, Any] = scope.setdefault("extensions", {})
        started = time.perf_counter()
        answer = _Answer()

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.started(message, request_id)
            elif answer.problem and message["type"] == "http.response.body":
                answer.problem_body(message)
            await send(message)

        try:
            await self._app(scope, receive, send_observed)
        finally:
            seconds = time.perf_counter() - started
            routing = extensions.get(_ROUTING)
            operation = (
                (routing or {}).get("operation_id")
                or self._operation_of(scope["path"], scope["method"])
                or metrics.UNMATCHED
            )
            if self._exposition is not None:
                metrics.observe(operation, answer.status, answer.code or "", seconds)
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                access_log.info(
                    "%s %s %d",
                    scope["method"],
                    scope["path"][:_PATH_LIMIT],
                    answer.status,
                    extra={
                        FIELDS: {
                            "requestId": request_id,
                            "method": scope["method"],
                            "path": scope["path"][:_PATH_LIMIT],
                            "operation": operation,
                            "status": answer.status,
                            "code": answer.code,
                            "durationMs": round(seconds * 1000, 2),
                            "client": client[0] if client else None,
                        }
                    },
                )


def _request_id() -> str:
    """16 hex digits from the process's Mersenne Twister: unique enough to find a request in the
    logs, and a request id is no secret. ``secrets.token_hex`` reads the kernel's generator in a
    system call that lets go of the GIL, which a worker thread can then keep for a whole switch
    interval (5 ms) before the event loop gets it back. ``random`` reseeds in a forked child."""
    return f"{random.getrandbits(64):016x}"


class _Answer:
    """What the access log and the metrics need of the response, caught as it is sent."""

    __slots__ = ("code", "problem", "status")

    def __init__(self) -> None:
        # A response never started: the server answers 500 (or the client went away).
        self.status = 500
        self.code: str | None = None
        self.problem = False

    def started(self, message: Message, request_id: str) -> None:
        self.status = message["status"]
        headers: list[tuple[bytes, bytes]] = list(message.get("headers", ()))
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"content-type":
                self.problem = value.startswith(_PROBLEM_MEDIA_TYPE)
            elif lowered == b"x-error-code":
                self.code = value.decode("latin-1")
        headers.append((b"x-request-id", request_id.encode()))
        message["headers"] = headers

    def problem_body(self, message: Message) -> None:
        self.problem = False  # the first body message carries it; later ones are not looked at
        body: bytes = message.get("body", b"")
        if message.get("more_body", False) or len(body) > _PROBLEM_BODY_LIMIT:
            return
        try:
            code = json.loads(body).get("code")
        except (ValueError, AttributeError):
            return
        if isinstance(code, str):
            self.code = code
