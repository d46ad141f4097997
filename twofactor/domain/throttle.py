"""Budgets of attempts per key in a fixed window, counted in a store every process shares.

An attempt is counted *before* it is checked (``reserve``), so concurrent requests cannot all
slip past the limit; a success then forgets the count of a personal key (the account, the 2FA
token) or gives back its one attempt on a shared key (a client address).

The budgets themselves are values (``Budget``) handed in by the composition root: the domain
does not know where they are configured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from twofactor.clock import Clock
from twofactor.domain.metrics import NO_METRICS, Metrics, budget_of
from twofactor.domain.ports import AttemptCounter
from twofactor.errors import TooManyAttempts, TooManyRequests


@dataclass(frozen=True)
class Budget:
    """At most ``limit`` counted attempts per key in a ``window`` that opens at the first one."""

    limit: int
    window: timedelta

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window < timedelta(seconds=1):
            raise ValueError("a budget allows at least one attempt in at least one second")


@dataclass(frozen=True)
class Count:
    """One attempt counted on a key: how many the window holds now and when it ends."""

    key: str
    count: int
    #: Whole seconds until the window ends (at least 1): the ``Retry-After`` of a refusal.
    retry_after: int
    over: bool


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

    def count(self, key: str) -> Count:
        """Count one attempt on ``key`` and say whether it is over the budget (raises nothing)."""
        now = self._clock.now()
        count, ends = self._counter.record_attempt(key, now, self._budget.window)
        retry_after = max(1, math.ceil((ends - now).total_seconds()))
        return Count(key, count, retry_after, over=count > self._budget.limit)

    def reserve(self, *keys: str) -> None:
        """Count one attempt on every key; the refusal once a key is over its limit."""
        for key in keys:
            counted = self.count(key)
            if counted.over:
                raise self.refuse(counted)

    def refuse(self, counted: Count) -> TooManyRequests:
        """The 429 answering an attempt over this budget (and counted as one by the metrics)."""
        self._metrics.throttled(budget_of(counted.key))
        return self._refusal(retry_after=counted.retry_after)

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
