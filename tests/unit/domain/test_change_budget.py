"""The budget of security changes over the in-memory fakes: spent by a write of its own, or
counted into the change's own write from the principal as read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.domain_kit import Kit, build_kit
from tests.support.fakes import FakeChangeCounts, RecordingMetrics
from twofactor.domain.change_budget import BUDGET_NAME, ChangeBudget
from twofactor.domain.model import ChangeCount, Principal
from twofactor.domain.throttle import Budget
from twofactor.errors import TooManyRequests, UserNotFound

LIMIT = 2
WINDOW = timedelta(hours=1)


@pytest.fixture
def kit() -> Kit:
    return build_kit()


@pytest.fixture
def metrics() -> RecordingMetrics:
    return RecordingMetrics()


@pytest.fixture
def budget(kit: Kit, metrics: RecordingMetrics) -> ChangeBudget:
    counts = FakeChangeCounts(kit.principals)
    return ChangeBudget(counts, kit.principals, kit.clock, Budget(LIMIT, WINDOW), metrics)


def read(kit: Kit, user_id: str) -> Principal:
    return kit.services.accounts.require(user_id)


def test_spending_beyond_the_budget_is_refused_until_the_window_ends(
    kit: Kit, budget: ChangeBudget, metrics: RecordingMetrics
) -> None:
    user_id = kit.register()
    for _ in range(LIMIT):
        budget.spend(read(kit, user_id))
    kit.clock.advance(60)

    with pytest.raises(TooManyRequests) as refused:
        budget.spend(read(kit, user_id))

    assert refused.value.retry_after == WINDOW.total_seconds() - 60
    assert metrics.throttled_budgets == [BUDGET_NAME]
    kit.clock.advance(WINDOW.total_seconds() - 60)
    budget.spend(read(kit, user_id))


def test_spending_for_a_principal_gone_meanwhile_is_user_not_found(
    kit: Kit, budget: ChangeBudget
) -> None:
    user_id = kit.register()
    for _ in range(LIMIT):
        budget.spend(read(kit, user_id))
    principal = read(kit, user_id)
    del kit.principals.records[user_id]

    with pytest.raises(UserNotFound):
        budget.spend(principal)


def test_the_count_of_a_first_change_opens_a_window(kit: Kit, budget: ChangeBudget) -> None:
    user_id = kit.register()

    assert budget.next_count(read(kit, user_id)) == ChangeCount(1, kit.clock.now() + WINDOW)


def test_the_count_of_the_change_that_fills_the_budget_blocks_until_its_window_ends(
    kit: Kit, budget: ChangeBudget
) -> None:
    user_id = kit.register()
    budget.spend(read(kit, user_id))
    end = kit.clock.now() + WINDOW
    kit.clock.advance(30)

    assert budget.next_count(read(kit, user_id)) == ChangeCount(LIMIT, end, end)


def test_the_count_of_a_change_over_the_budget_is_refused_without_a_write(
    kit: Kit, budget: ChangeBudget, metrics: RecordingMetrics
) -> None:
    user_id = kit.register()
    for _ in range(LIMIT):
        budget.spend(read(kit, user_id))
    before = read(kit, user_id)

    with pytest.raises(TooManyRequests) as refused:
        budget.next_count(before)

    assert refused.value.retry_after == WINDOW.total_seconds()
    assert metrics.throttled_budgets == [BUDGET_NAME]
    assert read(kit, user_id) == before


def test_the_count_of_a_change_after_the_window_ended_opens_a_new_one(
    kit: Kit, budget: ChangeBudget
) -> None:
    user_id = kit.register()
    for _ in range(LIMIT):
        budget.spend(read(kit, user_id))
    kit.clock.advance(WINDOW.total_seconds())

    assert budget.next_count(read(kit, user_id)) == ChangeCount(1, kit.clock.now() + WINDOW)
