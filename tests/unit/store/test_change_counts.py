"""The count of security changes in a real database: counted on its own, or by the change's own
write, pinned to the count read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from pymongo.collection import Collection

from tests.unit.store.test_principals import CIPHER, EMAIL, TOTP, event, user_with
from twofactor.domain.alerts import AlertKind
from twofactor.domain.model import ChangeCount, Principal, TwoFactorMethod
from twofactor.errors import InvalidUserDocument
from twofactor.store.change_counts import ChangeCountStore, change_count_from
from twofactor.store.database import Document
from twofactor.store.principals import PrincipalStore

LIMIT = 3
WINDOW = timedelta(hours=1)
START = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def counts(collection: Collection[Document]) -> ChangeCountStore:
    return ChangeCountStore(collection)


@pytest.fixture
def principals(collection: Collection[Document]) -> PrincipalStore:
    return PrincipalStore(collection, CIPHER)


@pytest.fixture
def principal(principals: PrincipalStore, collection: Collection[Document]) -> Principal:
    return user_with(
        principals, collection, {TwoFactorMethod.TOTP: TOTP, TwoFactorMethod.EMAIL: EMAIL}
    )


def counted(principals: PrincipalStore, principal_id: str) -> ChangeCount | None:
    principal = principals.get(principal_id)
    assert principal is not None
    return principal.security_changes


def test_counts_up_to_the_limit_then_refuses_until_the_window_ends(
    counts: ChangeCountStore, principals: PrincipalStore, principal: Principal
) -> None:
    admitted = [counts.count(principal.id, LIMIT, WINDOW, START) for _ in range(LIMIT + 1)]

    assert admitted == [True] * LIMIT + [False]
    end = START + WINDOW
    assert counted(principals, principal.id) == ChangeCount(LIMIT, end, end)
    assert not counts.count(principal.id, LIMIT, WINDOW, end - timedelta(seconds=1))
    assert counts.count(principal.id, LIMIT, WINDOW, end)
    assert counted(principals, principal.id) == ChangeCount(1, end + WINDOW, None)


def test_a_count_for_no_principal_counts_nothing(
    counts: ChangeCountStore, collection: Collection[Document]
) -> None:
    assert not counts.count(str(ObjectId()), LIMIT, WINDOW, START)
    assert collection.count_documents({}) == 0


@pytest.mark.parametrize("stored", ["garbage", {"count": "x"}, {"count": 1, "windowEnd": 5}])
def test_a_count_of_another_shape_fails_the_read_and_is_replaced_by_the_next_count(
    counts: ChangeCountStore,
    collection: Collection[Document],
    principals: PrincipalStore,
    principal: Principal,
    stored: object,
) -> None:
    collection.update_one({"_id": ObjectId(principal.id)}, {"$set": {"securityChanges": stored}})
    with pytest.raises(InvalidUserDocument):
        principals.get(principal.id)

    assert counts.count(principal.id, LIMIT, WINDOW, START)
    assert counted(principals, principal.id) == ChangeCount(1, START + WINDOW, None)


def test_a_document_without_a_count_reads_as_none() -> None:
    assert change_count_from({"_id": ObjectId()}) is None


def test_a_change_writes_the_count_it_was_given(
    principals: PrincipalStore, principal: Principal
) -> None:
    given = ChangeCount(LIMIT, START + WINDOW, START + WINDOW)

    answered = principals.remove_method(
        principal,
        TwoFactorMethod.TOTP,
        event=event(AlertKind.TWO_FACTOR_REMOVED, TwoFactorMethod.TOTP),
        alert=None,
        now=START,
        counted=given,
    )

    assert answered is not None
    assert answered == principals.get(principal.id)
    assert answered.security_changes == given


def test_a_change_misses_when_the_count_moved_since_it_was_read(
    counts: ChangeCountStore, principals: PrincipalStore, principal: Principal
) -> None:
    counts.count(principal.id, LIMIT, WINDOW, START)  # another request of the user, meanwhile

    answered = principals.remove_method(
        principal,  # read before that count
        TwoFactorMethod.TOTP,
        event=event(AlertKind.TWO_FACTOR_REMOVED, TwoFactorMethod.TOTP),
        alert=None,
        now=START,
        counted=ChangeCount(1, START + WINDOW),
    )

    assert answered is None
    assert counted(principals, principal.id) == ChangeCount(1, START + WINDOW, None)
    stored = principals.get(principal.id)
    assert stored is not None
    assert stored.methods == (TwoFactorMethod.TOTP, TwoFactorMethod.EMAIL)


def test_a_change_pinned_to_a_count_it_read_applies_over_it(
    counts: ChangeCountStore, principals: PrincipalStore, principal: Principal
) -> None:
    counts.count(principal.id, LIMIT, WINDOW, START)
    read = principals.get(principal.id)
    assert read is not None

    answered = principals.remove_method(
        read,
        TwoFactorMethod.TOTP,
        event=event(AlertKind.TWO_FACTOR_REMOVED, TwoFactorMethod.TOTP),
        alert=None,
        now=START,
        counted=ChangeCount(2, START + WINDOW),
    )

    assert answered is not None
    assert counted(principals, principal.id) == ChangeCount(2, START + WINDOW, None)
