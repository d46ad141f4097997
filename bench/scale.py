"""``python -m bench.scale --principals 1000,100000``: the core operation as the principals grow.

One SecantusDB, one SMTP sink and ``twofactor serve --workers 1`` for the whole run. For each
principal count, in increasing order: principals are bulk-inserted directly in the database up to
that count (documents built by the store's own builder, each with a session and an allowlisted
access token, so that every collection the core operation reads grows), then DELETE → 304 and
DELETE → 200 are measured as in ``python -m bench`` (every 200 verified in the database and at the
sink) and their latency printed per count. Flat means the lookups are index lookups: a
collection scan would grow a hundredfold from 1e3 to 1e5. Nothing is asserted about the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bson import ObjectId
from pymongo import MongoClient
from pymongo.database import Database

from bench import report as names
from bench.load import Budget, Result
from bench.provision import Progress
from bench.run import HERE, Bench, parse, sources
from tests.support.served import serve_with
from twofactor.config import Settings
from twofactor.domain.model import NewUser
from twofactor.security.crypto import FieldCipher
from twofactor.store.documents import new_user_document

#: Documents per ``insert_many``: large batches, few round trips.
_BATCH = 2_000


@dataclass(frozen=True)
class ScaleOptions:
    principals: tuple[int, ...]
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
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of DELETE → 304")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--users", type=int, default=150, help="DELETE → 200 users per count")
    parser.add_argument("--pool", type=int, default=8, help="users of DELETE → 304")
    parser.add_argument("--output", type=Path, default=HERE / "last-scale.md")
    arguments = parser.parse_args(argv)
    counts = tuple(sorted({int(count) for count in arguments.principals.split(",")}))
    return ScaleOptions(
        principals=counts,
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


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def markdown(rows: list[Row], connections: int) -> str:
    lines = [
        f"1 worker, {connections} connections, SecantusDB; latency in ms (p50 / p90 / p99).",
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
    for label, before, after in (
        ("304", first.not_modified, last.not_modified),
        ("200", first.disabled, last.disabled),
    ):
        change = after.percentile(0.5) / before.percentile(0.5) - 1
        lines.append("")
        lines.append(
            f"DELETE → {label} p50 at {last.principals:,} principals vs {first.principals:,}: "
            f"{change:+.0%}"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    options = parse_scale(argv)
    bench_options = parse(options.bench_arguments)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="twofactor-scale-") as scratch, ExitStack() as running:
        bench = Bench(bench_options, Path(scratch), running)
        served = serve_with(bench.settings, 1, Path(scratch) / "service-scale.log")
        running.callback(served.stop)
        for target in options.principals:
            disable = bench.provision(served.port, bench_options.users, 0)
            reached = fill(bench.settings, target)
            print(f"{reached:,} principals:", file=sys.stderr)
            flows = sources(bench.pool, disable)
            not_modified = bench.load(names.NOT_MODIFIED, 1, served.port, flows[names.NOT_MODIFIED])
            warm = len(disable) // 5
            budget = Budget(requests=len(disable) - warm, warmup_requests=warm)
            disabled = bench.load(names.DISABLED, 1, served.port, flows[names.DISABLED], budget)
            bench.verify(disable)
            rows.append(Row(reached, not_modified, disabled))
        problems = bench.report.problems + [f"service log: {t}" for t in served.trouble()]
    errors = sum(sum(r.errors.values()) for row in rows for r in (row.not_modified, row.disabled))
    text = markdown(rows, bench_options.connections)
    print(text)
    options.output.write_text(text)
    print(f"written to {options.output}", file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems or errors:
        print(f"FAILED: {len(problems)} problems, {errors} request errors", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
