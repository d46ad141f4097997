"""Throttling of guesses: at most five wrong codes or passwords per key in fifteen minutes."""

from __future__ import annotations

import math
from datetime import timedelta

from handlers.errors import TooManyAttempts
from handlers.services.clock import Clock
from handlers.store.throttle import AttemptCounter

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


class Throttle:
    def __init__(self, counter: AttemptCounter, clock: Clock) -> None:
        self._counter = counter
        self._clock = clock

    def check(self, *keys: str) -> None:
        """Raise ``TooManyAttempts`` when any key has used up its failures."""
        now = self._clock.now()
        for key in keys:
            count, ends = self._counter.failures(key, now, WINDOW)
            if count >= MAX_FAILURES:
                raise TooManyAttempts(retry_after=math.ceil((ends - now).total_seconds()))

    def failed(self, *keys: str) -> None:
        now = self._clock.now()
        for key in keys:
            self._counter.record_failure(key, now, WINDOW)

    def succeeded(self, key: str) -> None:
        self._counter.clear(key)
