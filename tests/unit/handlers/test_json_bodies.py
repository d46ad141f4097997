"""Strict JSON bodies: what Python's lenient parser would take, refused with one 400 error.

The body gate applies the check to requests: ``test_bodies``."""

from __future__ import annotations

import pytest

from handlers._http.json_bodies import (
    MAX_DEPTH,
    MAX_NUMBER_LENGTH,
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
