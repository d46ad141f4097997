"""Step-up attempts counted in a real database, in the principal document itself."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from pymongo.collection import Collection

from twofactor.domain.model import StepUpAttempts
from twofactor.store.database import Document
from twofactor.store.step_up_attempts import StepUpAttemptStore, step_up_attempts_from

LIMIT = 3
LEASE = timedelta(seconds=10)
WINDOW = timedelta(minutes=15)
#: Whole milliseconds: what MongoDB stores comes back unchanged.
START = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def store(collection: Collection[Document]) -> StepUpAttemptStore:
    return StepUpAttemptStore(collection)


@pytest.fixture
def principal_id(collection: Collection[Document]) -> str:
    return str(collection.insert_one({"_id": ObjectId(), "kind": "user"}).inserted_id)


def counts(collection: Collection[Document], principal_id: str) -> StepUpAttempts | None:
    document = collection.find_one({"_id": ObjectId(principal_id)})
    assert document is not None
    return step_up_attempts_from(document)


def reserve(store: StepUpAttemptStore, principal_id: str, now: datetime = START) -> bool:
    return store.reserve(principal_id, LIMIT, LEASE, now)


def test_reservations_beyond_the_limit_within_the_lease_are_refused(
    store: StepUpAttemptStore, principal_id: str, collection: Collection[Document]
) -> None:
    assert [reserve(store, principal_id) for _ in range(LIMIT + 1)] == [True] * LIMIT + [False]
    assert counts(collection, principal_id) == StepUpAttempts(0, START, START + LEASE)


def test_reservations_are_admitted_again_once_the_lease_ends(
    store: StepUpAttemptStore, principal_id: str
) -> None:
    for _ in range(LIMIT):
        reserve(store, principal_id)

    assert reserve(store, principal_id, START + LEASE)


def test_failures_hold_for_the_window_opened_by_the_first(
    store: StepUpAttemptStore, principal_id: str, collection: Collection[Document]
) -> None:
    for second in range(LIMIT):
        now = START + timedelta(seconds=second)
        assert reserve(store, principal_id, now)
        store.fail(principal_id, LIMIT, WINDOW, now)

    assert counts(collection, principal_id) == StepUpAttempts(LIMIT, START + WINDOW, START + WINDOW)
    assert not reserve(store, principal_id, START + WINDOW - timedelta(seconds=1))
    assert reserve(store, principal_id, START + WINDOW)
    assert counts(collection, principal_id) == StepUpAttempts(0, START + WINDOW, None)


def test_forgetting_the_failures_unblocks_and_keeps_the_leases(
    store: StepUpAttemptStore, principal_id: str, collection: Collection[Document]
) -> None:
    for _ in range(LIMIT - 1):
        reserve(store, principal_id)
        store.fail(principal_id, LIMIT, WINDOW, START)
    reserve(store, principal_id)

    store.forget_failures(principal_id)

    assert counts(collection, principal_id) == StepUpAttempts(0, START + WINDOW, None)
    # The lease of the success still counts: two more fill the budget of three.
    assert [reserve(store, principal_id) for _ in range(LIMIT)] == [True, True, False]


def test_a_failure_after_its_lease_ended_counts_without_unleasing_a_later_attempt(
    store: StepUpAttemptStore, principal_id: str, collection: Collection[Document]
) -> None:
    reserve(store, principal_id)
    later = START + LEASE + timedelta(seconds=1)
    reserve(store, principal_id, later)  # a new lease, holding only this one

    store.fail(principal_id, LIMIT, WINDOW, later)

    document = collection.find_one({"_id": ObjectId(principal_id)})
    assert document is not None
    assert document["stepUpAttempts"]["failures"] == 1
    assert document["stepUpAttempts"]["leased"] == 0


def test_concurrent_reservations_never_exceed_the_limit(
    store: StepUpAttemptStore, principal_id: str
) -> None:
    admitted: list[bool] = []
    barrier = threading.Barrier(12)

    def attempt() -> None:
        barrier.wait()
        admitted.append(reserve(store, principal_id))

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert admitted.count(True) == LIMIT


def test_a_reservation_for_no_principal_counts_nothing(
    store: StepUpAttemptStore, collection: Collection[Document]
) -> None:
    assert not reserve(store, str(ObjectId()))
    assert collection.count_documents({}) == 0


@pytest.mark.parametrize(
    "stored",
    [
        "garbage",
        {"failures": "x", "failuresEnd": START},
        {"failures": 1, "failuresEnd": 5},
        {"failures": 1, "failuresEnd": START, "blockedUntil": "soon"},
    ],
)
def test_counts_of_another_shape_read_as_none_and_start_afresh(
    store: StepUpAttemptStore,
    principal_id: str,
    collection: Collection[Document],
    stored: object,
) -> None:
    collection.update_one({"_id": ObjectId(principal_id)}, {"$set": {"stepUpAttempts": stored}})
    assert counts(collection, principal_id) is None

    assert reserve(store, principal_id)
    assert counts(collection, principal_id) == StepUpAttempts(0, START, None)
