"""Throttling of guesses: at most a few wrong codes or passwords per key in fifteen minutes."""

from __future__ import annotations

import math
from datetime import timedelta

from handlers.errors import TooManyAttempts
from handlers.services.clock import Clock
from handlers.store.throttle import AttemptCounter

#: Per account, per 2FA token: ASVS 2.2.1 asks for a handful, not hundreds.
MAX_FAILURES = 5
#: Per client address: many users may share one (NAT), so the bar is higher.
MAX_FAILURES_PER_ADDRESS = 100
WINDOW = timedelta(minutes=15)


class Throttle:
    def __init__(
        self, counter: AttemptCounter, clock: Clock, max_failures: int = MAX_FAILURES
    ) -> None:
        self._counter = counter
        self._clock = clock
        self._max_failures = max_failures

    def check(self, *keys: str) -> None:
        """Raise ``TooManyAttempts`` when any key has used up its failures."""
        now = self._clock.now()
        for key in keys:
            count, ends = self._counter.failures(key, now, WINDOW)
            if count >= self._max_failures:
                raise TooManyAttempts(retry_after=math.ceil((ends - now).total_seconds()))

    def failed(self, *keys: str) -> None:
        now = self._clock.now()
        for key in keys:
            self._counter.record_failure(key, now, WINDOW)

    def succeeded(self, key: str) -> None:
        self._counter.clear(key)
