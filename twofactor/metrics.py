"""The Prometheus adapter of the domain's ``Metrics`` port: throttling and the alert outbox.

The counters live in prometheus-client's default registry; with several workers the library
keeps them in files of the directory ``serve`` prepares (its multiprocess mode), and
``GET /api/metrics`` adds the workers up.
"""

from __future__ import annotations

from prometheus_client import Counter

from twofactor.domain.metrics import AlertEvent

THROTTLED = Counter(
    "twofactor_throttled_requests",
    "Requests refused with 429 because a throttle budget is spent, by budget (key kind).",
    ["budget"],
)
ALERTS = Counter(
    "twofactor_security_alerts",
    "Security alerts queued, sent, failed to send (retried later) and dropped.",
    ["event"],
)
for _event in AlertEvent:  # every event shows, at 0 until it happens
    ALERTS.labels(_event.value)


class PrometheusMetrics:
    """Implements ``twofactor.domain.metrics.Metrics``."""

    def throttled(self, budget: str) -> None:
        THROTTLED.labels(budget).inc()

    def alert(self, event: AlertEvent) -> None:
        ALERTS.labels(event.value).inc()
