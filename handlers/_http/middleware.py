"""The outermost middleware: request id, the services for this app, and the access log.

It sits before Connexion's exception middleware so that it also sees the 401/404 answers.
"""

from __future__ import annotations

import logging
import secrets
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers._http.web import COOKIE_SECURE_KEY, REQUEST_ID_KEY, SERVICES_KEY
from twofactor.domain.services import Services

access_log = logging.getLogger("twofactor.access")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, services: Services, cookie_secure: bool) -> None:
        self._app = app
        self._services = services
        self._cookie_secure = cookie_secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope[REQUEST_ID_KEY] = request_id
        scope[SERVICES_KEY] = self._services
        scope[COOKIE_SECURE_KEY] = self._cookie_secure
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-Id"] = request_id
            await send(message)

        try:
            await self._app(scope, receive, send_with_id)
        finally:
            # Path only: the query string is never logged (no credential travels there, but a
            # client might still put one there by mistake).
            access_log.info(
                "%s %s %d %.1fms request=%s",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
                request_id,
            )
