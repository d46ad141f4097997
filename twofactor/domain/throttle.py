"""Budgets of attempts per key in a fixed window, counted in a store every process shares.

An attempt is counted *before* it is checked (``reserve``), so concurrent requests cannot all
slip past the limit, and only while its key is under the limit (a refused attempt counts
nothing); a success then forgets the count of a personal key (the account, the 2FA token) or
gives back its one attempt on a shared key (a client address).

The budgets themselves are values (``Budget``) handed in by the composition root: the domain
does not know where they are configured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from twofactor.clock import Clock
from twofactor.domain.metrics import NO_METRICS, Metrics, budget_of
from twofactor.domain.ports import Attempt, AttemptCounter
from twofactor.errors import TooManyAttempts, TooManyRequests


@dataclass(frozen=True)
class Budget:
    """At most ``limit`` counted attempts per key in a ``window`` that opens at the first one."""

    limit: int
    window: timedelta

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window < timedelta(seconds=1):
            raise ValueError("a budget allows at least one attempt in at least one second")


def retry_after(until: datetime | None, now: datetime) -> int:
    """The ``Retry-After`` of a refusal blocked until ``until``: whole seconds, at least one (one
    when the end is unknown, such as a block that ended meanwhile)."""
    if until is None:
        return 1
    return max(1, math.ceil((until - now).total_seconds()))


class Throttle:
    """One budget over the shared counter; ``refusal`` is the 429 its refusals raise:
    ``TooManyAttempts`` for guesses (passwords, codes), ``TooManyRequests`` for the rest."""

    def __init__(
        self,
        counter: AttemptCounter,
        clock: Clock,
        budget: Budget,
        refusal: type[TooManyRequests] = TooManyAttempts,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._counter = counter
        self._clock = clock
        self._budget = budget
        self._refusal = refusal
        self._metrics = metrics

    def attempt(self, key: str) -> Attempt:
        """One attempt on ``key`` under this budget, to count with others (``count_together``)."""
        return Attempt(key, self._budget.limit, self._budget.window)

    def count_together(self, attempts: Sequence[Attempt]) -> list[bool]:
        """Count each attempt under its own budget in one write to the shared counter (they may
        belong to other budgets over it: a sign-in counts three at once); per attempt, whether it
        was counted (``False``: its key is at its limit, nothing counted there)."""
        return self._counter.record_within(attempts, self._clock.now())

    def reserve(self, *keys: str) -> None:
        """Count one attempt on every key; the refusal when a key is at its limit."""
        counted = self.count_together([self.attempt(key) for key in keys])
        for key, was_counted in zip(keys, counted, strict=True):
            if not was_counted:
                raise self.refusal(key)

    def refusal(self, key: str) -> TooManyRequests:
        """The 429 answering an attempt on ``key`` over this budget, its ``Retry-After`` the end
        of the key's window (and counted as one refusal by the metrics)."""
        now = self._clock.now()
        _, ends = self._counter.failures(key, now, self._budget.window)
        self._metrics.throttled(budget_of(key))
        return self._refusal(retry_after=retry_after(ends, now))

    def counted(self, key: str) -> int:
        """The attempts counted on ``key`` in its current window."""
        return self._counter.failures(key, self._clock.now(), self._budget.window)[0]

    def forget(self, *keys: str) -> None:
        """The attempt succeeded: the earlier failures of these personal keys no longer count."""
        for key in keys:
            self._counter.clear(key)

    def settle(self, forget: Sequence[str], release: Sequence[str]) -> None:
        """``forget`` and ``release`` in one write to the shared counter (the keys may belong
        to other budgets over it: a sign-in settles three at once)."""
        self._counter.settle(forget, release)

    def release(self, *keys: str) -> None:
        """Give back the one attempt this request counted (it was no guess, or it succeeded
        on a shared key)."""
        for key in keys:
            self._counter.release(key)
