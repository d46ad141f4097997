"""Sessions: one per sign-in, holding the one refresh token that is currently valid for it."""

from __future__ import annotations

from datetime import datetime

from pymongo.collection import Collection

from twofactor.domain.model import SessionRecord
from twofactor.store.database import Document, database_errors


class SessionStore:
    """Implements ``twofactor.domain.ports.SessionRepository``."""

    def __init__(self, collection: Collection[Document]) -> None:
        self._collection = collection

    def insert(self, session: SessionRecord) -> None:
        with database_errors():
            self._collection.insert_one(
                {
                    "_id": session.id,
                    "principalId": session.principal_id,
                    "refreshJti": session.refresh_jti,
                    "createdAt": session.created_at,
                    "lastActive": session.created_at,
                    "expiresAt": session.expires_at,
                    "browser": session.browser,
                    "os": session.os,
                    "ip": session.ip,
                    "userAgent": session.user_agent,
                }
            )

    def get(self, session_id: str) -> SessionRecord | None:
        with database_errors():
            document = self._collection.find_one({"_id": session_id})
        if document is None:
            return None
        return SessionRecord(
            id=str(document["_id"]),
            principal_id=str(document.get("principalId")),
            refresh_jti=str(document.get("refreshJti")),
            created_at=document["createdAt"],  # type: ignore[arg-type]
            expires_at=document["expiresAt"],  # type: ignore[arg-type]
            browser=_optional_text(document.get("browser")),
            os=_optional_text(document.get("os")),
            ip=_optional_text(document.get("ip")),
            user_agent=_optional_text(document.get("userAgent")),
        )

    def rotate_refresh(
        self, session_id: str, used_jti: str, new_jti: str, expires_at: datetime, now: datetime
    ) -> bool:
        """Swap the session's refresh token, only if ``used_jti`` is still the current one."""
        with database_errors():
            result = self._collection.update_one(
                {"_id": session_id, "refreshJti": used_jti},
                {"$set": {"refreshJti": new_jti, "expiresAt": expires_at, "lastActive": now}},
            )
        return result.modified_count == 1

    def delete_others(self, principal_id: str, keep_session_id: str) -> None:
        with database_errors():
            self._collection.delete_many(
                {"principalId": principal_id, "_id": {"$ne": keep_session_id}}
            )

    def delete(self, session_id: str) -> None:
        with database_errors():
            self._collection.delete_one({"_id": session_id})


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) else None
