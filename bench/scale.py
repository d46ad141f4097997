"""``python -m bench.scale --principals 1000,100000``: the core operation as the principals grow.

One SecantusDB and one SMTP sink; per principal count, a database of its own, filled directly with
that many principals (documents built by the store's own builder, each with a session and an
allowlisted access token, so that every collection the core operation reads grows), and its own
``twofactor serve --workers 1``. Then, in rounds, each size in turn: DELETE → 304 for a few
seconds and DELETE → 200 for a share of its users (every 200 verified in the database and at the
sink). Interleaving the sizes makes them share whatever else the machine is doing at the time, so
the comparison survives a busy machine better than measuring one size after the other would.
Flat means the lookups are index lookups: a collection scan would grow a hundredfold from 1e3 to
1e5. Nothing is asserted about the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bson import ObjectId
from pymongo import MongoClient
from pymongo.database import Database

from bench import report as names
from bench.load import Budget, Result
from bench.provision import Progress, User, in_parallel, pool_user, seeded_users
from bench.run import HERE, Bench, parse, sources
from bench.verify import verify_disabled
from tests.support.served import Served, serve_with
from twofactor.config import Settings
from twofactor.domain.model import NewUser
from twofactor.security.crypto import FieldCipher
from twofactor.store.documents import new_user_document

#: Seconds for the database to finish the work the bulk inserts left (checkpoints) first.
_SETTLE = 5.0
#: Documents per ``insert_many``: large batches, few round trips.
_BATCH = 2_000


@dataclass(frozen=True)
class ScaleOptions:
    principals: tuple[int, ...]
    rounds: int
    bench_arguments: list[str]
    output: Path


def parse_scale(argv: list[str] | None) -> ScaleOptions:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--principals", default="1000,100000", help="comma-separated principal counts"
    )
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--duration", type=float, default=1.5, help="DELETE → 304, per round")
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--users", type=int, default=150, help="DELETE → 200 users per count")
    parser.add_argument("--pool", type=int, default=8, help="users of DELETE → 304")
    parser.add_argument("--rounds", type=int, default=9, help="turns through the sizes")
    parser.add_argument("--output", type=Path, default=HERE / "last-scale.md")
    arguments = parser.parse_args(argv)
    counts = tuple(sorted({int(count) for count in arguments.principals.split(",")}))
    return ScaleOptions(
        principals=counts,
        rounds=arguments.rounds,
        bench_arguments=[
            *("--workers", "1", "--connections", str(arguments.connections)),
            *("--duration", str(arguments.duration), "--warmup", str(arguments.warmup)),
            *("--users", str(arguments.users), "--api-users", "0", "--pool", str(arguments.pool)),
        ],
        output=arguments.output,
    )


def fill(settings: Settings, target: int) -> int:
    """Insert principals until the database holds ``target`` of them; the count reached."""
    client: MongoClient[dict[str, Any]]
    with MongoClient(settings.mongodb_uri, tz_aware=True) as client:
        database: Database[dict[str, Any]] = client[settings.mongodb_database]
        present = database.principals.count_documents({})
        missing = max(0, target - present)
        progress = Progress(f"principals {present} → {present + missing}", -(-missing // _BATCH))
        cipher = FieldCipher(settings.encryption_keys)
        now = datetime.now(UTC)
        for start in range(present, present + missing, _BATCH):
            numbers = range(start, min(start + _BATCH, present + missing))
            batch = [_filler(n, cipher, now) for n in numbers]
            database.principals.insert_many([principal for principal, _, _ in batch], ordered=False)
            database.sessions.insert_many([session for _, session, _ in batch], ordered=False)
            database.access_token_allowlist.insert_many(
                [token for _, _, token in batch], ordered=False
            )
            progress.advance()
        return int(database.principals.count_documents({}))


def _filler(
    number: int, cipher: FieldCipher, now: datetime
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A registered user with one session and one live access token."""
    principal_id = ObjectId()
    email = f"filler-{number}@example.com"
    user = NewUser(
        name=f"Filler {number}",
        email=email,
        # Unique, like the service's keyed hash; which hash does not matter for the lookups.
        email_hash=hashlib.sha256(email.encode()).hexdigest(),
        password_hash="$argon2id$filler",  # noqa: S106 - never checked: no filler signs in
        created_at=now,
    )
    session_id = f"filler-session-{number}"
    expires = now + timedelta(days=1)
    session = {"_id": session_id, "principalId": str(principal_id), "refreshJti": f"r-{number}",
               "createdAt": now, "lastActive": now, "expiresAt": expires}  # fmt: skip
    token = {"_id": f"filler-jti-{number}", "principalId": str(principal_id),
             "sessionId": session_id, "expiresAt": expires}  # fmt: skip
    return new_user_document(principal_id, user, cipher), session, token


