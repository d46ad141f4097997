"""A stopped database server under every operation that uses it (the core operation has its own,
fuller tests in test_disable_totp_faults.py and test_database_outage.py).

The principal store and the access-token allowlist run as two deployments
(``ALLOWLIST_MONGODB_URI``), each its own SecantusDB process, so either can be stopped while the
other keeps answering: with the principal store stopped every operation answers 500
``DATABASE_FAILURE``, with the allowlist stopped every operation behind an access token answers
500 ``ACCESS_TOKEN_ALLOWLIST_READING_FAILURE``. Every account and token is made first, while both
answer; then one server is stopped and every operation is sent at once (each waits out the
driver's server selection, so one after the other would take a minute).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx2
import pytest

from tests.integration.test_disable_totp_faults import assert_no_internals
from tests.support.api import Api
from tests.support.reach import OPERATIONS, Operation, Reached
from tests.support.secantus import SecantusServer
from twofactor.config import Settings

#: Every operation that reads or writes the principal store: all of them but the health checks.
USING_THE_STORE = list(OPERATIONS.values())
#: Every operation behind an access token, which reads the allowlist first.
BEHIND_AN_ACCESS_TOKEN = [
    operation for operation in USING_THE_STORE if operation.behind_an_access_token
]


@pytest.fixture
def two_deployments(
    base_settings: Settings,
) -> Iterator[tuple[Api, SecantusServer, SecantusServer]]:
    """A served app whose principal store and allowlist are two database servers of its own.

    The servers are stopped after the app, so that it closes its clients against servers it can
    still reach where one is left."""
    if os.environ.get("MONGODB_URI"):
        pytest.skip("needs database servers it can stop; runs on the embedded test database")
    main, allowlist = SecantusServer().start(), SecantusServer().start()
    settings = replace(
        base_settings,
        mongodb_uri=main.uri,
        allowlist_mongodb_uri=allowlist.uri,
        mongodb_database=f"test_{uuid.uuid4().hex[:10]}",
    )
    api = Api(settings, live=True).start()
    try:
        yield api, main, allowlist
    finally:
        api.stop()
        main.stop()
        allowlist.stop()


def send_all_at_once(
    api: Api, sent: list[tuple[Operation, Reached]]
) -> list[tuple[Operation, httpx2.Response]]:
    with ThreadPoolExecutor(len(sent)) as pool:
        answers = list(pool.map(lambda pair: pair[0].send(api, pair[1]), sent))
    return [(operation, answer) for (operation, _), answer in zip(sent, answers, strict=True)]


def assert_each_answered(answered: list[tuple[Operation, httpx2.Response]], code: str) -> None:
    wrong = {
        str(operation): (response.status_code, response.text[:200])
        for operation, response in answered
        if response.status_code != 500 or response.json().get("code") != code
    }
    assert not wrong, wrong
    for _, response in answered:
        assert response.headers["content-type"] == "application/problem+json"
        assert_no_internals(response.text)


def test_every_operation_with_the_principal_store_stopped_returns_500_database_failure(
    two_deployments: tuple[Api, SecantusServer, SecantusServer],
) -> None:
    api, main, _ = two_deployments
    sent = [(operation, Reached.prepare(api)) for operation in USING_THE_STORE]
    main.stop()

    assert_each_answered(send_all_at_once(api, sent), "DATABASE_FAILURE")


def test_every_operation_with_the_allowlist_stopped_returns_500_allowlist_reading_failure(
    two_deployments: tuple[Api, SecantusServer, SecantusServer],
) -> None:
    api, _, allowlist = two_deployments
    sent = [(operation, Reached.prepare(api)) for operation in BEHIND_AN_ACCESS_TOKEN]
    allowlist.stop()

    answered = send_all_at_once(api, sent)

    assert_each_answered(answered, "ACCESS_TOKEN_ALLOWLIST_READING_FAILURE")
    # Refused before anything was done: every account still has both of its second factors.
    for _, reached in sent:
        assert sorted(api.document(reached.account.id)["twoFactor"]["methods"]) == [
            "email",
            "totp",
        ]
