"""The body gate as an ASGI middleware, driven by hand-made receive/send channels: the size limit,
the media type and strict JSON, in that order, and nothing at all for a request without a body."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from handlers._http.bodies import RequestBodyGate

LIMIT = 10
CHUNKED = ("transfer-encoding", "chunked")
JSON = ("content-type", "application/json")


#: The one operation of these tests that takes no request body.
BODILESS = ("/api/auth/2fa/totp", "DELETE")


def takes_no_body(path: str, method: str) -> bool:
    return (path, method) == BODILESS


def scope(
    *headers: tuple[str, str], path: str = "/api/auth/register", method: str = "POST"
) -> Scope:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(name.encode(), value.encode()) for name, value in headers],
    }


class Recorder:
    """The inner app: records the scope and body it was handed, and what it read after it."""

    def __init__(self) -> None:
        self.scope: Scope | None = None
        self.body: bytes | None = None
        self.after: Message | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.body = (await receive())["body"]
        self.after = await receive()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


class Run:
    def __init__(self, request: Scope, *messages: Message) -> None:
        inbox = list(messages)
        self.sent: list[Message] = []
        self.reads = 0

        async def receive() -> Message:
            self.reads += 1
            return inbox.pop(0) if inbox else {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            self.sent.append(message)

        self.app = Recorder()
        asyncio.run(RequestBodyGate(self.app, LIMIT, takes_no_body)(request, receive, send))

    @property
    def status(self) -> int:
        status: int = self.sent[0]["status"]
        return status

    @property
    def problem(self) -> dict[str, Any]:
        assert (b"content-type", b"application/problem+json") in self.sent[0]["headers"]
        problem: dict[str, Any] = json.loads(self.sent[1]["body"])
        return problem


def body(data: bytes, more: bool = False) -> Message:
    return {"type": "http.request", "body": data, "more_body": more}


# Size -----------------------------------------------------------------------------------------


def test_a_declared_length_over_the_limit_is_refused_without_reading() -> None:
    run = Run(scope(("content-length", "11"), JSON))

    assert (run.status, run.problem["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert (b"connection", b"close") in run.sent[0]["headers"]
    assert run.reads == 0
    assert run.app.body is None


def test_chunks_passing_the_limit_are_refused_and_the_rest_is_not_read() -> None:
    run = Run(scope(CHUNKED, JSON), body(b"123456", True), body(b"789012", True), body(b"never"))

    assert run.status == 413
    assert run.reads == 2
    assert run.app.body is None


def test_chunks_within_the_limit_reach_the_app_as_one_body() -> None:
    run = Run(scope(CHUNKED, ("content-type", "text/plain")), body(b"12345", True), body(b"67890"))

    assert run.app.body == b"1234567890"
    # After the body, the app reads on from the client itself (here: it went away).
    assert run.app.after == {"type": "http.disconnect"}
    assert run.status == 204


def test_a_client_gone_before_its_body_leaves_the_app_an_empty_one() -> None:
    run = Run(scope(("content-length", "5"), JSON), {"type": "http.disconnect"})

    assert run.app.body == b""


# Media type -----------------------------------------------------------------------------------


def test_a_body_without_a_content_type_is_refused_with_415() -> None:
    run = Run(scope(("content-length", "2")), body(b"{}"))

    assert (run.status, run.problem["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert run.app.scope is None


def test_a_chunked_body_without_a_content_type_is_refused_too() -> None:
    run = Run(scope(CHUNKED), body(b""))

    assert run.status == 415


def test_an_empty_body_needs_no_content_type() -> None:
    run = Run(scope(("content-length", "0")), body(b""))

    assert run.app.body == b""
    assert run.status == 204


def test_the_media_type_is_lower_cased_and_its_parameters_kept() -> None:
    run = Run(scope(("content-type", "Application/JSON ; charset=UTF-8")), body(b"{}"))

    assert run.app.scope is not None
    assert dict(run.app.scope["headers"])[b"content-type"] == b"application/json; charset=UTF-8"


def test_other_headers_are_left_as_they_are() -> None:
    run = Run(scope(JSON, ("x-step-up-token", "AbC")), body(b"{}"))

    assert run.app.scope is not None
    assert dict(run.app.scope["headers"])[b"x-step-up-token"] == b"AbC"


# Strict JSON ----------------------------------------------------------------------------------


def test_a_strict_body_reaches_the_app_whole_even_when_it_came_in_chunks() -> None:
    run = Run(scope(CHUNKED, JSON), body(b'{"a":', True), body(b" 1}"))

    assert run.app.body == b'{"a": 1}'
    assert run.status == 204


def test_a_refused_body_is_answered_400_problem_json_and_never_reaches_the_app() -> None:
    run = Run(scope(("content-length", "9"), JSON), body(b'{"a":NaN}'))

    assert run.status == 400
    assert run.problem["code"] == "INVALID_REQUEST"
    assert "NaN" in run.problem["detail"]
    assert run.problem["instance"] == "/api/auth/register"
    assert run.app.scope is None


def test_a_body_of_any_json_media_type_is_checked() -> None:
    run = Run(scope(("content-type", "application/merge-patch+json")), body(b"[NaN]"))

    assert run.problem["code"] == "INVALID_REQUEST"


def test_a_body_of_another_media_type_is_left_to_the_app() -> None:
    run = Run(scope(("content-type", "text/plain")), body(b"[[[[[["))

    assert run.app.body == b"[[[[[["
    assert run.sent[0]["status"] == 204


def test_a_blank_json_body_is_left_to_the_app() -> None:
    run = Run(scope(JSON), body(b"  "))

    assert run.app.body == b"  "


# No body --------------------------------------------------------------------------------------


def test_a_body_of_any_type_sent_to_an_operation_that_takes_none_is_refused_with_415() -> None:
    for content_type in ("text/plain", "application/json"):
        run = Run(
            scope(
                ("content-length", "2"),
                ("content-type", content_type),
                path=BODILESS[0],
                method=BODILESS[1],
            ),
            body(b"{}"),
        )

        assert run.status == 415
        assert run.problem["code"] == "UNSUPPORTED_MEDIA_TYPE"
        assert run.problem["detail"] == "This operation takes no request body."
        assert run.app.scope is None


def test_an_empty_body_with_a_type_passes_to_an_operation_that_takes_none() -> None:
    run = Run(
        scope(
            ("content-length", "0"),
            ("content-type", "application/json"),
            path=BODILESS[0],
            method=BODILESS[1],
        ),
        body(b""),
    )

    assert run.app.body == b""


def test_a_request_without_a_body_reaches_the_app_with_its_own_scope_and_receive() -> None:
    request = scope(("authorization", "Bearer x"))
    seen: list[tuple[Scope, Receive]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive))

    async def receive() -> Message:
        return body(b"")

    async def send(message: Message) -> None:
        raise AssertionError("the gate answered")

    asyncio.run(RequestBodyGate(app, LIMIT, takes_no_body)(request, receive, send))

    assert seen == [(request, receive)]


def test_other_connection_types_pass_untouched() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        return {}

    async def ignore(message: Message) -> None:
        return None

    asyncio.run(RequestBodyGate(app, LIMIT, takes_no_body)({"type": "lifespan"}, nothing, ignore))
    assert seen == ["lifespan"]
