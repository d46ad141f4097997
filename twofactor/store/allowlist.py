"""The access-token allowlist: an access token is only valid while its ``jti`` is listed here.

Entries expire with their token (TTL index), logout removes a session's entries. The
collection may live in its own deployment (``ALLOWLIST_MONGODB_URI``).
"""

from __future__ import annotations

from datetime import datetime

from pymongo.collection import Collection
from pymongo.errors import PyMongoError

from twofactor.domain.model import ListedAccess, SessionDevice
from twofactor.errors import AllowlistReadingFailure
from twofactor.store.database import Document, database_errors


class AllowlistStore:
    """Implements ``twofactor.domain.ports.AccessTokenAllowlist``."""

    def __init__(self, collection: Collection[Document]) -> None:
        self._collection = collection

    def add(
        self,
        jti: str,
        principal_id: str,
        session_id: str,
        expires_at: datetime,
        device: SessionDevice | None = None,
    ) -> None:
        document: Document = {
            "_id": jti,
            "principalId": principal_id,
            "sessionId": session_id,
            "expiresAt": expires_at,
        }
        if device is not None:
            # A copy of the session's device: the read that checks the token tells where a
            # change comes from, without a read of the session.
            document["device"] = {"browser": device.browser, "os": device.os}
        with database_errors():
            self._collection.insert_one(document)

    def lookup(self, jti: str, principal_id: str, session_id: str) -> ListedAccess | None:
        try:
            # By ``_id`` alone, the owner compared here: the same answer (the ``jti`` is unique),
            # but SecantusDB serves a filter of several fields about 0.3 ms slower than one
            # on ``_id``, and this read is on every authenticated request. Read whole, for the
            # same reason: an entry is five small fields, and SecantusDB spends longer applying
            # a projection (~10 % of its read) than sending the one field it would leave out.
            document = self._collection.find_one({"_id": jti})
        except PyMongoError as error:
            raise AllowlistReadingFailure() from error
        if (
            document is None
            or document.get("principalId") != principal_id
            or document.get("sessionId") != session_id
        ):
            return None
        device = document.get("device")
        if not isinstance(device, dict):
            return ListedAccess()
        return ListedAccess(SessionDevice(_text(device.get("browser")), _text(device.get("os"))))

    def revoke_session(self, session_id: str) -> None:
        with database_errors():
            self._collection.delete_many({"sessionId": session_id})

    def revoke_other_sessions(self, principal_id: str, keep_session_id: str) -> None:
        with database_errors():
            self._collection.delete_many(
                {"principalId": principal_id, "sessionId": {"$ne": keep_session_id}}
            )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
