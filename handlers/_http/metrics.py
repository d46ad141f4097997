"""HTTP metrics (requests and their duration by operation, status and code) and the exposition
of every metric of the process, or of all the worker processes, for ``GET /api/metrics``.

Labels stay bounded: the operation is the ``operationId`` Connexion routed to (``unmatched``
for any path the spec does not name, never the raw path), the code one of the service's own.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

#: The operation label of a request no operation of the spec answered (404s, Swagger UI).
UNMATCHED = "unmatched"
#: The classic text format every Prometheus scraper reads (the metric names need nothing newer).
MEDIA_TYPE = CONTENT_TYPE_PLAIN_0_0_4

REQUESTS = Counter(
    "twofactor_http_requests",
    "HTTP requests answered, by operation, status and problem code.",
    ["operation", "status", "code"],
)
DURATION = Histogram(
    "twofactor_http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer, by operation.",
    ["operation"],
    # From a cached 401 (~1 ms) to an argon2 sign-in against a slow database.
    buckets=(0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def observe(operation: str, status: int, code: str, seconds: float) -> None:
    key = (operation, status, code)
    children = _children.get(key)
    if children is None:
        children = _children[key] = (
            REQUESTS.labels(operation, str(status), code),
            DURATION.labels(operation),
        )
    requests, duration = children
    requests.inc()
    duration.observe(seconds)


#: The metrics of each label set, looked up once: ``labels()`` validates and joins its values on
#: every call. The label sets are bounded (see above), so is this.
_children: dict[tuple[str, int, str], tuple[Counter, Histogram]] = {}


class Exposition:
    """Renders the metrics: this process's registry, or the files of every worker process."""

    def __init__(self, multiprocess_dir: Path | None) -> None:
        self._multiprocess_dir = multiprocess_dir

    def render(self) -> bytes:
        if self._multiprocess_dir is None:
            return generate_latest(REGISTRY)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self._multiprocess_dir))  # type: ignore[no-untyped-call]
        return generate_latest(registry)
