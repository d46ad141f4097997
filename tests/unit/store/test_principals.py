"""Security changes on principals in a real database: the principal each change answers is the
one the database then holds, although nothing is read back."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

from bson import ObjectId
from pymongo.collection import Collection

from tests.support.seeding import enabled_methods_update
from twofactor.domain.alerts import AlertKind, QueuedAlert, SecurityEvent
from twofactor.domain.model import (
    ChangeOrigin,
    EmailCodeState,
    FactorState,
    NewUser,
    Principal,
    RequestInfo,
    TotpState,
    TwoFactorMethod,
)
from twofactor.security.crypto import FieldCipher
from twofactor.security.keys import NamedKey
from twofactor.store.database import Document
from twofactor.store.principals import PrincipalStore

CIPHER = FieldCipher((NamedKey("enc-1", secrets.token_bytes(32)),))
CREATED = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
# Microseconds on purpose: a BSON date keeps milliseconds, and so must the answer.
NOW = datetime(2030, 1, 2, 4, 5, 6, 789_123, tzinfo=UTC)
ORIGIN = ChangeOrigin("session-1", RequestInfo("203.0.113.7", "curl/8"), "Firefox", "Linux")
TOTP = TotpState("JBSWY3DPEHPK3PXP", 7, ("hash-a", "hash-b"), CREATED)
EMAIL = EmailCodeState(enabled_at=CREATED)


def user_with(
    store: PrincipalStore,
    collection: Collection[Document],
    states: dict[TwoFactorMethod, FactorState],
) -> Principal:
    principal_id = store.create_user(
        NewUser("Ada", f"ada-{uuid.uuid4().hex[:8]}@example.com", uuid.uuid4().hex, "$h", CREATED)
    )
    if states:
        collection.update_one(
            {"_id": ObjectId(principal_id)}, enabled_methods_update(principal_id, states, CIPHER)
        )
    principal = store.get(principal_id)
    assert principal is not None
    return principal


def event(kind: AlertKind, method: TwoFactorMethod) -> SecurityEvent:
    return SecurityEvent(kind, method, ORIGIN, NOW)


def test_removing_totp_answers_the_principal_the_database_then_holds(
    collection: Collection[Document],
) -> None:
    store = PrincipalStore(collection, CIPHER)
    principal = user_with(
        store, collection, {TwoFactorMethod.TOTP: TOTP, TwoFactorMethod.EMAIL: EMAIL}
    )
    alert = QueuedAlert(
        "a1", AlertKind.TWO_FACTOR_REMOVED, TwoFactorMethod.TOTP, "de", ORIGIN, NOW, claim="c1"
    )

    answered = store.remove_method(
        principal,
        TwoFactorMethod.TOTP,
        event=event(AlertKind.TWO_FACTOR_REMOVED, TwoFactorMethod.TOTP),
        alert=alert,
        now=NOW,
    )

    assert answered is not None
    assert answered == store.get(principal.id)
    assert answered.methods == (TwoFactorMethod.EMAIL,)
    assert answered.preferred_method is TwoFactorMethod.EMAIL
    assert answered.totp is None
    assert answered.step_up_generation == principal.step_up_generation + 1
    assert answered.last_active == datetime(2030, 1, 2, 4, 5, 6, 789_000, tzinfo=UTC)
    document = collection.find_one({"_id": ObjectId(principal.id)})
    assert document is not None
    assert [entry["claim"] for entry in document["alertOutbox"]] == ["c1"]


def test_removing_email_keeps_totp_in_the_answer_as_stored(
    collection: Collection[Document],
) -> None:
    store = PrincipalStore(collection, CIPHER)
    principal = user_with(
        store, collection, {TwoFactorMethod.EMAIL: EMAIL, TwoFactorMethod.TOTP: TOTP}
    )

    answered = store.remove_method(
        principal,
        TwoFactorMethod.EMAIL,
        event=event(AlertKind.TWO_FACTOR_REMOVED, TwoFactorMethod.EMAIL),
        alert=None,
        now=NOW,
    )

    assert answered is not None
    assert answered == store.get(principal.id)
    assert answered.methods == (TwoFactorMethod.TOTP,)
    assert answered.totp == TOTP


def test_adding_a_method_answers_the_principal_the_database_then_holds(
    collection: Collection[Document],
) -> None:
    store = PrincipalStore(collection, CIPHER)
    principal = user_with(store, collection, {TwoFactorMethod.TOTP: TOTP})

    answered = store.add_method(
        principal,
        TwoFactorMethod.EMAIL,
        EMAIL,
        event=event(AlertKind.TWO_FACTOR_ADDED, TwoFactorMethod.EMAIL),
        alert=None,
        now=NOW,
        mark_email_verified=True,
    )

    assert answered is not None
    assert answered == store.get(principal.id)
    assert answered.methods == (TwoFactorMethod.TOTP, TwoFactorMethod.EMAIL)
    assert answered.email_verified


def test_setting_the_preferred_method_answers_the_principal_the_database_then_holds(
    collection: Collection[Document],
) -> None:
    store = PrincipalStore(collection, CIPHER)
    principal = user_with(
        store, collection, {TwoFactorMethod.TOTP: TOTP, TwoFactorMethod.EMAIL: EMAIL}
    )

    answered = store.set_preferred_method(
        principal,
        TwoFactorMethod.EMAIL,
        event=event(AlertKind.PREFERRED_METHOD_CHANGED, TwoFactorMethod.EMAIL),
        now=NOW,
    )

    assert answered is not None
    assert answered == store.get(principal.id)
    assert answered.preferred_method is TwoFactorMethod.EMAIL


def test_a_change_behind_the_readers_back_makes_the_write_miss_and_answer_nothing(
    collection: Collection[Document],
) -> None:
    store = PrincipalStore(collection, CIPHER)
    principal = user_with(
        store, collection, {TwoFactorMethod.TOTP: TOTP, TwoFactorMethod.EMAIL: EMAIL}
    )
    assert store.set_preferred_method(
        principal,
        TwoFactorMethod.EMAIL,
        event=event(AlertKind.PREFERRED_METHOD_CHANGED, TwoFactorMethod.EMAIL),
        now=NOW,
    )

    answered = store.remove_method(
        principal,
        TwoFactorMethod.TOTP,
        event=event(AlertKind.TWO_FACTOR_REMOVED, TwoFactorMethod.TOTP),
        alert=None,
        now=NOW,
    )

    assert answered is None
    stored = store.get(principal.id)
    assert stored is not None
    assert stored.methods == (TwoFactorMethod.TOTP, TwoFactorMethod.EMAIL)
