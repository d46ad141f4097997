"""The budget of password step-ups of one user: at most ``limit`` wrong passwords in a window.

A step-up needs a signed-in session, so whoever guesses here already holds one of the user's
access tokens; the budget is per user, across sessions. As with every budget, an attempt is
counted *before* its password is checked, so a burst of concurrent guesses cannot exceed it.

What a right password costs is what sets this budget apart from the others
(``twofactor.domain.throttle``): a user steps up before every security change, so a step-up
that succeeds should write nothing. Hence an attempt is counted twice over:

- for a short **lease** (``CHECK_LEASE``) from its reservation, long enough for any password
  check to finish; a right password leaves it to run out, so successes only ever count against
  a burst (``limit`` step-ups within the lease);
- as a **failure**, for the whole window, once its password was wrong.

A right password forgets the user's failures, a write made only when the principal read showed
some: the usual step-up costs three database commands (the allowlist read, the principal read,
the reservation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from twofactor.clock import Clock
from twofactor.domain.metrics import NO_METRICS, Metrics
from twofactor.domain.model import Principal
from twofactor.domain.ports import PrincipalRepository, StepUpAttemptCounter
from twofactor.domain.throttle import Budget, retry_after
from twofactor.errors import TooManyAttempts, UserNotFound

#: How long a counted attempt holds before its outcome is known: an argon2id check takes well
#: under a second, so this is ample even on a loaded host, and short enough that honest step-ups
#: in a row (a success writes nothing back) never add up to a refusal.
CHECK_LEASE = timedelta(seconds=10)
BUDGET_NAME = "step-up"


@dataclass(frozen=True)
class StepUpAttempt:
    """One admitted step-up; tell it how the password check went."""

    throttle: StepUpThrottle
    principal: Principal
    counted_at: datetime

    def succeeded(self) -> None:
        attempts = self.principal.step_up_attempts
        if attempts is not None and attempts.failures_at(self.counted_at):
            self.throttle.counter.forget_failures(self.principal.id)

    def failed(self) -> None:
        throttle = self.throttle
        throttle.counter.fail(
            self.principal.id, throttle.budget.limit, throttle.budget.window, throttle.clock.now()
        )


class StepUpThrottle:
    def __init__(
        self,
        counter: StepUpAttemptCounter,
        principals: PrincipalRepository,
        clock: Clock,
        budget: Budget,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.counter = counter
        self.clock = clock
        self.budget = budget
        self._principals = principals
        self._metrics = metrics

    def admit(self, principal: Principal) -> StepUpAttempt:
        """Count the attempt of ``principal`` (as just read), or raise ``TooManyAttempts``."""
        now = self.clock.now()
        if not self.counter.reserve(principal.id, self.budget.limit, CHECK_LEASE, now):
            raise self._refusal(principal.id, now)
        return StepUpAttempt(self, principal, now)

    def _refusal(self, principal_id: str, now: datetime) -> TooManyAttempts:
        # The slow path reads the principal again: its block says when to come back.
        current = self._principals.get(principal_id)
        if current is None:
            raise UserNotFound()
        attempts = current.step_up_attempts
        until = attempts.blocked_until if attempts is not None else None
        self._metrics.throttled(BUDGET_NAME)
        return TooManyAttempts(retry_after=retry_after(until, now))
