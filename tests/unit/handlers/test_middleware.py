"""The request-context middleware over small ASGI apps: the request id on every answer, and an
access-log record with the problem code however the answer was sent."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY

from handlers._http.metrics import Exposition
from handlers._http.middleware import RequestContextMiddleware
from tests.support import responses_seen

PROBLEM = [(b"content-type", b"application/problem+json")]


@pytest.fixture(autouse=True)
def _toy_answers_are_not_the_services() -> Iterator[None]:
    with responses_seen.paused():
        yield


def test_an_answer_before_routing_is_logged_with_the_operation_of_its_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="twofactor.access")
    middleware = RequestContextMiddleware(
        answering(413, PROBLEM, (b'{"code": "PAYLOAD_TOO_LARGE"}', False)),
        services=None,
        cookie_secure=False,
        exposition=None,
        operation_of=lambda path, method: f"{method} {path}" if path == "/api/x" else None,
    )
    for path in ("/api/x", "/api/nowhere"):
        scope = {"type": "http", "method": "POST", "path": path, "client": None}
        asyncio.run(middleware(scope, _no_body, _discard))

    records = [r for r in caplog.records if r.name == "twofactor.access"]
    assert [r.fields["operation"] for r in records] == ["POST /api/x", "unmatched"]  # type: ignore[attr-defined]


async def _no_body() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _discard(message: dict) -> None:
    pass


def answering(status: int, headers: list[tuple[bytes, bytes]], *bodies: tuple[bytes, bool]):
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        for body, more in bodies:
            await send({"type": "http.response.body", "body": body, "more_body": more})

    return app


def run(app: Any, *, exposition: Exposition | None = None, path: str = "/api/x") -> list[dict]:
    middleware = RequestContextMiddleware(
        app, services=None, cookie_secure=False, exposition=exposition
    )
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "client": ("192.0.2.1", 5000)}
    asyncio.run(middleware(scope, receive, send))
    return sent


def access_fields(caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    [record] = [r for r in caplog.records if r.name == "twofactor.access"]
    fields: dict[str, Any] = record.fields  # type: ignore[attr-defined]
    return fields


@pytest.fixture(autouse=True)
def _capture(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="twofactor.access")


def test_the_code_of_a_problem_body_is_logged_with_the_request_id_it_was_sent_with(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = json.dumps({"status": 429, "code": "TOO_MANY_ATTEMPTS"}).encode()

    sent = run(answering(429, PROBLEM, (body, False)))

    fields = access_fields(caplog)
    assert (fields["status"], fields["code"]) == (429, "TOO_MANY_ATTEMPTS")
    assert (b"x-request-id", fields["requestId"].encode()) in sent[0]["headers"]
    assert fields["client"] == "192.0.2.1"
    assert fields["operation"] == "unmatched"


def test_the_code_of_a_problem_echoing_a_path_as_long_as_a_request_head_allows_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The longest path a request head may carry, every byte escaped in the problem's instance.
    instance = "\\u00e9" * 16 * 1024
    body = ('{"code": "NOT_FOUND", "instance": "' + instance + '"}').encode()
    run(answering(404, PROBLEM, (body, False)))

    assert access_fields(caplog)["code"] == "NOT_FOUND"


def test_the_code_of_a_304_comes_from_its_header(caplog: pytest.LogCaptureFixture) -> None:
    run(answering(304, [(b"X-Error-Code", b"TWO_FACTOR_METHOD_ALREADY_DISABLED")]))

    assert access_fields(caplog)["code"] == "TWO_FACTOR_METHOD_ALREADY_DISABLED"


@pytest.mark.parametrize(
    "bodies",
    [
        [(b'{"code": "SPLIT', True), (b'"}', False)],  # a streamed body is not parsed
        [(b"not json", False)],
        [(b'["a list"]', False)],
        [(b'{"code": 7}', False)],
        [(b'{"code": "X", "pad": "' + b"a" * 200_000 + b'"}', False)],  # too large to parse
    ],
)
def test_a_problem_body_without_a_readable_code_logs_none(
    caplog: pytest.LogCaptureFixture, bodies: list[tuple[bytes, bool]]
) -> None:
    run(answering(400, PROBLEM, *bodies))

    assert access_fields(caplog)["code"] is None


def test_a_success_body_is_not_parsed(caplog: pytest.LogCaptureFixture) -> None:
    run(answering(200, [(b"content-type", b"application/json")], (b'{"code": "X"}', False)))

    assert access_fields(caplog)["code"] is None


def test_an_app_that_never_answers_is_logged_as_500(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("the server turns this into a 500")

    with pytest.raises(RuntimeError):
        run(broken)

    assert access_fields(caplog)["status"] == 500


def test_a_long_path_is_cut_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    run(answering(404, []), path="/api/" + "a" * 5000)

    assert len(access_fields(caplog)["path"]) == 200


def test_requests_are_counted_only_when_metrics_are_on() -> None:
    def count() -> float:
        labels = {"operation": "unmatched", "status": "418", "code": ""}
        return REGISTRY.get_sample_value("twofactor_http_requests_total", labels) or 0.0

    before = count()
    run(answering(418, []), exposition=None)
    assert count() == before
    run(answering(418, []), exposition=Exposition(None))
    assert count() == before + 1


def test_other_scopes_pass_through_untouched() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    middleware = RequestContextMiddleware(app, services=None, cookie_secure=False, exposition=None)
    asyncio.run(middleware({"type": "lifespan"}, None, None))

    assert seen == ["lifespan"]


def test_no_access_record_is_built_while_the_access_log_is_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="twofactor.access")

    sent = run(answering(200, []))

    assert [r for r in caplog.records if r.name == "twofactor.access"] == []
    assert sent[0]["status"] == 200
    assert any(name == b"x-request-id" for name, _ in sent[0]["headers"])


def test_request_ids_are_sixteen_hex_digits_and_differ() -> None:
    ids = {dict(run(answering(204, []))[0]["headers"])[b"x-request-id"].decode() for _ in range(50)}

    assert len(ids) == 50
    assert all(len(value) == 16 and int(value, 16) >= 0 for value in ids)
