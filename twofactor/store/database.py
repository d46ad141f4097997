"""Connections to MongoDB and the indexes the service relies on."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bson.errors import BSONError
from pymongo import ASCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import PyMongoError
from pymongo.monitoring import CommandListener

from twofactor.errors import DatabaseFailure, InvalidPrincipalDocument

Document = dict[str, object]
#: Command monitoring registered on the clients; only the tests that count the database
#: commands of a request pass any (the service itself registers none).
CommandListeners = Sequence[CommandListener]

# Every timeout explicit: a request against an unreachable database (refused, or a server that
# accepts connections but never answers, like a stopped process) fails within a bounded time with
# a clear 500, instead of hanging for pymongo's defaults (30 s to select a server, no limit on an
# operation). ``timeoutMS`` (MONGODB_TIMEOUT) bounds each whole operation: selecting the server,
# waiting for a pooled connection (under load, requests queue behind connection attempts that
# never complete), connecting and the exchange itself.
_CLIENT_OPTIONS: dict[str, Any] = {
    "serverSelectionTimeoutMS": 2_000,
    "connectTimeoutMS": 2_000,
    "appname": "twofactor-api",
    "tz_aware": True,
}


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn driver failures into ``DatabaseFailure``; the driver's message stays in the logs."""
    try:
        yield
    except BSONError:
        raise InvalidPrincipalDocument("A stored account could not be decoded.") from None
    except PyMongoError as error:
        raise DatabaseFailure() from error


@dataclass
class Collections:
    principals: Collection[Document]
    sessions: Collection[Document]
    allowlist: Collection[Document]
    attempts: Collection[Document]


class Stores:
    """Owns the MongoDB clients: the main deployment and, optionally, the allowlist's own."""

    def __init__(
        self,
        uri: str,
        database: str,
        allowlist_uri: str | None = None,
        *,
        timeout_seconds: int = 5,
        event_listeners: CommandListeners = (),
    ) -> None:
        options = _CLIENT_OPTIONS | {
            "timeoutMS": timeout_seconds * 1_000,
            "event_listeners": list(event_listeners),
        }
        self._client: MongoClient[Document] = MongoClient(uri, **options)
        self._allowlist_client: MongoClient[Document] = (
            MongoClient(allowlist_uri, **options) if allowlist_uri else self._client
        )
        main: Database[Document] = self._client[database]
        allowlist_db: Database[Document] = self._allowlist_client[database]
        self.collections = Collections(
            principals=main["principals"],
            sessions=main["sessions"],
            allowlist=allowlist_db["access_token_allowlist"],
            attempts=main["failed_attempts"],
        )

    def ping(self) -> None:
        """Raise a ``PyMongoError`` unless both deployments answer."""
        self._client.admin.command("ping")
        if self._allowlist_client is not self._client:
            self._allowlist_client.admin.command("ping")

    def database_reachable(self) -> bool:
        return _answers(self._client)

    @property
    def separate_allowlist(self) -> bool:
        return self._allowlist_client is not self._client

    def allowlist_reachable(self) -> bool:
        return _answers(self._allowlist_client)

    def open(self, *, required: bool = True) -> bool:
        """Ping and create the indexes. Unreachable: raise when ``required``, else False."""
        try:
            self.ping()
            self.ensure_indexes()
        except PyMongoError:
            if required:
                raise
            return False
        return True

    def ensure_indexes(self) -> None:
        collections = self.collections
        # Unique lookup hash; sparse because guests have no email.
        collections.principals.create_index(
            [("emailHash", ASCENDING)], unique=True, sparse=True, name="emailHash_unique"
        )
        # The delivery worker's scan for alerts in flight (``OutboxStore.due``): without it,
        # every pass would read every principal. Sparse: principals that never had an alert
        # are not in it.
        collections.principals.create_index(
            [("alertOutbox.status", ASCENDING)], sparse=True, name="alertOutbox_status"
        )
        collections.sessions.create_index([("principalId", ASCENDING)], name="principalId")
        collections.sessions.create_index(
            [("expiresAt", ASCENDING)], expireAfterSeconds=0, name="expiresAt_ttl"
        )
        collections.allowlist.create_index([("sessionId", ASCENDING)], name="sessionId")
        collections.allowlist.create_index([("principalId", ASCENDING)], name="principalId")
        collections.allowlist.create_index(
            [("expiresAt", ASCENDING)], expireAfterSeconds=0, name="expiresAt_ttl"
        )
        collections.attempts.create_index(
            [("expiresAt", ASCENDING)], expireAfterSeconds=0, name="expiresAt_ttl"
        )

    def close(self) -> None:
        self._client.close()
        if self._allowlist_client is not self._client:
            self._allowlist_client.close()


def _answers(client: MongoClient[Document]) -> bool:
    try:
        client.admin.command("ping")
    except PyMongoError:
        return False
    return True


def wait_until_reachable(uri: str, timeout: float, alive: Callable[[], bool]) -> bool:
    """Ping ``uri`` until it answers (True), ``timeout`` passes or ``alive()`` turns False."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        client: MongoClient[Document] = MongoClient(uri, serverSelectionTimeoutMS=500)
        try:
            client.admin.command("ping")
            return True
        except PyMongoError:
            time.sleep(0.1)
        finally:
            client.close()
    return False
