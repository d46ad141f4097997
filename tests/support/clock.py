"""A clock the tests can move forward, so expiry is tested without sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class MovableClock:
    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
