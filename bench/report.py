"""The one table, the ratios issue 11 asks about, and the machine, as a markdown block."""

from __future__ import annotations

import os
import platform
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench.load import Result


@dataclass(frozen=True)
class Round:
    """One turn of the scenarios the ratios compare, seconds apart: req/s by scenario name, and
    the database ceiling (raw ``find_one``/s) under ``CEILING``."""

    workers: int
    rates: dict[str, float]


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)
    rounds: list[Round] = field(default_factory=list)
    threads: int = 0
    #: Per scenario: the commands counted on the wire, and over how many requests.
    commands: dict[str, tuple[Counter[str], int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    verified: int = 0
    settings: str = ""

    def find(self, name: str, workers: int) -> Result | None:
        return next((r for r in self.results if r.name == name and r.workers == workers), None)

    @property
    def ceiling(self) -> float:
        """find_one/s of raw pymongo against the same database: the median of the rounds."""
        measured = [r.rates[CEILING] for r in self.rounds if CEILING in r.rates]
        return statistics.median(measured) if measured else 0.0

    def median_ratio(self, workers: int, ratio: Callable[[dict[str, float]], float]) -> float:
        """The median over the rounds of ``workers`` of a ratio of figures of the same round."""
        return statistics.median(ratio(r.rates) for r in self.rounds if r.workers == workers)

    def markdown(self) -> str:
        lines = [f"#### Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "", *_machine(), ""]
        if self.settings:
            lines += [self.settings, ""]
        lines += [
            "| scenario | workers | req/s | p50 ms | p90 ms | p99 ms | p99/p50 | errors "
            "| db commands/request | client CPU |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for result in self.results:
            lines.append(self._row(result))
        if self.ceiling:
            lines.append(
                f"| database: raw `find_one` by `_id` ({self.threads} threads) | - | "
                f"{self.ceiling:,.0f} | | | | | | 1 | |"
            )
            half = f"{self.ceiling / 2:,.0f}"
            lines.append(f"| database: two reads (half of it) | - | {half} | | | | | | 2 | |")
        lines += ["", *self._ratios(), "", *self._rounds(), ""]
        if self.commands:
            lines.append("Database commands counted on the wire, per request:")
            lines.append("")
            for name, (counts, requests) in self.commands.items():
                detail = ", ".join(f"{c} {n / requests:.2g}" for c, n in sorted(counts.items()))
                lines.append(
                    f"- {name}: {sum(counts.values()) / requests:.2g} ({detail or 'none'})"
                )
            lines.append("")
        if self.problems:
            lines.append(f"**VERIFICATION FAILED** ({len(self.problems)} problems):")
            lines += [f"- {problem}" for problem in self.problems[:50]]
        else:
            lines.append(
                f"Verification: all {self.verified} DELETE→200 checked in the database (TOTP off, "
                "secret and recovery codes gone, removal in the history) and their alert at the "
                "sink (exactly one each, to the right address, none to anyone else)."
            )
        return "\n".join(lines) + "\n"

    def _row(self, result: Result) -> str:
        p50, p90, p99 = (result.percentile(q) * 1000 for q in (0.5, 0.9, 0.99))
        errors = ", ".join(f"{k}x{v}" for k, v in sorted(result.errors.items())) or "0"
        counted = self.commands.get(result.name)
        commands = f"{sum(counted[0].values()) / counted[1]:.2g}" if counted and counted[1] else "-"
        return (
            f"| {result.name} | {result.workers} | {result.rate:,.1f} | {p50:.1f} | {p90:.1f} | "
            f"{p99:.1f} | {p99 / p50:.1f} | {errors} | {commands} | {result.client_cpu:.0%} |"
        )

    def _ratios(self) -> list[str]:
        lines = [
            "Ratios (issue 11's targets in brackets), each the median of the rounds' own ratios:",
            "",
        ]
        for workers in sorted({r.workers for r in self.rounds}):
            prefix = f"- {workers} worker(s):"
            health = self.median_ratio(workers, lambda rates: rates[HEALTH] / rates[FLOOR])
            lines.append(f"{prefix} health / floor = {health:.0%} (≥ 70 %)")
            bound = self.median_ratio(workers, _not_modified_to_bound)
            lines.append(
                f"{prefix} 304 / min(floor, database two-read ceiling) = {bound:.0%} (≥ 70 %)"
            )
            disabled = self.find(DISABLED, workers)
            if disabled:
                floor = statistics.median(
                    r.rates[FLOOR] for r in self.rounds if r.workers == workers
                )
                lines.append(f"{prefix} 200 / floor = {disabled.rate / floor:.1%} (≥ 4 %)")
        one, two = self.find(NOT_MODIFIED, 1), self.find(NOT_MODIFIED, 2)
        if one and two and one.rate:
            lines.append(f"- 304 path, 2 workers / 1 worker = {two.rate / one.rate:.2f}x (≥ 1.6x)")
        return lines

    def _rounds(self) -> list[str]:
        if not self.rounds:
            return []
        lines = ["The rounds, in the order measured (req/s; the ceiling in find_one/s):", ""]
        lines.append("| workers | floor | health | 304 | ceiling | 304 / min(floor, ceiling/2) |")
        lines.append("|---|---|---|---|---|---|")
        for turn in self.rounds:
            rates = turn.rates
            lines.append(
                f"| {turn.workers} | {rates[FLOOR]:,.0f} | {rates[HEALTH]:,.0f} | "
                f"{rates[NOT_MODIFIED]:,.0f} | {rates[CEILING]:,.0f} | "
                f"{_not_modified_to_bound(rates):.0%} |"
            )
        return lines


def _not_modified_to_bound(rates: dict[str, float]) -> float:
    """The 304 path against what bounds it: the floor, or half the database's ceiling (the 304
    path reads twice)."""
    return rates[NOT_MODIFIED] / min(rates[FLOOR], rates[CEILING] / 2)


FLOOR = "Connexion floor GET /api/health"
HEALTH = "GET /api/health"
NOT_MODIFIED = "DELETE /api/auth/2fa/totp → 304"
DISABLED = "DELETE /api/auth/2fa/totp → 200"
LOGIN = "POST /api/auth/login"
STEP_UP = "POST /api/auth/step-up"
#: Not a scenario of the service: raw ``find_one`` by ``_id``, in the rounds beside them.
CEILING = "database ceiling"
SCENARIOS = (FLOOR, HEALTH, NOT_MODIFIED, DISABLED, LOGIN, STEP_UP)


def _machine() -> list[str]:
    cpu = "unknown CPU"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"- machine: {cpu}, {os.cpu_count()} cores, {memory} RAM, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, SecantusDB {version('SecantusDB')}, "
        f"Connexion {version('connexion')}, uvicorn {version('uvicorn')}, "
        f"pymongo {version('pymongo')}",
        f"- load average when the report was written (1, 5, 15 min): {load}",
    ]
