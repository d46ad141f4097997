"""The step-up budget over the in-memory fakes: failures count for the window, every attempt
for the check's lease (so a burst cannot exceed the budget), and a right password writes
nothing unless there are failures to forget."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.domain_kit import Kit, build_kit
from tests.support.fakes import RecordingMetrics
from twofactor.domain.model import Principal
from twofactor.domain.step_up_throttle import BUDGET_NAME, CHECK_LEASE, StepUpThrottle
from twofactor.domain.throttle import Budget
from twofactor.errors import TooManyAttempts, UserNotFound

LIMIT = 3
WINDOW = timedelta(minutes=15)


@pytest.fixture
def kit() -> Kit:
    return build_kit()


@pytest.fixture
def metrics() -> RecordingMetrics:
    return RecordingMetrics()


@pytest.fixture
def throttle(kit: Kit, metrics: RecordingMetrics) -> StepUpThrottle:
    return StepUpThrottle(kit.step_ups, kit.principals, kit.clock, Budget(LIMIT, WINDOW), metrics)


def read(kit: Kit, user_id: str) -> Principal:
    return kit.services.accounts.require(user_id)


def fail_once(kit: Kit, throttle: StepUpThrottle, user_id: str) -> None:
    throttle.admit(read(kit, user_id)).failed()


def test_attempts_in_flight_beyond_the_budget_are_refused_before_any_check(
    kit: Kit, throttle: StepUpThrottle, metrics: RecordingMetrics
) -> None:
    user_id = kit.register()
    for _ in range(LIMIT):
        throttle.admit(read(kit, user_id))  # admitted, their checks not finished

    with pytest.raises(TooManyAttempts) as refused:
        throttle.admit(read(kit, user_id))

    assert refused.value.retry_after == CHECK_LEASE.total_seconds()
    assert metrics.throttled_budgets == [BUDGET_NAME]


def test_a_burst_refused_on_leases_alone_is_admitted_again_once_the_lease_ends(
    kit: Kit, throttle: StepUpThrottle
) -> None:
    user_id = kit.register()
    for _ in range(LIMIT):
        throttle.admit(read(kit, user_id)).succeeded()
    kit.clock.advance(CHECK_LEASE.total_seconds())

    throttle.admit(read(kit, user_id)).succeeded()


def test_a_success_without_earlier_failures_forgets_nothing_and_writes_nothing_back(
    kit: Kit, throttle: StepUpThrottle
) -> None:
    user_id = kit.register()
    throttle.admit(read(kit, user_id)).succeeded()

    counts = kit.step_ups.counts[user_id]
    assert (counts.failures, counts.leased) == (0, 1)  # only its own lease, left to run out


def test_failures_count_for_the_whole_window_and_block_until_it_ends(
    kit: Kit, throttle: StepUpThrottle
) -> None:
    user_id = kit.register()
    for _ in range(LIMIT):
        fail_once(kit, throttle, user_id)
    kit.clock.advance(CHECK_LEASE.total_seconds() * 2)

    with pytest.raises(TooManyAttempts) as refused:
        throttle.admit(read(kit, user_id))

    elapsed = CHECK_LEASE.total_seconds() * 2
    assert refused.value.retry_after == WINDOW.total_seconds() - elapsed
    kit.clock.advance(WINDOW.total_seconds() - elapsed)
    throttle.admit(read(kit, user_id)).succeeded()


def test_a_success_after_failures_forgets_them(kit: Kit, throttle: StepUpThrottle) -> None:
    user_id = kit.register()
    for _ in range(LIMIT - 1):
        fail_once(kit, throttle, user_id)
    throttle.admit(read(kit, user_id)).succeeded()
    kit.clock.advance(CHECK_LEASE.total_seconds())

    for _ in range(LIMIT - 1):
        fail_once(kit, throttle, user_id)
    throttle.admit(read(kit, user_id)).succeeded()


def test_successes_between_failures_do_not_hold_beyond_their_lease(
    kit: Kit, throttle: StepUpThrottle
) -> None:
    user_id = kit.register()
    fail_once(kit, throttle, user_id)
    kit.clock.advance(CHECK_LEASE.total_seconds())
    for _ in range(LIMIT * 2):
        # Each success forgets the failure before it, and its own lease runs out.
        throttle.admit(read(kit, user_id)).succeeded()
        kit.clock.advance(CHECK_LEASE.total_seconds())
        fail_once(kit, throttle, user_id)
        kit.clock.advance(CHECK_LEASE.total_seconds())


def test_a_failure_known_after_its_lease_ended_still_counts(
    kit: Kit, throttle: StepUpThrottle
) -> None:
    user_id = kit.register()
    slow = [throttle.admit(read(kit, user_id)) for _ in range(LIMIT)]
    kit.clock.advance(CHECK_LEASE.total_seconds() + 1)

    for attempt in slow:
        attempt.failed()

    with pytest.raises(TooManyAttempts):
        throttle.admit(read(kit, user_id))


def test_a_refusal_for_a_principal_gone_meanwhile_is_user_not_found(
    kit: Kit, throttle: StepUpThrottle
) -> None:
    user_id = kit.register()
    principal = read(kit, user_id)
    del kit.principals.records[user_id]

    with pytest.raises(UserNotFound):
        throttle.admit(principal)
