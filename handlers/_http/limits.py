"""The request body size limit, enforced before any of the body is parsed.

Connexion reads and parses a whole body before validating it, so without a limit a client can
make a worker hold (and parse) as much as it cares to send. The body gate (``bodies``) answers
413 ``PAYLOAD_TOO_LARGE`` as soon as the body is known to be too large: at once when
``Content-Length`` says so (nothing of the body is read), or while reading a chunked body the
moment the limit is passed (``read_body``: the rest is not read).
"""

from __future__ import annotations

from starlette.types import Message, Receive, Scope, Send

from handlers._http.problems import send_problem

PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"


async def refuse(scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
    detail = f"The request body is larger than {max_bytes} bytes."
    # ``Connection: close``: the unread rest of the body must not be taken for a request.
    await send_problem(
        scope, receive, send, 413, PAYLOAD_TOO_LARGE, detail, {"Connection": "close"}
    )


async def read_body(receive: Receive, max_bytes: int | None = None) -> bytes | None:
    """The whole body, or ``None`` the moment it is longer than ``max_bytes`` (rest unread)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away: the app will see it through ``receive``
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the buffered body once, then whatever the client sends next."""
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
