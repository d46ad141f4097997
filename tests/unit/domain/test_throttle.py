"""Throttling: counted before the attempt is checked, a budget of attempts per key in a window
from its first attempt, then a 429 (``TooManyAttempts`` or ``TooManyRequests``) until it ends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.fakes import FakeAttemptCounter, FrozenClock
from twofactor.domain.throttle import Budget, Throttle, retry_after
from twofactor.errors import DatabaseFailure, TooManyAttempts, TooManyRequests

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
KEY = "user:0123456789abcdef01234567"
OTHER = "user:76543210fedcba9876543210"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def counter() -> FakeAttemptCounter:
    return FakeAttemptCounter()


@pytest.fixture
def throttle(counter: FakeAttemptCounter, clock: FrozenClock) -> Throttle:
    return Throttle(counter, clock, Budget(MAX_FAILURES, WINDOW))


def use_up(throttle: Throttle, *keys: str, times: int = MAX_FAILURES) -> None:
    for _ in range(times):
        throttle.reserve(*keys)


@pytest.mark.parametrize(("limit", "seconds"), [(0, 60), (-1, 60), (5, 0), (5, 0.5)])
def test_a_budget_allows_at_least_one_attempt_in_at_least_a_second(
    limit: int, seconds: float
) -> None:
    with pytest.raises(ValueError, match="at least one"):
        Budget(limit, timedelta(seconds=seconds))


def test_reserve_counts_the_attempt_before_anything_is_checked(
    throttle: Throttle, counter: FakeAttemptCounter
) -> None:
    throttle.reserve(KEY)

    assert counter.windows[KEY][0] == 1


def test_every_key_up_to_the_limit_is_accepted(throttle: Throttle) -> None:
    use_up(throttle, KEY)  # no exception: five attempts are within the budget


def test_the_attempt_after_the_limit_is_refused_until_the_window_ends(throttle: Throttle) -> None:
    use_up(throttle, KEY)

    with pytest.raises(TooManyAttempts) as refused:
        throttle.reserve(KEY)

    assert refused.value.retry_after == WINDOW.total_seconds()


def test_retry_after_counts_down_to_the_end_of_the_window_of_the_first_attempt(
    throttle: Throttle, clock: FrozenClock
) -> None:
    throttle.reserve(KEY)
    clock.advance(600)
    use_up(throttle, KEY, times=MAX_FAILURES - 1)

    with pytest.raises(TooManyAttempts) as refused:
        throttle.reserve(KEY)

    assert refused.value.retry_after == 300


def test_retry_after_rounds_a_partial_second_up(throttle: Throttle, clock: FrozenClock) -> None:
    use_up(throttle, KEY)
    clock.advance(WINDOW.total_seconds() - 0.25)

    with pytest.raises(TooManyAttempts) as refused:
        throttle.reserve(KEY)

    assert refused.value.retry_after == 1


def test_retry_after_of_a_block_that_ended_or_is_unknown_is_one_second() -> None:
    now = FrozenClock().now()

    assert retry_after(None, now) == 1
    assert retry_after(now - timedelta(seconds=5), now) == 1
    assert retry_after(now + timedelta(seconds=2.1), now) == 3


def test_refused_attempts_do_not_move_the_end_of_the_window(
    throttle: Throttle, clock: FrozenClock
) -> None:
    use_up(throttle, KEY)
    for elapsed in (0, 100, 500):
        clock.advance(elapsed)
        with pytest.raises(TooManyAttempts):
            throttle.reserve(KEY)

    clock.advance(WINDOW.total_seconds() - 600)
    throttle.reserve(KEY)  # the window of the first attempt is over


def test_a_new_window_starts_fifteen_minutes_after_the_first_attempt(
    throttle: Throttle, clock: FrozenClock
) -> None:
    use_up(throttle, KEY)
    clock.advance(WINDOW.total_seconds())

    use_up(throttle, KEY)  # a whole new budget
    with pytest.raises(TooManyAttempts):
        throttle.reserve(KEY)


def test_keys_are_counted_apart(throttle: Throttle) -> None:
    use_up(throttle, KEY)

    throttle.reserve(OTHER)


def test_reserving_several_keys_counts_one_attempt_on_each(
    throttle: Throttle, counter: FakeAttemptCounter
) -> None:
    throttle.reserve(KEY, OTHER)

    assert counter.windows[KEY][0] == 1
    assert counter.windows[OTHER][0] == 1


def test_one_key_over_its_limit_refuses_an_attempt_on_several(throttle: Throttle) -> None:
    use_up(throttle, OTHER)

    with pytest.raises(TooManyAttempts):
        throttle.reserve(KEY, OTHER)


def test_forget_gives_a_personal_key_its_whole_budget_back(throttle: Throttle) -> None:
    use_up(throttle, KEY)

    throttle.forget(KEY)

    use_up(throttle, KEY)
    with pytest.raises(TooManyAttempts):
        throttle.reserve(KEY)


def test_forget_leaves_other_keys_counted(throttle: Throttle) -> None:
    use_up(throttle, KEY)
    use_up(throttle, OTHER)

    throttle.forget(KEY)

    with pytest.raises(TooManyAttempts):
        throttle.reserve(OTHER)


def test_release_gives_back_only_one_attempt_of_a_shared_key(throttle: Throttle) -> None:
    use_up(throttle, KEY)

    throttle.release(KEY)

    throttle.reserve(KEY)
    with pytest.raises(TooManyAttempts):
        throttle.reserve(KEY)


def test_release_of_a_key_never_counted_is_harmless(
    throttle: Throttle, counter: FakeAttemptCounter
) -> None:
    throttle.release(KEY)

    assert KEY not in counter.windows
    use_up(throttle, KEY)


def test_a_throttle_can_have_a_higher_limit_and_a_longer_window(
    counter: FakeAttemptCounter, clock: FrozenClock
) -> None:
    shared = Throttle(counter, clock, Budget(100, timedelta(hours=1)))

    use_up(shared, KEY, times=100)
    with pytest.raises(TooManyAttempts) as refused:
        shared.reserve(KEY)

    assert refused.value.retry_after == 3600


def test_a_throttle_of_requests_refuses_with_too_many_requests(
    counter: FakeAttemptCounter, clock: FrozenClock
) -> None:
    registrations = Throttle(counter, clock, Budget(2, WINDOW), TooManyRequests)
    use_up(registrations, KEY, times=2)

    with pytest.raises(TooManyRequests) as refused:
        registrations.reserve(KEY)

    assert refused.value.code == "TOO_MANY_REQUESTS"
    assert not isinstance(refused.value, TooManyAttempts)
    assert refused.value.retry_after == WINDOW.total_seconds()


def test_attempts_counted_together_each_follow_their_own_budget_and_refusals_count_nothing(
    throttle: Throttle, counter: FakeAttemptCounter, clock: FrozenClock
) -> None:
    wide = Throttle(counter, clock, Budget(100, WINDOW))
    use_up(throttle, KEY)

    counted = throttle.count_together(
        [throttle.attempt(KEY), wide.attempt(KEY), wide.attempt(OTHER)]
    )

    # KEY is at this budget's limit but far under the wide one's: counted by the second only.
    assert counted == [False, True, True]
    assert (throttle.counted(KEY), throttle.counted(OTHER)) == (MAX_FAILURES + 1, 1)


def test_a_refusal_waits_for_the_end_of_the_window_and_counts_nothing(
    throttle: Throttle, counter: FakeAttemptCounter, clock: FrozenClock
) -> None:
    use_up(throttle, KEY)
    clock.advance(100)

    with pytest.raises(TooManyAttempts) as refused:
        throttle.reserve(KEY)

    assert refused.value.retry_after == WINDOW.total_seconds() - 100
    assert counter.windows[KEY][0] == MAX_FAILURES


def test_a_failing_counter_fails_the_attempt(
    throttle: Throttle, counter: FakeAttemptCounter
) -> None:
    counter.broken = True

    with pytest.raises(DatabaseFailure):
        throttle.reserve(KEY)
