"""Throttling of guesses: counted before the guess is checked, five per key in a fifteen-minute
window from its first attempt, then ``TooManyAttempts`` until the window ends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.fakes import FakeAttemptCounter, FrozenClock
from twofactor.domain.throttle import MAX_FAILURES, MAX_FAILURES_PER_ADDRESS, WINDOW, Throttle
from twofactor.errors import DatabaseFailure, TooManyAttempts

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
    return Throttle(counter, clock)


def use_up(throttle: Throttle, *keys: str, times: int = MAX_FAILURES) -> None:
    for _ in range(times):
        throttle.reserve(*keys)


def test_the_budgets_are_five_per_key_and_a_hundred_per_address_per_fifteen_minutes() -> None:
    assert MAX_FAILURES == 5
    assert MAX_FAILURES_PER_ADDRESS == 100
    assert timedelta(minutes=15) == WINDOW


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


def test_a_throttle_can_have_a_higher_limit(
    counter: FakeAttemptCounter, clock: FrozenClock
) -> None:
    shared = Throttle(counter, clock, max_failures=MAX_FAILURES_PER_ADDRESS)

    use_up(shared, KEY, times=MAX_FAILURES_PER_ADDRESS)
    with pytest.raises(TooManyAttempts):
        shared.reserve(KEY)


def test_a_failing_counter_fails_the_attempt(
    throttle: Throttle, counter: FakeAttemptCounter
) -> None:
    counter.broken = True

    with pytest.raises(DatabaseFailure):
        throttle.reserve(KEY)
