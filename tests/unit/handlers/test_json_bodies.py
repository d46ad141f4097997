"""Strict JSON bodies: what Python's lenient parser would take, refused as 400 before Connexion."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.types import Message, Receive, Scope, Send

from handlers._http.json_bodies import (
    MAX_DEPTH,
    MAX_NUMBER_LENGTH,
    StrictJsonBodies,
    check_json_body,
    is_json_media_type,
)
from twofactor.errors import InvalidRequest

VALID = b'{"email": "ada@example.com", "password": "correct horse", "session": {"os": "x"}}'


@pytest.mark.parametrize(
    "body",
    [
        VALID,
        b"{}",
        b"[]",
        b'"text"',
        b"null",
        b'{"n": 12345678901234567890, "f": -1.5e-300, "t": true}',
        b'{"emoji": "\\ud83d\\ude00", "raw": "\xf0\x9f\x98\x80"}',
        b'{"brackets in strings": "[[[[{{{{", "escaped quote": "\\"[{"}',
        b"[" * MAX_DEPTH + b"]" * MAX_DEPTH,
        b'{"n": ' + b"9" * MAX_NUMBER_LENGTH + b"}",
        b'{"a": 1, "b": {"a": 2}}',
    ],
)
def test_a_strict_json_body_passes(body: bytes) -> None:
    check_json_body(body)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "nests deeper than 32 levels"),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, "nests deeper than 32 levels"),
        (b"[" * 100_000, "nests deeper than 32 levels"),
        (b'{"name": "\\ud800"}', "unpaired surrogate"),
        (b'{"name": "\\udc00\\ud800"}', "unpaired surrogate"),
        (b'{"\\ud800": 1}', "unpaired surrogate"),
        (b'{"name": "\xed\xa0\x80"}', "not valid UTF-8"),
        (b'{"name": "\xc0\xaf"}', "not valid UTF-8"),
        (b'{"name": "\xff"}', "not valid UTF-8"),
        ('{"name": "x"}'.encode("utf-16"), "not valid UTF-8"),
        (b"\xef\xbb\xbf{}", "byte order mark"),
        (b'{"password": ' + b"1" * 5000 + b"}", "number longer than 32 characters"),
        (b'{"n": 1' + b"0" * MAX_NUMBER_LENGTH + b"}", "number longer than 32 characters"),
        (b'{"n": 1.' + b"5" * 40 + b"}", "number longer than 32 characters"),
        (b'{"n": 1e' + b"9" * 40 + b"}", "number longer than 32 characters"),
        (b'{"email": "a@example.com", "email": "b@example.com"}', "repeats a key"),
        (b'{"s": {"os": "a", "os": "b"}}', "repeats a key"),
        (b'{"n": NaN}', "NaN, which is not JSON"),
        (b'{"n": -Infinity}', "-Infinity, which is not JSON"),
        (b'{"email": "a@example.com"', "not valid JSON"),
        (b"{'email': 1}", "not valid JSON"),
        (b'{"name": "tab\there"}', "not valid JSON"),
        (b'{"a": 1} {"b": 2}', "not valid JSON"),
    ],
)
def test_a_lenient_body_is_refused_with_a_safe_detail(body: bytes, detail: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        check_json_body(body)

    assert detail in refused.value.detail
    assert refused.value.code == "INVALID_REQUEST"
    assert refused.value.status == 400


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON", True),
        ("application/problem+json", True),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        ("", False),
    ],
)
def test_json_media_types_are_recognised_case_insensitively(
    content_type: str, expected: bool
) -> None:
    assert is_json_media_type(content_type) is expected


def run(body: bytes, content_type: str) -> tuple[list[bytes], list[Message]]:
    """The middleware in front of an app that records the body it was handed."""
    handed: list[bytes] = []
    sent: list[Message] = []
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/auth/login",
        "headers": [(b"content-type", content_type.encode())],
    }
    chunks = [body[: len(body) // 2], body[len(body) // 2 :]]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        handed.append(message["body"])

    async def receive() -> Message:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(StrictJsonBodies(app)(scope, receive, send))
    return handed, sent


def test_a_strict_body_reaches_the_app_whole_even_when_it_came_in_chunks() -> None:
    handed, sent = run(VALID, "application/json")

    assert handed == [VALID]
    assert sent == []


def test_a_refused_body_is_answered_400_problem_json_and_never_reaches_the_app() -> None:
    handed, sent = run(b'{"a": 1, "a": 2}', "application/json")

    assert handed == []
    assert sent[0]["status"] == 400
    assert (b"content-type", b"application/problem+json") in sent[0]["headers"]
    problem = json.loads(sent[1]["body"])
    assert problem["code"] == "INVALID_REQUEST"
    assert problem["instance"] == "/api/auth/login"


def test_a_body_of_another_media_type_is_left_to_the_app() -> None:
    handed, sent = run(b"[[[[[[", "text/plain")

    assert handed == [b"[[["]
    assert sent == []
