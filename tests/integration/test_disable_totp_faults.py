"""The 500 rows of DELETE /api/auth/2fa/totp, each produced by a real fault: a stopped database
server, a corrupted document, a field encrypted under a key the service does not hold, an
unparseable password hash."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bson import ObjectId

from tests.integration.test_disable_totp import assert_problem, disable, methods_in_store
from tests.support.api import Api
from tests.support.secantus import SecantusServer

INTERNALS = ("Traceback", "pymongo", "ServerSelectionTimeout", "127.0.0.1:", "argon2", "InvalidTag")


def assert_no_internals(text: str) -> None:
    for marker in INTERNALS:
        assert marker not in text


@pytest.fixture
def own_servers() -> Iterator[Callable[[], SecantusServer]]:
    """Database servers of the test's own, so the test can stop them. Requested before
    ``start_api``, they outlive the app: it closes its clients while the servers it can still reach
    answer, instead of waiting out their selection timeout."""
    if os.environ.get("MONGODB_URI"):
        pytest.skip("needs database servers it can stop; runs on the embedded test database")
    servers: list[SecantusServer] = []

    def start() -> SecantusServer:
        servers.append(SecantusServer().start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def corrupt(api: Api, principal_id: str, update: dict[str, Any]) -> None:
    api.principals.update_one({"_id": ObjectId(principal_id)}, update)


# Stores that fail -----------------------------------------------------------------------------


def test_disable_totp_with_allowlist_server_down_returns_500_allowlist_reading_failure(
    own_servers: Callable[[], SecantusServer], start_api: Callable[..., Api]
) -> None:
    main, allowlist = own_servers(), own_servers()
    api = start_api(mongodb_uri=main.uri, allowlist_mongodb_uri=allowlist.uri)
    account = api.account(("totp", "email"))
    allowlist.stop()

    response = disable(api, account.headers())

    body = assert_problem(response, 500, "ACCESS_TOKEN_ALLOWLIST_READING_FAILURE")
    assert_no_internals(response.text)
    assert body["title"] == "Internal Server Error"
    assert methods_in_store(api, account) == ["totp", "email"]


def test_disable_totp_with_principal_store_down_returns_500_database_failure(
    own_servers: Callable[[], SecantusServer], start_api: Callable[..., Api]
) -> None:
    main, allowlist = own_servers(), own_servers()
    api = start_api(mongodb_uri=main.uri, allowlist_mongodb_uri=allowlist.uri)
    account = api.account(("totp", "email"))
    main.stop()

    response = disable(api, account.headers())

    assert_problem(response, 500, "DATABASE_FAILURE")
    assert_no_internals(response.text)


def test_ready_answers_503_when_the_database_is_down(
    own_servers: Callable[[], SecantusServer], start_api: Callable[..., Api]
) -> None:
    main = own_servers()
    api = start_api(mongodb_uri=main.uri)
    assert api.http.get("/ready").status_code == 200
    main.stop()

    response = api.http.get("/ready")

    assert response.status_code == 503
    assert response.json()["code"] == "SERVICE_UNAVAILABLE"


# Documents that cannot be read ----------------------------------------------------------------


def test_disable_totp_with_a_name_encrypted_under_an_unknown_key_returns_500(api: Api) -> None:
    account = api.account(("totp", "email"))
    corrupt(api, account.id, {"$set": {"name.kid": "retired-key"}})

    response = disable(api, account.headers())

    assert_problem(response, 500, "DATABASE_ENCRYPTION_FAILURE")
    assert_no_internals(response.text)


def test_disable_totp_with_a_tampered_totp_secret_returns_500_encryption_failure(
    api: Api,
) -> None:
    account = api.account(("totp", "email"))
    sealed = api.document(account.id)["twoFactor"]["totp"]["secret"]
    flipped = bytes([sealed["ct"][0] ^ 1]) + sealed["ct"][1:]
    corrupt(api, account.id, {"$set": {"twoFactor.totp.secret.ct": flipped}})

    response = disable(api, account.headers())

    assert_problem(response, 500, "DATABASE_ENCRYPTION_FAILURE")
    assert methods_in_store(api, account) == ["totp", "email"]


def test_disable_totp_with_an_email_copied_from_another_user_returns_500(api: Api) -> None:
    account = api.account(("totp", "email"))
    other = api.account()
    corrupt(api, account.id, {"$set": {"email": api.document(other.id)["email"]}})

    response = disable(api, account.headers())

    assert_problem(response, 500, "DATABASE_ENCRYPTION_FAILURE")


def test_disable_totp_with_an_unparseable_password_hash_returns_500_hash_failure(
    api: Api,
) -> None:
    account = api.account(("totp", "email"))
    corrupt(api, account.id, {"$set": {"passwordHash": "$2b$12$not-an-argon2-hash"}})

    response = disable(api, account.headers())

    assert_problem(response, 500, "HASH_FAILURE")
    assert_no_internals(response.text)
    assert methods_in_store(api, account) == ["totp", "email"]


@pytest.mark.parametrize(
    ("case", "update"),
    [
        ("totp enabled without secret", {"$unset": {"twoFactor.totp": ""}}),
        ("unknown method", {"$set": {"twoFactor.methods": ["totp", "sms"]}}),
        ("preferred not enabled", {"$set": {"twoFactor.preferred": "sms"}}),
        ("methods not a list", {"$set": {"twoFactor.methods": "totp"}}),
        ("no email", {"$unset": {"email": ""}}),
        ("password hash not text", {"$set": {"passwordHash": 42}}),
    ],
)
def test_disable_totp_with_an_inconsistent_user_part_returns_500_invalid_user_document(
    api: Api, case: str, update: dict[str, Any]
) -> None:
    account = api.account(("totp", "email"))
    corrupt(api, account.id, update)

    response = disable(api, account.headers())

    assert_problem(response, 500, "INVALID_USER_DOCUMENT")


@pytest.mark.parametrize(
    ("case", "update"),
    [
        ("unknown kind", {"$set": {"kind": "robot"}}),
        ("roles not a list", {"$set": {"roles": "admin"}}),
        ("no creation time", {"$unset": {"createdAt": ""}}),
        ("creation time not a date", {"$set": {"createdAt": "yesterday"}}),
        ("negative step-up generation", {"$set": {"stepUpGeneration": -1}}),
    ],
)
def test_disable_totp_with_a_malformed_principal_part_returns_500_invalid_principal_document(
    api: Api, case: str, update: dict[str, Any]
) -> None:
    account = api.account(("totp", "email"))
    corrupt(api, account.id, update)

    response = disable(api, account.headers())

    assert_problem(response, 500, "INVALID_PRINCIPAL_DOCUMENT")
