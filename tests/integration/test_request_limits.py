"""Request bodies beyond MAX_BODY_SIZE are refused with 413 before they are read or parsed."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator

from tests.support.api import PASSWORD, Api

LIMIT = 64 * 1024


def registration(padding: int = 0) -> bytes:
    email = f"big-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": PASSWORD, "name": "Ada" + " " * padding}
    return json.dumps(body).encode()


def assert_refused_as_too_large(response_status: int, body: dict[str, object]) -> None:
    assert response_status == 413
    assert body["code"] == "PAYLOAD_TOO_LARGE"
    assert body["status"] == 413
    assert body["instance"] == "/api/auth/register"
    assert str(body["requestId"])


def test_a_body_over_the_limit_is_refused_with_413_and_nothing_is_stored(api: Api) -> None:
    before = api.principals.count_documents({})

    response = api.http.post(
        "/auth/register",
        content=registration(padding=LIMIT),
        headers={"Content-Type": "application/json"},
    )

    assert_refused_as_too_large(response.status_code, response.json())
    assert response.headers["content-type"] == "application/problem+json"
    assert api.principals.count_documents({}) == before


def test_a_chunked_body_over_the_limit_is_refused_without_a_length(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"email": "chunked@example.com", "password": "x", "name": "'
        for _ in range(100):
            yield b"a" * 1024
        yield b'"}'

    response = api.http.post(
        "/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert_refused_as_too_large(response.status_code, response.json())


def test_a_body_just_within_the_limit_is_handled_as_usual(api: Api) -> None:
    content = registration()
    # Padded with JSON whitespace up to exactly the limit: accepted and parsed.
    padded = content[:-1] + b" " * (LIMIT - len(content)) + b"}"
    assert len(padded) == LIMIT

    response = api.http.post(
        "/auth/register", content=padded, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 201, response.text


def test_a_declared_length_over_the_limit_is_answered_before_the_body_is_sent(
    live_api: Api,
) -> None:
    url = live_api.http.base_url
    host, port = url.host, url.port
    assert port is not None
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(
            b"POST /api/auth/register HTTP/1.1\r\n"
            b"Host: localhost\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: 50000000\r\n\r\n"
        )
        # Not one byte of the 50 MB follows: the answer must come anyway.
        started = time.monotonic()
        received = b""
        # The server closes the connection after a 413 (the unread body must not be reused).
        while chunk := connection.recv(65536):
            received += chunk
        head = received.decode("latin-1")

    assert head.startswith("HTTP/1.1 413"), head
    assert time.monotonic() - started < 5
    assert "PAYLOAD_TOO_LARGE" in head
    # The server is still there for the next client.
    assert live_api.http.get("/health").status_code == 200


def test_a_json_body_without_a_content_type_is_refused_with_415(api: Api) -> None:
    before = api.principals.count_documents({})

    response = api.http.post("/auth/register", content=registration())

    assert "content-type" not in response.request.headers
    assert response.status_code == 415
    assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert api.principals.count_documents({}) == before


def test_a_media_type_in_capitals_is_json_all_the_same(api: Api) -> None:
    response = api.http.post(
        "/auth/register",
        content=registration(),
        headers={"Content-Type": "APPLICATION/JSON; charset=utf-8"},
    )

    assert response.status_code == 201, response.text


def test_a_request_without_a_body_needs_no_content_type(api: Api) -> None:
    response = api.http.post("/auth/logout")

    assert response.status_code == 204