@dataclass(frozen=True)
class Row:
    principals: int
    not_modified: Result
    disabled: Result
    #: Per round, this size's p50 over the smallest size's p50 in the same round: 304, 200.
    paired: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def markdown(rows: list[Row], connections: int, rounds: int) -> str:
    lines = [
        f"1 worker per size, {connections} connections, {rounds} interleaved rounds, SecantusDB; "
        "latency in ms (p50 / p90 / p99).",
        "",
        "| principals | 304 req/s | 304 latency | 200 req/s | 200 latency |",
        "|---:|---:|---|---:|---|",
    ]
    for row in rows:
        cells = [f"{row.principals:,}"]
        for result in (row.not_modified, row.disabled):
            cells.append(f"{result.rate:.0f}")
            cells.append(" / ".join(_ms(result.percentile(p)) for p in (0.5, 0.9, 0.99)))
        lines.append("| " + " | ".join(cells) + " |")
    first, last = rows[0], rows[-1]
    for label, before, after, paired in (
        ("304", first.not_modified, last.not_modified, last.paired[0]),
        ("200", first.disabled, last.disabled, last.paired[1]),
    ):
        change = after.percentile(0.5) / before.percentile(0.5) - 1
        lines.append("")
        lines.append(
            f"DELETE → {label} p50 at {last.principals:,} principals vs {first.principals:,}: "
            f"{change:+.0%} over all rounds; "
            f"{statistics.median(paired) - 1:+.0%} as the median of the rounds' own ratios "
            f"(from {min(paired) - 1:+.0%} to {max(paired) - 1:+.0%})"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    options = parse_scale(argv)
    bench_options = parse(options.bench_arguments)
    with tempfile.TemporaryDirectory(prefix="twofactor-scale-") as scratch, ExitStack() as running:
        bench = Bench(bench_options, Path(scratch), running)
        sizes = [_Size.start(bench, count, Path(scratch), running) for count in options.principals]
        time.sleep(_SETTLE)
        measured: dict[int, tuple[list[Result], list[Result]]] = {
            size.count: ([], []) for size in sizes
        }
        for round_number in range(options.rounds):
            print(f"round {round_number + 1} of {options.rounds}:", file=sys.stderr)
            # Every other round in reverse order: a drift of the machine within a round (a
            # checkpoint, another job) then weighs on the sizes alike.
            for size in sizes if round_number % 2 == 0 else sizes[::-1]:
                not_modified, disabled = size.measure(bench, round_number, options.rounds)
                measured[size.count][0].append(not_modified)
                measured[size.count][1].append(disabled)
        for size in sizes:
            size.verify(bench)
            bench.report.problems += [f"service log: {t}" for t in size.served.trouble()]
        problems = bench.report.problems
    smallest = measured[sizes[0].count]
    rows = [
        Row(
            size.reached,
            _merged(measured[size.count][0]),
            _merged(measured[size.count][1]),
            (
                _ratios(measured[size.count][0], smallest[0]),
                _ratios(measured[size.count][1], smallest[1]),
            ),
        )
        for size in sizes
    ]
    errors = sum(sum(r.errors.values()) for row in rows for r in (row.not_modified, row.disabled))
    text = markdown(rows, bench_options.connections, options.rounds)
    print(text)
    options.output.write_text(text)
    print(f"written to {options.output}", file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems or errors:
        print(f"FAILED: {len(problems)} problems, {errors} request errors", file=sys.stderr)
        return 1
    return 0


@dataclass
class _Size:
    """One principal count: its database, its service, its users."""

    count: int
    reached: int
    settings: Settings
    served: Served
    pool: list[User]
    disable: list[User]

    @classmethod
    def start(cls, bench: Bench, count: int, scratch: Path, running: ExitStack) -> _Size:
        settings = replace(bench.settings, mongodb_database=f"scale_{count}")
        served = serve_with(settings, 1, scratch / f"service-{count}.log")
        running.callback(served.stop)
        print(f"{count:,} principals:", file=sys.stderr)
        pool = asyncio.run(
            in_parallel("pool users (API)", bench.options.pool, 4, pool_user, served.port)
        )
        disable = seeded_users(settings, bench.options.users)
        bench.known |= {user.email for user in disable}
        reached = fill(settings, count)
        return cls(count, reached, settings, served, pool, disable)

    def measure(self, bench: Bench, round_number: int, rounds: int) -> tuple[Result, Result]:
        flows = sources(self.pool, self.disable[round_number::rounds])
        not_modified = bench.load(
            names.NOT_MODIFIED, 1, self.served.port, flows[names.NOT_MODIFIED]
        )
        share = len(self.disable[round_number::rounds])
        warm = share // 5
        budget = Budget(requests=share - warm, warmup_requests=warm)
        disabled = bench.load(names.DISABLED, 1, self.served.port, flows[names.DISABLED], budget)
        return not_modified, disabled

    def verify(self, bench: Bench) -> None:
        client: MongoClient[dict[str, Any]]
        with MongoClient(self.settings.mongodb_uri) as client:
            principals = client[self.settings.mongodb_database].principals
            bench.report.problems += verify_disabled(
                principals, bench.mailbox, self.disable, bench.known
            )


def _ratios(results: list[Result], baselines: list[Result]) -> list[float]:
    """Per round, the p50 of ``results`` over the p50 of ``baselines``: measured minutes apart
    at most, the two shared whatever else the machine was doing then."""
    return [
        result.percentile(0.5) / baseline.percentile(0.5)
        for result, baseline in zip(results, baselines, strict=True)
    ]


def _merged(results: list[Result]) -> Result:
    """The rounds of one scenario as one result: all latencies, errors and time."""
    merged = Result(results[0].name, results[0].workers)
    for result in results:
        merged.latencies += result.latencies
        merged.errors += result.errors
        merged.elapsed += result.elapsed
    return merged


if __name__ == "__main__":
    raise SystemExit(main())
