"""Hostile JSON bodies get 400 INVALID_REQUEST from the real app, and nothing is stored."""

from __future__ import annotations

import uuid

import pytest

from tests.support.api import PASSWORD, Api


def registration_with(name_literal: bytes) -> bytes:
    email = f"json-{uuid.uuid4().hex[:10]}@example.com".encode()
    return (
        b'{"email": "'
        + email
        + b'", "password": "'
        + PASSWORD.encode()
        + b'", "name": '
        + (name_literal + b"}")
    )


@pytest.mark.parametrize(
    ("name_literal", "detail"),
    [
        (b"[" * 5000 + b"]" * 5000, "nests deeper"),
        (b'"\\ud800"', "unpaired surrogate"),
        (b'"\xed\xa0\x80"', "not valid UTF-8"),
        (b"9" * 5000, "number longer"),
        (b'"Ada", "name": "Eve"', "repeats a key"),
        (b"NaN", "not JSON"),
    ],
)
def test_a_hostile_registration_body_is_refused_with_400_and_stores_nothing(
    api: Api, name_literal: bytes, detail: str
) -> None:
    before = api.principals.count_documents({})

    response = api.http.post(
        "/auth/register",
        content=registration_with(name_literal),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "INVALID_REQUEST"
    assert detail in problem["detail"]
    assert "Traceback" not in response.text
    assert api.principals.count_documents({}) == before


def test_the_same_registration_well_formed_is_accepted(api: Api) -> None:
    response = api.http.post(
        "/auth/register",
        content=registration_with(b'"Ada"'),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 201, response.text


def test_a_json_body_sent_as_text_plain_is_refused_with_415(api: Api) -> None:
    response = api.http.post(
        "/auth/register",
        content=registration_with(b'"Ada"'),
        headers={"Content-Type": "text/plain"},
    )

    assert response.status_code == 415, response.text
    assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
