"""The body size limit as an ASGI middleware, driven by hand-made receive/send channels."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from handlers._http.limits import BodySizeLimit

LIMIT = 10


def scope(**headers: str) -> Scope:
    return {
        "type": "http",
        "method": "POST",
        "path": "/api/auth/register",
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }


class Recorder:
    """The inner app: records the body it was handed, and what it read after it."""

    def __init__(self) -> None:
        self.body: bytes | None = None
        self.after: Message | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.body = (await receive())["body"]
        self.after = await receive()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def run(messages: list[Message], request: Scope) -> tuple[Recorder, list[Message], int]:
    inbox = list(messages)
    sent: list[Message] = []
    reads = 0

    async def receive() -> Message:
        nonlocal reads
        reads += 1
        return inbox.pop(0) if inbox else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    app = Recorder()
    asyncio.run(BodySizeLimit(app, LIMIT)(request, receive, send))
    return app, sent, reads


def status_and_body(sent: list[Message]) -> tuple[int, dict[str, Any]]:
    return sent[0]["status"], json.loads(sent[1]["body"])


def test_a_declared_length_over_the_limit_is_refused_without_reading() -> None:
    app, sent, reads = run([], scope(content_length="11"))

    status, body = status_and_body(sent)
    assert (status, body["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert reads == 0
    assert app.body is None


def test_chunks_passing_the_limit_are_refused_and_the_rest_is_not_read() -> None:
    chunks: list[Message] = [
        {"type": "http.request", "body": b"123456", "more_body": True},
        {"type": "http.request", "body": b"789012", "more_body": True},
        {"type": "http.request", "body": b"never read", "more_body": False},
    ]
    app, sent, reads = run(chunks, scope())

    assert status_and_body(sent)[0] == 413
    assert reads == 2
    assert app.body is None


def test_chunks_within_the_limit_reach_the_app_as_one_body() -> None:
    chunks: list[Message] = [
        {"type": "http.request", "body": b"12345", "more_body": True},
        {"type": "http.request", "body": b"67890", "more_body": False},
    ]
    app, sent, _ = run(chunks, scope())

    assert app.body == b"1234567890"
    # After the body, the app reads on from the client itself (here: it went away).
    assert app.after == {"type": "http.disconnect"}
    assert sent[0]["status"] == 204


def test_a_client_gone_before_its_body_leaves_the_app_an_empty_one() -> None:
    app, _, _ = run([{"type": "http.disconnect"}], scope())

    assert app.body == b""


def test_other_connection_types_pass_untouched() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        return {}

    async def ignore(message: Message) -> None:
        return None

    asyncio.run(BodySizeLimit(app, LIMIT)({"type": "lifespan"}, nothing, ignore))
    assert seen == ["lifespan"]
