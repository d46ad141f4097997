"""The budget of security changes of one user: at most ``limit`` in a fixed ``window``.

Every request behind a step-up token spends one unit, once the token is known to be the user's
own and unused (so nobody without the user's credentials can spend it). The count lives in the
principal document, which lets it be spent in one of two ways:

- ``spend``: its own conditional write, refused once the budget is full (most operations count
  before they do anything else);
- ``next_count``: the count to write *with* the change itself, in its one conditional update,
  computed from the principal as read (removing a second factor counts only once the change is
  about to be written, and then costs no write of its own). The change's filter pins the count
  it read, so a concurrent spend makes the change miss and be tried again on a fresh read.
"""

from __future__ import annotations

from datetime import datetime

from twofactor.clock import Clock
from twofactor.domain.metrics import NO_METRICS, Metrics
from twofactor.domain.model import ChangeCount, Principal
from twofactor.domain.ports import PrincipalRepository, SecurityChangeCounter
from twofactor.domain.throttle import Budget, retry_after
from twofactor.errors import TooManyRequests, UserNotFound

BUDGET_NAME = "security-changes"


class ChangeBudget:
    def __init__(
        self,
        counter: SecurityChangeCounter,
        principals: PrincipalRepository,
        clock: Clock,
        budget: Budget,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._counter = counter
        self._principals = principals
        self._clock = clock
        self._budget = budget
        self._metrics = metrics

    def spend(self, principal: Principal) -> None:
        """Count one change of ``principal`` in a write of its own, or refuse (429)."""
        now = self._clock.now()
        budget = self._budget
        if self._counter.count(principal.id, budget.limit, budget.window, now):
            return
        # The slow path reads the principal again: its block says when to come back.
        current = self._principals.get(principal.id)
        if current is None:
            raise UserNotFound()
        counted = current.security_changes
        raise self._refusal(counted.blocked_until if counted else None, now)

    def next_count(self, principal: Principal) -> ChangeCount:
        """The count to write with a change of ``principal`` (as read), or refuse (429)."""
        now = self._clock.now()
        counted = principal.security_changes
        if counted is not None and counted.window_end > now:
            if counted.count >= self._budget.limit:
                raise self._refusal(counted.window_end, now)
            count, window_end = counted.count + 1, counted.window_end
        else:
            count, window_end = 1, now + self._budget.window
        blocked = window_end if count >= self._budget.limit else None
        return ChangeCount(count=count, window_end=window_end, blocked_until=blocked)

    def _refusal(self, until: datetime | None, now: datetime) -> TooManyRequests:
        self._metrics.throttled(BUDGET_NAME)
        return TooManyRequests(retry_after=retry_after(until, now))
