"""``make bench`` (``python -m bench``): everything started here, measured in one run, one table.

Per worker count (1 and 2 by default): the Connexion floor and ``twofactor serve --workers N``,
both started, with users provisioned (see ``bench.provision``); then, in alternating rounds, the
floor, health, DELETE → 304 and the database's own ceiling (``bench.ceiling``); then DELETE → 200,
login and step-up; each scenario from N keep-alive connections (``bench.load``), every DELETE →
200 verified. Then a counting pass of the database commands per request (``bench.wire``).
Figures are printed and written as markdown; nothing is asserted about them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from pymongo import MongoClient

from bench import report as names
from bench.ceiling import find_one_rate
from bench.http import Connection, Request
from bench.load import Budget, Result, merged, run_load
from bench.processes import FloorProcess, SinkProcess
from bench.provision import PASSWORD, User, api_user, in_parallel, pool_user, seeded_users
from bench.report import Report, Round
from bench.sink import Mailbox
from bench.verify import verify_disabled
from bench.wire import CommandCounter
from tests.support.secantus import SecantusServer
from tests.support.served import serve_with
from twofactor.config import Settings
from twofactor.domain.throttle import Budget as ThrottleBudget
from twofactor.security.keys import NamedKey

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Options:
    workers: tuple[int, ...]
    connections: int
    budget: Budget
    pool: int
    users: int
    api_users: int
    count_requests: int
    output: Path
    #: Rounds of the floor, health, 304 and the database ceiling, in turns (see ``measure_rounds``).
    rounds: int


def parse(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds excluded first")
    parser.add_argument("--requests", type=int, help="a request count per scenario instead")
    parser.add_argument("--users", type=int, default=300, help="DELETE → 200 users per run")
    parser.add_argument("--api-users", type=int, default=2, help="of them, made over HTTP")
    parser.add_argument("--pool", type=int, default=8, help="users of 304, login, step-up")
    parser.add_argument("--count-requests", type=int, default=10, help="per scenario, counting")
    parser.add_argument(
        "--rounds", type=int, default=3, help="turns of floor, health, 304 and ceiling"
    )
    parser.add_argument("--output", type=Path, default=HERE / "last-run.md")
    parser.add_argument("--quick", action="store_true", help="about two minutes in all")
    parser.add_argument("--smoke", action="store_true", help="a handful of requests, 1 worker")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.duration, arguments.warmup = 3.0, 1.0
        arguments.users, arguments.pool, arguments.api_users = 80, 4, 1
        arguments.count_requests, arguments.rounds = 5, 2
    if arguments.smoke:
        arguments.workers, arguments.connections, arguments.requests = [1], 2, 2
        arguments.users, arguments.pool, arguments.api_users = 3, 1, 1
        arguments.count_requests, arguments.rounds = 2, 1
    return Options(
        workers=tuple(arguments.workers),
        connections=arguments.connections,
        budget=Budget(
            arguments.duration,
            arguments.warmup,
            arguments.requests,
            0
            if arguments.requests is None
            else min(arguments.connections, arguments.requests // 5),
        ),
        pool=arguments.pool,
        users=max(arguments.users, arguments.api_users),
        api_users=arguments.api_users,
        count_requests=arguments.count_requests,
        output=arguments.output,
        rounds=max(1, arguments.rounds),
    )


UNLIMITED = ThrottleBudget(1_000_000, timedelta(seconds=1))


def bench_settings(database_uri: str, smtp_port: int) -> Settings:
    return Settings(
        # As local mode connects to its embedded SecantusDB: without retryable writes (see
        # twofactor/local_mode.py), which a single database process gains nothing from.
        mongodb_uri=f"{database_uri}&retryWrites=false",
        mongodb_database="bench",
        jwt_signing_keys=(NamedKey("bench-jwt", secrets.token_bytes(32)),),
        encryption_keys=(NamedKey("bench-enc", secrets.token_bytes(32)),),
        hash_key=secrets.token_bytes(32),
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_tls="none",
        # Users are provisioned once and used minutes later: the tokens must outlive the run.
        access_token_ttl=86_400,
        step_up_token_ttl=3_600,
        # Every request comes from one address and the pool's few users repeat the same
        # operations thousands of times: the budgets would answer 429 instead of measuring. The
        # two per-account sign-in budgets too: a success gives its attempt back only once it is
        # done, so a user's logins still in flight at once count against them meanwhile.
        throttle_register_per_address=UNLIMITED,
        throttle_login_per_account=UNLIMITED,
        throttle_login_per_account_address=UNLIMITED,
        throttle_security_changes_per_user=UNLIMITED,
        throttle_step_up_per_user=UNLIMITED,
        throttle_login_per_address=UNLIMITED,
    )


def _bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.access}"}


def sources(pool: list[User], disable: list[User]) -> dict[str, Callable[[], Request | None]]:
    """What each scenario sends; the pool is used round robin, a 200 user only once."""
    health = Request("GET", "/api/health")
    not_modified = itertools.cycle(
        [Request("DELETE", "/api/auth/2fa/totp", tuple(u.headers().items())) for u in pool]
    )
    disabled: Iterator[Request] = iter(
        [Request("DELETE", "/api/auth/2fa/totp", tuple(u.headers().items())) for u in disable]
    )
    logins = itertools.cycle(
        [
            Request.json("POST", "/api/auth/login", {"email": u.email, "password": PASSWORD})
            for u in pool
        ]
    )
    step_ups = itertools.cycle(
        [
            Request.json("POST", "/api/auth/step-up", {"password": PASSWORD}, _bearer(u))
            for u in pool
        ]
    )
    return {
        names.HEALTH: lambda: health,
        names.NOT_MODIFIED: lambda: next(not_modified),
        names.DISABLED: lambda: next(disabled, None),
        names.LOGIN: lambda: next(logins),
        names.STEP_UP: lambda: next(step_ups),
    }


EXPECTED = {names.NOT_MODIFIED: 304}
#: One step of a round: a scenario's result, or the database ceiling's find_one/s.
Measure = Callable[[], float | Result]


class Bench:
    def __init__(self, options: Options, scratch: Path, running: ExitStack) -> None:
        self.options = options
        self.scratch = scratch
        self.database = SecantusServer().start()
        running.callback(self.database.stop)
        (scratch / "mail").mkdir()
        self.sink = SinkProcess(scratch / "mail", scratch / "sink.log")
        running.callback(self.sink.stop)
        self.mailbox = Mailbox(scratch / "mail")
        self.settings = bench_settings(self.database.uri, self.sink.port)
        self.report = Report(threads=options.connections)
        self.pool: list[User] = []
        self.known: set[str] = set()

    def load(
        self,
        name: str,
        workers: int,
        port: int,
        source: Callable[[], Request | None],
        budget: Budget | None = None,
    ) -> Result:
        print(f"  measuring {name} ({workers} worker(s))", file=sys.stderr)
        return asyncio.run(
            run_load(
                name,
                workers,
                "127.0.0.1",
                port,
                source,
                EXPECTED.get(name, 200),
                self.options.connections,
                budget or self.options.budget,
            )
        )

    def run_workers(self, workers: int) -> None:
        print(f"{workers} worker(s):", file=sys.stderr)
        floor = FloorProcess(workers, self.scratch / f"floor-{workers}.log")
        try:
            served = serve_with(self.settings, workers, self.scratch / f"service-{workers}.log")
        except BaseException:
            floor.stop()
            raise
        try:
            disable = self.provision(served.port, self.options.users, self.options.api_users)
            scenarios = sources(self.pool, disable)
            self.measure_rounds(workers, floor.port, served.port, scenarios)
            for name in (names.DISABLED, names.LOGIN, names.STEP_UP):
                budget = None
                if name == names.DISABLED:
                    warm = len(disable) // 5 if self.options.budget.requests is None else 0
                    budget = Budget(requests=len(disable) - warm, warmup_requests=warm)
                self.report.results.append(
                    self.load(name, workers, served.port, scenarios[name], budget)
                )
            self.verify(disable)
        finally:
            floor.stop()
            served.stop()
            self.report.problems += [
                f"service log ({workers} workers): {t}" for t in served.trouble()
            ]

    def measure_rounds(
        self,
        workers: int,
        floor_port: int,
        service_port: int,
        scenarios: dict[str, Callable[[], Request | None]],
    ) -> None:
        """The scenarios the ratios compare, measured in turns, each round in the opposite order
        of the one before: the Connexion floor, health, DELETE → 304 and the database ceiling.

        This machine's speed drifts by a tenth from one minute to the next (other jobs share
        it), so a ratio of two figures measured minutes apart says as much about the drift as
        about the service. Within a round the figures are seconds apart; the report gives the
        median of each round's own ratio. Both servers run throughout; the idle one uses no CPU.
        """
        budget = self.options.budget
        rounds = self.options.rounds
        if budget.requests is None:
            budget = replace(
                budget, duration=budget.duration / rounds, warmup=max(0.5, budget.warmup / rounds)
            )
        health = Request("GET", "/api/health")

        def scenario(name: str, port: int, source: Callable[[], Request | None]) -> Measure:
            return lambda: self.load(name, workers, port, source, budget)

        steps: list[tuple[str, Measure]] = [
            (names.FLOOR, scenario(names.FLOOR, floor_port, lambda: health)),
            (names.HEALTH, scenario(names.HEALTH, service_port, scenarios[names.HEALTH])),
            (
                names.NOT_MODIFIED,
                scenario(names.NOT_MODIFIED, service_port, scenarios[names.NOT_MODIFIED]),
            ),
            (names.CEILING, lambda: self.ceiling(budget)),
        ]
        measured: dict[str, list[Result]] = {name: [] for name, _ in steps}
        for turn in range(rounds):
            figures: dict[str, float] = {}
            for name, measure in steps if turn % 2 == 0 else steps[::-1]:
                outcome = measure()
                if isinstance(outcome, Result):
                    measured[name].append(outcome)
                    figures[name] = outcome.rate
                else:
                    figures[name] = outcome
            self.report.rounds.append(Round(workers, figures))
        for name, _ in steps[:-1]:
            self.report.results.append(merged(measured[name]))

    def ceiling(self, budget: Budget) -> float:
        print("  measuring the database ceiling (raw pymongo find_one)", file=sys.stderr)
        duration = budget.duration if budget.requests is None else 0.5
        warmup = budget.warmup if budget.requests is None else 0.1
        return find_one_rate(
            self.database.uri,
            self.settings.mongodb_database,
            self.options.connections,
            duration,
            warmup,
        )

    def provision(self, port: int, users: int, api_users: int) -> list[User]:
        if not self.pool:
            self.pool = asyncio.run(
                in_parallel("pool users (API)", self.options.pool, 4, pool_user, port)
            )
        mailbox = self.mailbox
        made = asyncio.run(
            in_parallel(
                "TOTP + email users (API flow)",
                api_users,
                2,
                lambda connection: api_user(connection, mailbox),
                port,
            )
        )
        made += seeded_users(self.settings, users - len(made))
        self.known |= {user.email for user in made}
        return made

    def verify(self, users: list[User]) -> None:
        with MongoClient(self.database.uri) as client:
            principals = client[self.settings.mongodb_database]["principals"]
            self.report.problems += verify_disabled(principals, self.mailbox, users, self.known)
        self.report.verified += len(users)

    def count_commands(self) -> None:
        print(
            "counting database commands per request (1 worker, through the proxy)", file=sys.stderr
        )
        counter = CommandCounter(self.database.port).start()
        # No background outbox sweep inside the counting windows.
        settings = replace(self.settings, mongodb_uri=counter.uri, alert_retry_interval=86_400)
        served = serve_with(settings, 1, self.scratch / "service-counting.log")
        try:
            count = self.options.count_requests
            # The timed runs already took users through the whole API flow: seeded ones here.
            disable = self.provision(served.port, count, 0)
            for name, source in sources(self.pool, disable).items():
                before = counter.snapshot()
                asyncio.run(_sequential(served.port, source, count))
                time.sleep(0.2)  # anything the requests left running finishes inside the window
                self.report.commands[name] = (counter.snapshot() - before, count)
            self.verify(disable)
        finally:
            served.stop()
            counter.stop()
            self.report.problems += [f"service log (counting): {t}" for t in served.trouble()]


async def _sequential(port: int, source: Callable[[], Request | None], count: int) -> None:
    connection = Connection("127.0.0.1", port)
    try:
        for _ in range(count):
            request = source()
            assert request is not None
            await connection.send(request)
    finally:
        await connection.close()


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    with tempfile.TemporaryDirectory(prefix="twofactor-bench-") as scratch, ExitStack() as running:
        bench = Bench(options, Path(scratch), running)
        for workers in options.workers:
            bench.run_workers(workers)
        bench.count_commands()
        report = bench.report
    errors = sum(sum(result.errors.values()) for result in report.results)
    budget = options.budget
    report.settings = (
        f"{options.connections} connections; "
        + (
            f"{budget.duration:g} s per scenario after a {budget.warmup:g} s warm-up"
            if budget.requests is None
            else f"{budget.requests} requests per scenario"
        )
        + f", the floor, health, DELETE → 304 and the database ceiling in {options.rounds} "
        "alternating rounds sharing that time, their ratios the median of the rounds' own"
        + f"; DELETE → 200: {options.users} users per worker count, {options.api_users} of them "
        "made through the public API, the rest seeded (bench/README.md)."
    )
    text = report.markdown()
    print(text)
    options.output.write_text(text)
    print(f"written to {options.output}", file=sys.stderr)
    if report.problems or errors:
        print(
            f"FAILED: {len(report.problems)} verification problems, {errors} request errors",
            file=sys.stderr,
        )
        return 1
    return 0
