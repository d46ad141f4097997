"""Throttling of guesses: at most a few wrong codes or passwords per key in fifteen minutes.

An attempt is counted *before* the guess is checked (``reserve``), so concurrent requests cannot
all slip past the limit; a success then forgets the count of a personal key (the account, the
2FA token) or gives back its one attempt on a shared key (a client address).
"""

from __future__ import annotations

import math
from datetime import timedelta

from twofactor.clock import Clock
from twofactor.domain.metrics import NO_METRICS, Metrics, budget_of
from twofactor.domain.ports import AttemptCounter
from twofactor.errors import TooManyAttempts

#: Per account, per 2FA token: ASVS 2.2.1 asks for a handful, not hundreds.
MAX_FAILURES = 5
#: Per client address: many users may share one (NAT), so the bar is higher.
MAX_FAILURES_PER_ADDRESS = 100
WINDOW = timedelta(minutes=15)


class Throttle:
    def __init__(
        self,
        counter: AttemptCounter,
        clock: Clock,
        max_failures: int = MAX_FAILURES,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._counter = counter
        self._clock = clock
        self._max_failures = max_failures
        self._metrics = metrics

    def reserve(self, *keys: str) -> None:
        """Count one attempt on every key; ``TooManyAttempts`` once a key is over its limit."""
        now = self._clock.now()
        for key in keys:
            count, ends = self._counter.record_attempt(key, now, WINDOW)
            if count > self._max_failures:
                self._metrics.throttled(budget_of(key))
                raise TooManyAttempts(retry_after=math.ceil((ends - now).total_seconds()))

    def forget(self, *keys: str) -> None:
        """The attempt succeeded: the earlier failures of these personal keys no longer count."""
        for key in keys:
            self._counter.clear(key)

    def release(self, *keys: str) -> None:
        """The attempt succeeded: only give its own count back (the key is shared)."""
        for key in keys:
            self._counter.release(key)
