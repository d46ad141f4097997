"""The stores' tests run against the real test database: a client per module, a fresh collection
per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from pymongo import MongoClient
from pymongo.collection import Collection

from twofactor.store.database import Document


@pytest.fixture(scope="module")
def client(mongodb_uri: str) -> Iterator[MongoClient[Document]]:
    # tz_aware as in twofactor.store.database: stored dates come back comparable with now.
    client: MongoClient[Document] = MongoClient(
        mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=2_000
    )
    yield client
    client.close()


@pytest.fixture
def collection(client: MongoClient[Document]) -> Iterator[Collection[Document]]:
    database = client["unit_store"]
    name = f"collection_{uuid.uuid4().hex}"
    yield database[name]
    database.drop_collection(name)
