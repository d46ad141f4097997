"""What the flows tell the operators' metrics: a port, so the domain never knows Prometheus.

The adapter (``twofactor.metrics``) counts these events; the unit tests plug in a recorder, and
``NO_METRICS`` serves where nobody is counting.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class AlertEvent(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    DROPPED = "dropped"


class Metrics(Protocol):
    def throttled(self, budget: str) -> None:
        """A request was refused (429) because the ``budget`` (a key kind) is spent."""
        ...

    def alert(self, event: AlertEvent) -> None:
        """A security alert was queued, sent, failed to send (and will be retried) or dropped."""
        ...


class _NoMetrics:
    def throttled(self, budget: str) -> None:
        pass

    def alert(self, event: AlertEvent) -> None:
        pass


NO_METRICS: Metrics = _NoMetrics()


def budget_of(key: str) -> str:
    """The kind of a throttle key (``login-address:203.0.113.7`` -> ``login-address``).

    Only the kind is ever a label: the rest is an address or an account hash, unbounded and
    personal.
    """
    return key.partition(":")[0]
