"""The principal store: users and guests in one collection, told apart by ``kind``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.errors import BSONError
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, PyMongoError

from handlers.errors import DatabaseFailure, EmailAlreadyRegistered, InvalidPrincipalDocument
from handlers.model import Principal, TwoFactorMethod
from handlers.services.crypto import FieldCipher
from handlers.store.database import Document
from handlers.store.documents import principal_from_document

_HISTORY_LENGTH = 100


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn driver failures into ``DatabaseFailure``; the driver's message stays in the logs."""
    try:
        yield
    except BSONError:
        raise InvalidPrincipalDocument("A stored account could not be decoded.") from None
    except PyMongoError as error:
        raise DatabaseFailure() from error


class PrincipalStore:
    def __init__(self, collection: Collection[Document], cipher: FieldCipher) -> None:
        self._collection = collection
        self._cipher = cipher

    @property
    def cipher(self) -> FieldCipher:
        return self._cipher

    def insert(self, document: dict[str, Any]) -> None:
        try:
            with database_errors():
                self._collection.insert_one(document)
        except DatabaseFailure as failure:
            if isinstance(failure.__cause__, DuplicateKeyError):
                raise EmailAlreadyRegistered() from None
            raise

    def get(self, principal_id: str) -> Principal | None:
        with database_errors():
            document = self._collection.find_one({"_id": ObjectId(principal_id)})
        return None if document is None else principal_from_document(document, self._cipher)

    def find_by_email_hash(self, email_hash: str) -> Principal | None:
        with database_errors():
            document = self._collection.find_one({"emailHash": email_hash})
        return None if document is None else principal_from_document(document, self._cipher)

    def touch(self, principal_id: str, now: datetime) -> None:
        with database_errors():
            self._collection.update_one(
                {"_id": ObjectId(principal_id)}, {"$set": {"lastActive": now}}
            )

    def remove_method(
        self,
        principal: Principal,
        method: TwoFactorMethod,
        *,
        event: dict[str, Any],
        alert: dict[str, Any] | None,
        now: datetime,
    ) -> bool:
        """Disable ``method`` if, and only if, the document is still as ``principal`` saw it.

        One conditional update does the whole change: the filter pins the enabled methods and the
        step-up generation read by the caller, so a concurrent change makes it miss (``False``)
        instead of leaving the user without a second factor or consuming a step-up token twice.
        The security event and the alert are written in the same update, so a committed change
        always has its alert queued (no multi-document transaction needed).
        """
        remaining = [m.value for m in principal.methods if m is not method]
        preferred = principal.preferred_method
        if preferred is method or preferred is None:
            preferred = TwoFactorMethod(remaining[0]) if remaining else None
        push: dict[str, Any] = {"securityEvents": {"$each": [event], "$slice": -_HISTORY_LENGTH}}
        if alert is not None:
            push["alertOutbox"] = alert
        update: dict[str, Any] = {
            "$set": {
                "twoFactor.methods": remaining,
                "twoFactor.preferred": preferred.value if preferred else None,
                "lastActive": now,
            },
            "$unset": {f"twoFactor.{method.value}": ""},
            "$inc": {"stepUpGeneration": 1},
            "$push": push,
        }
        with database_errors():
            result = self._collection.update_one(
                {
                    "_id": ObjectId(principal.id),
                    "kind": principal.kind.value,
                    "stepUpGeneration": principal.step_up_generation,
                    "twoFactor.methods": [m.value for m in principal.methods],
                },
                update,
            )
        return result.modified_count == 1
