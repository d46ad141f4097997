"""Drives N keep-alive connections at a server and summarises what it measured.

A scenario is a source of requests (``next_request`` answers ``None`` once it has no more, e.g.
when every provisioned user was used) and the status a success has. Each connection sends one
request after the other, so N connections keep at most N requests in flight. The warm-up (the
first seconds, or the first requests in count mode) is sent but left out of the figures.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.http import Connection, Request

RequestSource = Callable[[], Request | None]


@dataclass(frozen=True)
class Budget:
    """How long a scenario runs: ``duration`` seconds after ``warmup`` seconds (and at least one
    measured request per connection), or, with ``requests`` set, that many requests after
    ``warmup_requests`` ones."""

    duration: float = 10.0
    warmup: float = 2.0
    requests: int | None = None
    warmup_requests: int = 0


@dataclass
class Result:
    name: str
    workers: int
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    #: The load generator's own CPU use, in cores: near 1.0 it, not the server, was the limit.
    client_cpu: float = 0.0

    @property
    def count(self) -> int:
        return len(self.latencies) + sum(self.errors.values())

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def percentile(self, fraction: float) -> float:
        """Nearest-rank percentile of the successful requests' latency, in seconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


async def run_load(
    name: str,
    workers: int,
    host: str,
    port: int,
    next_request: RequestSource,
    expected: int,
    connections: int,
    budget: Budget,
) -> Result:
    result = Result(name, workers)
    started, cpu_started = time.perf_counter(), time.process_time()
    issued = warm_issued = 0
    # Filled once the warm-up is over: the measured window starts there.
    measured_from: list[float] = []

    def take() -> tuple[Request, bool] | None:
        nonlocal issued, warm_issued
        now = time.perf_counter()
        if budget.requests is None:
            warm = now - started < budget.warmup
            # A slow scenario (argon2 at 16 connections: seconds per request) still gets at
            # least one measured request per connection, however short the duration.
            over = now - started >= budget.warmup + budget.duration
            if not warm and over and issued - warm_issued >= connections:
                return None
        else:
            if issued >= budget.warmup_requests + budget.requests:
                return None
            warm = issued < budget.warmup_requests
        request = next_request()
        if request is None:
            return None
        issued += 1
        warm_issued += warm
        if not warm and not measured_from:
            measured_from.append(now)
        return request, warm

    async def loop() -> None:
        connection = Connection(host, port)
        try:
            while (item := take()) is not None:
                request, warm = item
                before = time.perf_counter()
                try:
                    response = await connection.send(request)
                    outcome = "" if response.status == expected else str(response.status)
                except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                    outcome = type(error).__name__
                if warm:
                    continue
                if outcome:
                    result.errors[outcome] += 1
                else:
                    result.latencies.append(time.perf_counter() - before)
        finally:
            await connection.close()

    await asyncio.gather(*(loop() for _ in range(connections)))
    finished = time.perf_counter()
    if measured_from:
        result.elapsed = finished - measured_from[0]
    result.client_cpu = (time.process_time() - cpu_started) / (finished - started)
    return result


def merged(results: list[Result]) -> Result:
    """Rounds of one scenario as one result: every latency and error, the rounds' measured time
    added up (so the rate is the requests of all rounds over their time), the load generator's
    CPU weighted by each round's time."""
    first = results[0]
    total = Result(first.name, first.workers)
    for result in results:
        total.latencies += result.latencies
        total.errors += result.errors
        total.elapsed += result.elapsed
    if total.elapsed:
        total.client_cpu = sum(r.client_cpu * r.elapsed for r in results) / total.elapsed
    return total
