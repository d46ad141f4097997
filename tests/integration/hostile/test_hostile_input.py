"""The hostile-input corpus against the real server: ``twofactor serve`` with 2 worker processes,
SecantusDB over TCP and a real SMTP sink.

Each case must get its exact status and problem ``code``, change nothing in the database, send no
mail, and leave the service answering; at the end, the server log holds no traceback, no
``INTERNAL_ERROR`` and no worker restart.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import bson
import pytest

from tests.integration.hostile.cases import (
    ACCESS,
    CORPUS,
    EXISTING_EMAIL,
    EXISTING_EMAIL_UPPER,
    STEP_UP,
    Case,
)
from tests.support.api import Account, Api
from tests.support.smtp import SmtpSink
from twofactor.config import Settings

#: The failed-attempt counters are left out of "nothing changed": a counted guess is the throttle
#: doing its job, not a change of the account.
WATCHED = ("principals", "sessions", "access_token_allowlist")
REQUEST_ID = re.compile(r"^[0-9a-f]{16}$")


@pytest.fixture(scope="module")
def served(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = replace(base_settings, mongodb_database=f"hostile_{uuid.uuid4().hex[:10]}")
    log = tmp_path_factory.mktemp("hostile") / "serve.log"
    running = Api(settings, workers=2, log_path=log).start()
    yield running
    running.stop()
    assert running.served is not None
    assert running.served.trouble() == [], "\n".join(running.served.trouble())


@pytest.fixture(scope="module")
def account(served: Api) -> Account:
    """One user with both factors on, a live session and an unused step-up token."""
    return served.account(methods=("totp", "email"))


def snapshot(api: Api) -> dict[str, list[bytes]]:
    return {
        name: sorted(bson.encode(document) for document in api.db[name].find({}))
        for name in WATCHED
    }


def filled(text: str | bytes, account: Account) -> Any:
    values = {
        ACCESS: account.access_token,
        STEP_UP: account.step_up_token,
        EXISTING_EMAIL: account.email,
        EXISTING_EMAIL_UPPER: account.email.upper(),
    }
    for placeholder, value in values.items():
        if isinstance(text, bytes):
            text = text.replace(placeholder.encode(), value.encode())
        else:
            text = text.replace(placeholder, value)
    return text


def request_headers(case: Case, account: Account) -> list[tuple[str, str | bytes]]:
    headers: list[tuple[str, str | bytes]] = []
    if case.content_type is not None:
        headers.append(("Content-Type", case.content_type))
    if case.access:
        headers.append(("Authorization", f"Bearer {account.access_token}"))
    if case.step_up:
        headers.append(("X-Step-Up-Token", account.step_up_token))
    headers.extend((name, filled(value, account)) for name, value in case.headers)
    return headers


def test_the_corpus_is_large_and_its_ids_are_unique() -> None:
    assert len(CORPUS) >= 150
    assert len({case.id for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.id)
def test_a_hostile_request_is_refused_exactly_and_changes_nothing(
    served: Api, account: Account, smtp_sink: SmtpSink, case: Case
) -> None:
    before = snapshot(served)
    mails_before = smtp_sink.message_count()

    response = served.http.request(
        case.method,
        case.path,
        content=filled(case.body, account) if case.body is not None else None,
        headers=request_headers(case, account),
    )

    assert response.status_code == case.status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.text
    problem = response.json()
    assert problem["code"] == case.code, problem
    assert problem["status"] == case.status
    assert REQUEST_ID.match(response.headers["x-request-id"])
    assert "Traceback" not in response.text
    assert account.access_token not in response.text
    assert account.step_up_token not in response.text
    assert snapshot(served) == before
    assert smtp_sink.message_count() == mails_before
    assert served.http.get("/health").status_code == 200
