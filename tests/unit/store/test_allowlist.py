"""The access-token allowlist on a real database: an entry keeps its session's device, so the
read that checks a token also says where a change comes from; older entries still check."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pymongo import MongoClient
from pymongo.collection import Collection

from twofactor.domain.model import ListedAccess, SessionDevice
from twofactor.store.allowlist import AllowlistStore
from twofactor.store.database import Document

EXPIRES = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def collection(mongodb_uri: str) -> Iterator[Collection[Document]]:
    client: MongoClient[Document] = MongoClient(
        mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=2_000
    )
    yield client["unit_allowlist"][f"allowlist_{uuid.uuid4().hex[:8]}"]
    client.close()


def test_a_listed_token_answers_its_sessions_device(collection: Collection[Document]) -> None:
    allowlist = AllowlistStore(collection)
    allowlist.add("jti-1", "user-1", "session-1", EXPIRES, SessionDevice("Firefox", "Linux"))

    assert allowlist.lookup("jti-1", "user-1", "session-1") == ListedAccess(
        SessionDevice("Firefox", "Linux")
    )


def test_a_token_presented_for_another_session_or_user_is_not_listed(
    collection: Collection[Document],
) -> None:
    allowlist = AllowlistStore(collection)
    allowlist.add("jti-1", "user-1", "session-1", EXPIRES, SessionDevice(None, None))

    assert allowlist.lookup("jti-1", "user-1", "session-2") is None
    assert allowlist.lookup("jti-1", "user-2", "session-1") is None
    assert allowlist.lookup("jti-2", "user-1", "session-1") is None


def test_an_entry_written_without_a_device_is_listed_without_one(
    collection: Collection[Document],
) -> None:
    allowlist = AllowlistStore(collection)
    allowlist.add("jti-1", "user-1", "session-1", EXPIRES)
    collection.insert_one(
        {"_id": "jti-2", "principalId": "user-1", "sessionId": "session-1", "device": "odd"}
    )

    assert allowlist.lookup("jti-1", "user-1", "session-1") == ListedAccess(None)
    assert allowlist.lookup("jti-2", "user-1", "session-1") == ListedAccess(None)
