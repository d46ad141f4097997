"""The request body gate: what a body must be before Connexion reads it, in one middleware.

A body passes three checks, in this order, and the first that fails answers:

1. its size (``limits``): 413 ``PAYLOAD_TOO_LARGE``, at once when ``Content-Length`` says so,
   else the moment the body read so far passes the limit (the rest is not read);
2. its media type (``media_types``): 415 ``UNSUPPORTED_MEDIA_TYPE`` when a body does not say
   what it is, or is sent to an operation that takes none (Connexion would ignore it, whatever
   it claims to be, and do the operation); the type and subtype are lower-cased for Connexion;
3. for a JSON body, its strictness (``json_bodies``): 400 ``INVALID_REQUEST``.

A body within the limits is handed on whole. One middleware rather than one per check: a request
that has no body (every GET and DELETE of the API) costs one look at its headers and nothing else,
where a middleware per check each parsed the headers again and added its frame to every ``await``
of the request. In HTTP/1.1 a request has a body only when it sends ``Content-Length`` or
``Transfer-Encoding`` (RFC 9112 §6.3); without either, and without a ``Content-Type`` to lower-case,
there is nothing to check.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from handlers._http import json_bodies, limits, media_types
from handlers._http.problems import send_problem
from twofactor.errors import InvalidRequest


class RequestBodyGate:
    def __init__(
        self, app: ASGIApp, max_bytes: int, takes_no_body: Callable[[str, str], bool]
    ) -> None:
        self._app = app
        self._max_bytes = max_bytes
        #: (request path, method) -> whether that operation declares no request body.
        self._takes_no_body = takes_no_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        length = encoding = content_type = None
        # ASGI servers give header names in lower case (as Starlette's ``Headers`` expects); the
        # first of repeated headers counts, as with ``Headers.get``.
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = length if length is not None else value
            elif name == b"transfer-encoding":
                encoding = encoding if encoding is not None else value
            elif name == b"content-type":
                content_type = content_type if content_type is not None else value
        if length is None and encoding is None and content_type is None:
            await self._app(scope, receive, send)
            return
        declared = (length or b"").decode("latin-1")
        if declared.isdigit() and int(declared) > self._max_bytes:
            await self._too_large(scope, receive, send)
            return
        body = await limits.read_body(receive, self._max_bytes)
        if body is None:
            await self._too_large(scope, receive, send)
            return
        if content_type is None and media_types.has_body(length, encoding):
            await media_types.refuse(scope, receive, send)
            return
        if body and self._takes_no_body(scope["path"], scope["method"]):
            await media_types.refuse(scope, receive, send, media_types.NO_BODY_TAKEN)
            return
        if content_type is not None:
            scope = {**scope, "headers": media_types.lower_cased_media_type(scope["headers"])}
            if json_bodies.is_json_media_type(content_type.decode("latin-1")) and body.strip():
                try:
                    json_bodies.check_json_body(body)
                except InvalidRequest as refused:
                    await send_problem(
                        scope, receive, send, refused.status, refused.code, refused.detail
                    )
                    return
        await self._app(scope, limits.replay_body(body, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await limits.refuse(scope, receive, send, self._max_bytes)
