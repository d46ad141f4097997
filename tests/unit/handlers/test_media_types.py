"""The media-type gate: a body must say its type; the type is compared case-insensitively."""

from __future__ import annotations

import asyncio
import json

from starlette.types import Message, Receive, Scope, Send

from handlers._http.media_types import MediaTypeGate


def scope(*headers: tuple[str, str]) -> Scope:
    return {
        "type": "http",
        "method": "POST",
        "path": "/api/auth/login",
        "headers": [(name.encode(), value.encode()) for name, value in headers],
    }


def run(request: Scope) -> tuple[list[Scope], list[Message]]:
    seen: list[Scope] = []
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(MediaTypeGate(app)(request, receive, send))
    return seen, sent


def test_a_body_without_a_content_type_is_refused_with_415() -> None:
    seen, sent = run(scope(("content-length", "12")))

    assert seen == []
    assert sent[0]["status"] == 415
    assert json.loads(sent[1]["body"])["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_a_chunked_body_without_a_content_type_is_refused_too() -> None:
    seen, sent = run(scope(("transfer-encoding", "chunked")))

    assert seen == []
    assert sent[0]["status"] == 415


def test_no_body_needs_no_content_type() -> None:
    seen, sent = run(scope(("content-length", "0")))

    assert len(seen) == 1
    assert sent == []


def test_the_media_type_is_lower_cased_and_its_parameters_kept() -> None:
    seen, _ = run(scope(("content-type", "Application/JSON ; charset=UTF-8")))

    assert dict(seen[0]["headers"])[b"content-type"] == b"application/json; charset=UTF-8"


def test_other_headers_are_left_as_they_are() -> None:
    seen, _ = run(scope(("content-type", "application/json"), ("x-step-up-token", "AbC")))

    assert dict(seen[0]["headers"])[b"x-step-up-token"] == b"AbC"


def test_other_connection_types_pass_untouched() -> None:
    seen, _ = run({"type": "lifespan"})

    assert seen == [{"type": "lifespan"}]
