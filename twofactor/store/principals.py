"""The principal store: users and guests in one collection, told apart by ``kind``."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from twofactor.domain.alerts import QueuedAlert, SecurityEvent
from twofactor.domain.model import (
    ChangeCount,
    FactorState,
    NewUser,
    Principal,
    TotpState,
    TwoFactorMethod,
)
from twofactor.errors import DatabaseFailure, EmailAlreadyRegistered
from twofactor.security.crypto import FieldCipher
from twofactor.store.change_counts import pinned as pinned_count
from twofactor.store.change_counts import written as written_count
from twofactor.store.changes import event_document, factor_state_document, outbox_entry
from twofactor.store.database import Document, database_errors
from twofactor.store.documents import (
    new_guest_document,
    new_user_document,
    principal_from_document,
)

_HISTORY_LENGTH = 100
#: What a read of a principal leaves out: the history (up to ``_HISTORY_LENGTH`` entries) and the
#: outbox (every alert ever queued) grow with the account's age, and no ``Principal`` carries them.
_PRINCIPAL_FIELDS = {"securityEvents": 0, "alertOutbox": 0}


class PrincipalStore:
    """Implements ``twofactor.domain.ports.PrincipalRepository`` on the ``principals``
    collection; the only code that knows the shape of a principal document."""

    def __init__(self, collection: Collection[Document], cipher: FieldCipher) -> None:
        self._collection = collection
        self._cipher = cipher

    def create_user(self, user: NewUser) -> str:
        principal_id = ObjectId()
        self._insert(new_user_document(principal_id, user, self._cipher))
        return str(principal_id)

    def create_guest(self, name: str, created_at: datetime) -> str:
        principal_id = ObjectId()
        self._insert(
            new_guest_document(principal_id, name=name, now=created_at, cipher=self._cipher)
        )
        return str(principal_id)

    def _insert(self, document: dict[str, Any]) -> None:
        try:
            with database_errors():
                self._collection.insert_one(document)
        except DatabaseFailure as failure:
            if isinstance(failure.__cause__, DuplicateKeyError):
                raise EmailAlreadyRegistered() from None
            raise

    def get(self, principal_id: str) -> Principal | None:
        with database_errors():
            document = self._collection.find_one(
                {"_id": ObjectId(principal_id)}, projection=_PRINCIPAL_FIELDS
            )
        return None if document is None else principal_from_document(document, self._cipher)

    def find_by_email_hash(self, email_hash: str) -> Principal | None:
        with database_errors():
            document = self._collection.find_one(
                {"emailHash": email_hash}, projection=_PRINCIPAL_FIELDS
            )
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
        event: SecurityEvent,
        alert: QueuedAlert | None,
        now: datetime,
        counted: ChangeCount | None = None,
    ) -> Principal | None:
        """Disable ``method`` if, and only if, the document is still as ``principal`` saw it;
        with ``counted``, the write also stores the user's count of security changes, pinned to
        the count ``principal`` read."""
        remaining = [m for m in principal.methods if m is not method]
        preferred = principal.preferred_method
        if preferred is method or preferred is None:
            preferred = remaining[0] if remaining else None
        return self._change_security(
            principal,
            replace(
                principal,
                methods=tuple(remaining),
                preferred_method=preferred,
                totp=None if method is TwoFactorMethod.TOTP else principal.totp,
                security_changes=counted or principal.security_changes,
            ),
            {
                "twoFactor.methods": [m.value for m in remaining],
                "twoFactor.preferred": preferred.value if preferred else None,
                **(written_count(counted) if counted else {}),
            },
            unset=[f"twoFactor.{method.value}"],
            pins=pinned_count(principal.security_changes) if counted else None,
            event=event,
            alert=alert,
            now=now,
        )

    def add_method(
        self,
        principal: Principal,
        method: TwoFactorMethod,
        state: FactorState,
        *,
        event: SecurityEvent,
        alert: QueuedAlert | None,
        now: datetime,
        mark_email_verified: bool = False,
    ) -> Principal | None:
        """Enable ``method`` with its ``state``, if the document is as ``principal`` saw it."""
        methods = [*principal.methods, method]
        preferred = principal.preferred_method or method
        written = replace(
            principal,
            methods=tuple(methods),
            preferred_method=preferred,
            email_verified=principal.email_verified or mark_email_verified,
            totp=state if isinstance(state, TotpState) else principal.totp,
        )
        changes: dict[str, Any] = {
            "twoFactor.methods": [m.value for m in methods],
            "twoFactor.preferred": preferred.value,
            f"twoFactor.{method.value}": factor_state_document(principal.id, state, self._cipher),
        }
        if mark_email_verified:
            changes["emailVerified"] = True
        return self._change_security(
            principal,
            written,
            changes,
            event=event,
            alert=alert,
            now=now,
        )

    def set_preferred_method(
        self, principal: Principal, method: TwoFactorMethod, *, event: SecurityEvent, now: datetime
    ) -> Principal | None:
        return self._change_security(
            principal,
            replace(principal, preferred_method=method),
            {"twoFactor.preferred": method.value},
            event=event,
            alert=None,
            now=now,
        )

    def _change_security(
        self,
        principal: Principal,
        written: Principal,
        changes: dict[str, Any],
        *,
        event: SecurityEvent,
        alert: QueuedAlert | None,
        now: datetime,
        unset: list[str] | None = None,
        pins: Document | None = None,
    ) -> Principal | None:
        """Apply a security change if, and only if, the document is still as ``principal`` saw it.

        One conditional update does the whole change: the filter pins the enabled methods and the
        step-up generation read by the caller, so a concurrent change makes it miss (``None``)
        instead of leaving the user without a second factor or using a step-up token twice. The
        generation is bumped (consuming the step-up token), and the security event and the alert
        are written in the same update, so a committed change always has its alert queued (no
        multi-document transaction needed); an alert carrying a claim is queued already claimed
        by this request, which sends it next. ``pins`` adds to the filter what else must be as
        read (a count of security changes written with the change).

        The answer is ``written`` (``principal`` with the change applied by the caller) as the
        update left it, nothing read again: every other write to a principal either bumps the
        generation (a security change, so this one would have missed) or changes only what this
        write overwrites (``lastActive``), what a ``Principal`` does not carry (email codes, the
        outbox), the use of a TOTP factor that stays (its last time step, its recovery codes:
        they keep the values read) or the budgets' counts (``pins`` hold the security changes'
        count to the one read when the change writes it; the step-up attempts are a lease that
        only a step-up reads). An ``update`` rather than a ``findAndModify`` returning the
        document: SecantusDB serves a ``findAndModify`` by scanning the whole collection, so its
        cost grows with the number of users (bench/README.md, "The 200 path").
        """
        push: dict[str, Any] = {
            "securityEvents": {"$each": [event_document(event)], "$slice": -_HISTORY_LENGTH}
        }
        if alert is not None:
            push["alertOutbox"] = outbox_entry(alert)
        update: dict[str, Any] = {
            "$set": {**changes, "lastActive": now},
            "$inc": {"stepUpGeneration": 1},
            "$push": push,
        }
        if unset:
            update["$unset"] = dict.fromkeys(unset, "")
        with database_errors():
            result = self._collection.update_one(
                {
                    "_id": ObjectId(principal.id),
                    "kind": principal.kind.value,
                    "stepUpGeneration": principal.step_up_generation,
                    "twoFactor.methods": [m.value for m in principal.methods],
                    **(pins or {}),
                },
                update,
            )
        if result.matched_count != 1:
            return None
        return replace(
            written,
            step_up_generation=principal.step_up_generation + 1,
            last_active=_as_stored(now),
        )

    def use_totp_step(self, principal_id: str, step: int) -> bool:
        """Accept a TOTP time step once: only if it is later than every step accepted before."""
        with database_errors():
            result = self._collection.update_one(
                {
                    "_id": ObjectId(principal_id),
                    "twoFactor.methods": TwoFactorMethod.TOTP.value,
                    "twoFactor.totp.lastUsedStep": {"$lt": step},
                },
                {"$set": {"twoFactor.totp.lastUsedStep": step}},
            )
        return result.modified_count == 1

    def use_recovery_code(self, principal_id: str, code_hash: str) -> bool:
        """Remove one recovery code hash; ``False`` when it was already used."""
        with database_errors():
            result = self._collection.update_one(
                {"_id": ObjectId(principal_id), "twoFactor.totp.recoveryCodes": code_hash},
                {"$pull": {"twoFactor.totp.recoveryCodes": code_hash}},
            )
        return result.modified_count == 1

    def store_email_code(
        self,
        principal_id: str,
        code_hash: str,
        now: datetime,
        expires_at: datetime,
        resend_at: datetime,
    ) -> bool:
        """Keep a new emailed code unless the previous one is still in its resend cooldown."""
        with database_errors():
            result = self._collection.update_one(
                # No code, or one past its cooldown, as one predicate: SecantusDB serves an ``$or``
                # by scanning the whole collection.
                {"_id": ObjectId(principal_id), "emailCode.resendAt": {"$not": {"$gt": now}}},
                {
                    "$set": {
                        "emailCode": {
                            "hash": code_hash,
                            "expiresAt": expires_at,
                            "resendAt": resend_at,
                        }
                    }
                },
            )
        return result.modified_count == 1

    def withdraw_email_code(self, principal_id: str, code_hash: str) -> None:
        with database_errors():
            self._collection.update_one(
                {"_id": ObjectId(principal_id), "emailCode.hash": code_hash},
                {"$unset": {"emailCode": ""}},
            )

    def email_code_resend_at(self, principal_id: str) -> datetime | None:
        with database_errors():
            document = self._collection.find_one(
                {"_id": ObjectId(principal_id)}, projection={"emailCode.resendAt": 1}
            )
        code = (document or {}).get("emailCode")
        resend_at = code.get("resendAt") if isinstance(code, dict) else None
        return resend_at if isinstance(resend_at, datetime) else None

    def use_email_code(self, principal_id: str, code_hash: str, now: datetime) -> bool:
        """Consume the emailed code if it matches and has not expired (single use)."""
        with database_errors():
            result = self._collection.update_one(
                {
                    "_id": ObjectId(principal_id),
                    "emailCode.hash": code_hash,
                    "emailCode.expiresAt": {"$gt": now},
                },
                {"$unset": {"emailCode": ""}},
            )
        return result.modified_count == 1


def _as_stored(moment: datetime) -> datetime:
    """``moment`` as a BSON date keeps it: to the millisecond."""
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)
