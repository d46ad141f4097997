"""What a request body claims to be, settled before Connexion looks at it.

Media types are case-insensitive (RFC 9110 §8.3.1), but Connexion matches them as written, and a
body without any ``Content-Type`` made it fail inside its validator (500). Here the type and
subtype are lower-cased (parameters are left alone), and a body that does not say what it is gets
415 ``UNSUPPORTED_MEDIA_TYPE`` before anything reads it.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from handlers._http.problems import send_problem

UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"


class MediaTypeGate:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if "content-type" not in headers:
            if _has_body(headers):
                await _refuse(scope, receive, send)
                return
            await self._app(scope, receive, send)
            return
        await self._app({**scope, "headers": _lower_cased_media_type(scope)}, receive, send)


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length", "0").strip()
    return "transfer-encoding" in headers or not length.isdigit() or int(length) > 0


def _lower_cased_media_type(scope: Scope) -> list[tuple[bytes, bytes]]:
    result = []
    for name, value in scope["headers"]:
        if name.lower() == b"content-type":
            media_type, separator, parameters = value.partition(b";")
            value = media_type.strip().lower() + separator + parameters
        result.append((name, value))
    return result


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    detail = "The request body must say its media type: Content-Type: application/json."
    await send_problem(scope, receive, send, 415, UNSUPPORTED_MEDIA_TYPE, detail)
