"""Failed-attempt counters in a real database, and the throttle that reads them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import MongoClient, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from tests.support.secantus import free_port
from twofactor.domain.ports import Attempt
from twofactor.domain.throttle import Budget, Throttle
from twofactor.errors import DatabaseFailure, TooManyAttempts
from twofactor.store.database import Document
from twofactor.store.throttle import AttemptStore

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
BUDGET = Budget(MAX_FAILURES, WINDOW)
#: Whole milliseconds: what MongoDB stores comes back unchanged.
START = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


class SteppedClock:
    """Stands still until the test moves it."""

    def __init__(self, moment: datetime = START) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def counter(collection: Collection[Document]) -> AttemptStore:
    return AttemptStore(collection)


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
def throttle(counter: AttemptStore, clock: SteppedClock) -> Throttle:
    return Throttle(counter, clock, BUDGET)


# The counter -------------------------------------------------------------------------------

#: A budget no test here reaches, for the tests of counting itself.
ROOMY = 1_000


def count(
    counter: AttemptStore, key: str, now: datetime, window: timedelta = WINDOW
) -> tuple[int, datetime]:
    """Count one attempt on ``key`` (it must be counted) and read its window back."""
    assert counter.record_within([Attempt(key, ROOMY, window)], now) == [True]
    return counter.failures(key, now, window)


def test_a_key_without_failures_counts_none_and_its_window_would_start_now(
    counter: AttemptStore,
) -> None:
    assert counter.failures("user:ada", START, WINDOW) == (0, START + WINDOW)


def test_failures_are_counted_per_key(counter: AttemptStore) -> None:
    for expected in (1, 2, 3):
        assert count(counter, "user:ada", START, WINDOW) == (expected, START + WINDOW)
    count(counter, "user:bob", START, WINDOW)
    assert counter.failures("user:ada", START, WINDOW) == (3, START + WINDOW)
    assert counter.failures("user:bob", START, WINDOW) == (1, START + WINDOW)
    assert counter.failures("user:eve", START, WINDOW)[0] == 0


def test_the_window_starts_at_the_first_failure_and_does_not_slide(
    counter: AttemptStore,
) -> None:
    count(counter, "user:ada", START, WINDOW)
    later = START + timedelta(minutes=10)
    assert count(counter, "user:ada", later, WINDOW) == (2, START + WINDOW)
    assert counter.failures("user:ada", later, WINDOW) == (2, START + WINDOW)


def test_failures_still_count_until_the_last_instant_of_the_window(
    counter: AttemptStore,
) -> None:
    count(counter, "user:ada", START, WINDOW)
    last_instant = START + WINDOW - timedelta(milliseconds=1)
    assert counter.failures("user:ada", last_instant, WINDOW)[0] == 1


def test_failures_no_longer_count_once_the_window_is_over(counter: AttemptStore) -> None:
    count(counter, "user:ada", START, WINDOW)
    count(counter, "user:ada", START, WINDOW)
    over = START + WINDOW
    assert counter.failures("user:ada", over, WINDOW) == (0, over + WINDOW)


def test_a_failure_after_the_window_opens_a_new_window_at_one(counter: AttemptStore) -> None:
    for _ in range(4):
        count(counter, "user:ada", START, WINDOW)
    later = START + WINDOW + timedelta(seconds=7)
    assert count(counter, "user:ada", later, WINDOW) == (1, later + WINDOW)
    assert count(counter, "user:ada", later, WINDOW) == (2, later + WINDOW)
    assert counter.failures("user:ada", later + timedelta(minutes=1), WINDOW) == (
        2,
        later + WINDOW,
    )


def test_the_stored_counter_expires_when_its_window_ends(
    counter: AttemptStore, collection: Collection[Document]
) -> None:
    # The TTL index removes the document at expiresAt: it must be the end of the window.
    count(counter, "user:ada", START, WINDOW)
    stored = collection.find_one({"_id": "user:ada"})
    assert stored is not None
    assert stored["expiresAt"] == START + WINDOW
    later = START + WINDOW + timedelta(minutes=1)
    count(counter, "user:ada", later, WINDOW)
    stored = collection.find_one({"_id": "user:ada"})
    assert stored is not None
    assert stored["expiresAt"] == later + WINDOW


def test_clearing_a_key_forgets_its_failures_and_only_its_own(counter: AttemptStore) -> None:
    count(counter, "user:ada", START, WINDOW)
    count(counter, "user:bob", START, WINDOW)
    counter.clear("user:ada")
    assert counter.failures("user:ada", START, WINDOW)[0] == 0
    assert counter.failures("user:bob", START, WINDOW)[0] == 1
    later = START + timedelta(minutes=1)
    assert count(counter, "user:ada", later, WINDOW) == (1, later + WINDOW)


def test_clearing_a_key_without_failures_is_harmless(counter: AttemptStore) -> None:
    counter.clear("user:nobody")
    assert counter.failures("user:nobody", START, WINDOW)[0] == 0


@pytest.mark.parametrize(
    "stored",
    [
        {"count": 3},
        {"windowStart": START},
        {"count": "3", "windowStart": START},
        {"count": 3, "windowStart": "2030-01-02T03:04:05Z"},
    ],
)
def test_a_counter_document_of_another_shape_counts_as_no_failures(
    counter: AttemptStore, collection: Collection[Document], stored: Document
) -> None:
    collection.insert_one({"_id": "user:ada", **stored})
    assert counter.failures("user:ada", START, WINDOW) == (0, START + WINDOW)


class RacedCollection:
    """The real collection, where another process inserts the key between this one's look for
    it and its insert: the upsert collides with the key (the interleaving two first attempts
    on a key can take)."""

    def __init__(self, real: Collection[Document], racer: Callable[[], object]) -> None:
        self._real = real
        self._racer: Callable[[], object] | None = racer

    def bulk_write(self, requests: list[UpdateOne], **options: Any) -> Any:
        if self._racer is not None:
            racer, self._racer = self._racer, None
            racer()
            collision = {"index": 0, "code": 11000, "errmsg": "E11000 duplicate key"}
            raise BulkWriteError({"writeErrors": [collision]})
        return self._real.bulk_write(requests, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_two_first_attempts_racing_on_a_key_are_both_counted(
    collection: Collection[Document],
) -> None:
    other = AttemptStore(collection)
    raced = RacedCollection(collection, lambda: count(other, "user:ada", START))

    mine = AttemptStore(raced).record_within([Attempt("user:ada", 5, WINDOW)], START)  # type: ignore[arg-type]

    assert mine == [True]  # counted in the window the other one opened
    stored = collection.find_one({"_id": "user:ada"})
    assert stored is not None
    assert (stored["count"], stored["windowStart"]) == (2, START)


def test_an_attempt_after_the_window_opens_a_new_one_in_one_write(
    counter: AttemptStore, collection: Collection[Document]
) -> None:
    count(counter, "user:ada", START, WINDOW)
    count(counter, "user:ada", START, WINDOW)
    later = START + WINDOW + timedelta(seconds=1)

    assert count(counter, "user:ada", later, WINDOW) == (1, later + WINDOW)
    stored = collection.find_one({"_id": "user:ada"})
    assert stored is not None
    assert (stored["count"], stored["windowStart"], stored["expiresAt"]) == (
        1,
        later,
        later + WINDOW,
    )


@pytest.mark.parametrize(
    "stored",
    [
        {"count": 3},
        {"windowStart": START},
        {"count": "3", "windowStart": START},
        {"count": 3, "windowStart": "2030-01-02T03:04:05Z"},
    ],
)
def test_an_attempt_on_a_counter_of_another_shape_opens_a_new_window(
    counter: AttemptStore, collection: Collection[Document], stored: Document
) -> None:
    collection.insert_one({"_id": "user:ada", **stored})
    assert count(counter, "user:ada", START, WINDOW) == (1, START + WINDOW)
    assert count(counter, "user:ada", START, WINDOW) == (2, START + WINDOW)


class AlwaysTakenCollection:
    """A collection whose key is always taken by a writer that is never seen, or that fails
    a write for another reason."""

    def __init__(self, code: int) -> None:
        self._code = code

    def bulk_write(self, requests: list[UpdateOne], **options: Any) -> Any:
        raise BulkWriteError({"writeErrors": [{"index": 0, "code": self._code, "errmsg": "no"}]})


def test_an_attempt_whose_key_stays_taken_is_refused_not_counted() -> None:
    counter = AttemptStore(AlwaysTakenCollection(11000))  # type: ignore[arg-type]
    assert counter.record_within([Attempt("user:ada", 5, WINDOW)], START) == [False]


def test_a_write_error_other_than_a_taken_key_is_a_database_failure() -> None:
    counter = AttemptStore(AlwaysTakenCollection(121))  # type: ignore[arg-type]
    with pytest.raises(DatabaseFailure):
        counter.record_within([Attempt("user:ada", 5, WINDOW)], START)


def test_an_attempt_at_the_limit_is_refused_and_leaves_the_count_as_it_was(
    counter: AttemptStore, collection: Collection[Document]
) -> None:
    for _ in range(3):
        assert counter.record_within([Attempt("user:ada", 3, WINDOW)], START) == [True]

    assert counter.record_within([Attempt("user:ada", 3, WINDOW)], START) == [False]
    assert counter.failures("user:ada", START, WINDOW) == (3, START + WINDOW)
    # Blocked until the window ends, then counted in a new one.
    end = START + WINDOW
    assert counter.record_within([Attempt("user:ada", 3, WINDOW)], end - timedelta(seconds=1)) == [
        False
    ]
    assert counter.record_within([Attempt("user:ada", 3, WINDOW)], end) == [True]
    assert counter.failures("user:ada", end, WINDOW) == (1, end + WINDOW)


def test_an_attempt_given_back_unblocks_a_full_key(counter: AttemptStore) -> None:
    full = [Attempt("address", 2, WINDOW)]
    assert counter.record_within(full, START) == [True]
    assert counter.record_within(full, START) == [True]
    assert counter.record_within(full, START) == [False]

    counter.release("address")

    assert counter.record_within(full, START) == [True]
    assert counter.record_within(full, START) == [False]
    counter.settle([], ["address"])
    assert counter.record_within(full, START) == [True]
    counter.settle(["address"], [])
    assert counter.record_within(full, START) == [True]
    assert counter.failures("address", START, WINDOW)[0] == 1


def test_attempts_on_several_keys_are_counted_each_under_its_own_limit(
    counter: AttemptStore,
) -> None:
    assert counter.record_within([Attempt("pair", 1, WINDOW)], START) == [True]
    attempts = [
        Attempt("pair", 1, WINDOW),
        Attempt("account", 1, WINDOW),
        Attempt("address", 9, WINDOW),
    ]

    assert counter.record_within(attempts, START) == [False, True, True]
    assert counter.record_within(attempts, START) == [False, False, True]
    assert [counter.failures(key, START, WINDOW)[0] for key in ("pair", "account", "address")] == [
        1,
        1,
        2,
    ]


def test_an_unreachable_database_is_a_database_failure() -> None:
    # pymongo waits about 0.5 s per operation however low the timeouts: two operations only.
    client: MongoClient[Document] = MongoClient(
        f"mongodb://127.0.0.1:{free_port()}/?directConnection=true",
        tz_aware=True,
        serverSelectionTimeoutMS=100,
        connectTimeoutMS=100,
    )
    try:
        counter = AttemptStore(client["unit_throttle"]["attempts"])
        with pytest.raises(DatabaseFailure):
            counter.failures("user:ada", START, WINDOW)
        with pytest.raises(DatabaseFailure):
            counter.record_within([Attempt("user:ada", 5, WINDOW)], START)
    finally:
        client.close()


# The throttle ------------------------------------------------------------------------------


def fail(throttle: Throttle, times: int, *keys: str) -> None:
    """``times`` wrong guesses: each reserved, none forgotten."""
    for _ in range(times):
        throttle.reserve(*keys)


def test_the_throttle_allows_up_to_the_maximum_attempts(throttle: Throttle) -> None:
    fail(throttle, MAX_FAILURES - 1, "token:t1")
    throttle.reserve("token:t1")  # the last allowed guess


def test_the_throttle_refuses_after_the_maximum_failures(
    throttle: Throttle, clock: SteppedClock
) -> None:
    fail(throttle, MAX_FAILURES, "token:t1")
    clock.advance(seconds=60)
    with pytest.raises(TooManyAttempts) as caught:
        throttle.reserve("token:t1")
    # The window opened at the first attempt: 15 minutes less the minute that passed.
    assert caught.value.retry_after == int(WINDOW.total_seconds()) - 60
    assert caught.value.status == 429


def test_retry_after_rounds_a_part_second_up(throttle: Throttle, clock: SteppedClock) -> None:
    fail(throttle, MAX_FAILURES, "token:t1")
    clock.advance(seconds=WINDOW.total_seconds() - 1.5)
    with pytest.raises(TooManyAttempts) as caught:
        throttle.reserve("token:t1")
    assert caught.value.retry_after == 2


def test_the_throttle_allows_again_once_the_window_is_over(
    throttle: Throttle, clock: SteppedClock
) -> None:
    fail(throttle, MAX_FAILURES, "token:t1")
    clock.advance(seconds=WINDOW.total_seconds())
    # A fresh window: the earlier failures no longer count.
    fail(throttle, MAX_FAILURES, "token:t1")
    with pytest.raises(TooManyAttempts):
        throttle.reserve("token:t1")


def test_attempts_racing_on_real_threads_are_counted_up_to_the_limit_and_no_further(
    collection: Collection[Document],
) -> None:
    # Found racing six threads on new keys: the server answered some of the upserts with no
    # document, which once counted as 0 attempts and let those requests past any budget.
    racers, limit = 6, 4
    for key in (f"user:racer-{n}" for n in range(20)):
        barrier = threading.Barrier(racers)
        counted: list[bool] = []

        def attempt(
            key: str = key, barrier: threading.Barrier = barrier, counted: list[bool] = counted
        ) -> None:
            barrier.wait()
            store = AttemptStore(collection)
            counted.extend(store.record_within([Attempt(key, limit, WINDOW)], START))

        threads = [threading.Thread(target=attempt) for _ in range(racers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # However the requests interleave, exactly the budget is let through.
        assert counted.count(True) == limit, counted
        stored = collection.find_one({"_id": key})
        assert stored is not None
        assert stored["count"] == limit


def test_concurrent_guesses_cannot_exceed_the_maximum(throttle: Throttle) -> None:
    # Every guess is counted before it is checked, so a burst is cut at the limit however the
    # requests interleave: here all of them reserve before any is judged.
    allowed = 0
    for _ in range(MAX_FAILURES * 3):
        try:
            throttle.reserve("token:t1")
            allowed += 1
        except TooManyAttempts:
            pass
    assert allowed == MAX_FAILURES


def test_a_success_forgets_the_failures_of_its_key(throttle: Throttle) -> None:
    fail(throttle, MAX_FAILURES - 1, "user:ada")
    throttle.reserve("user:ada")
    throttle.forget("user:ada")
    fail(throttle, MAX_FAILURES, "user:ada")
    with pytest.raises(TooManyAttempts):
        throttle.reserve("user:ada")


def test_a_success_on_a_shared_key_gives_back_only_its_own_attempt(
    counter: AttemptStore, clock: SteppedClock
) -> None:
    address = Throttle(counter, clock, Budget(3, WINDOW))
    fail(address, 2, "address:192.0.2.1")
    address.reserve("address:192.0.2.1")
    address.release("address:192.0.2.1")
    address.reserve("address:192.0.2.1")  # the third attempt: still allowed
    with pytest.raises(TooManyAttempts):
        address.reserve("address:192.0.2.1")


def test_keys_are_throttled_independently(throttle: Throttle) -> None:
    fail(throttle, MAX_FAILURES, "token:t1")
    with pytest.raises(TooManyAttempts):
        throttle.reserve("token:t1")
    throttle.reserve("token:t2")
    throttle.reserve("user:ada")


def test_one_exhausted_key_refuses_an_attempt_on_several(throttle: Throttle) -> None:
    # A new 2FA token does not give an attacker fresh guesses on the same user.
    fail(throttle, MAX_FAILURES, "token:t1", "user:ada")
    with pytest.raises(TooManyAttempts):
        throttle.reserve("token:t2", "user:ada")


def test_a_success_forgets_only_the_keys_it_names(throttle: Throttle) -> None:
    fail(throttle, MAX_FAILURES, "token:t1", "user:ada")
    throttle.forget("token:t1")
    throttle.reserve("token:t1")
    with pytest.raises(TooManyAttempts):
        throttle.reserve("user:ada")


def test_the_throttle_reads_attempts_recorded_by_another_instance(
    collection: Collection[Document], clock: SteppedClock
) -> None:
    # Every server process has its own Throttle; the database is what they share.
    first = Throttle(AttemptStore(collection), clock, BUDGET)
    second = Throttle(AttemptStore(collection), clock, BUDGET)
    fail(first, MAX_FAILURES, "user:ada")
    with pytest.raises(TooManyAttempts):
        second.reserve("user:ada")


def test_settling_forgets_some_keys_and_gives_one_attempt_back_to_others(
    counter: AttemptStore,
) -> None:
    for key in ("account", "pair", "address", "address", "bystander"):
        count(counter, key, START, WINDOW)

    counter.settle(["account", "pair", "nobody"], ["address", "unknown-address"])
    counter.settle([], [])

    assert counter.failures("account", START, WINDOW)[0] == 0
    assert counter.failures("pair", START, WINDOW)[0] == 0
    assert counter.failures("address", START, WINDOW)[0] == 1
    assert counter.failures("bystander", START, WINDOW)[0] == 1
    assert counter.failures("unknown-address", START, WINDOW)[0] == 0
    # A forgotten key counts afresh, in the window still open.
    assert count(counter, "account", START, WINDOW) == (1, START + WINDOW)
