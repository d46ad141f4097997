"""Benchmark of DELETE /api/auth/2fa/totp: latency and memory of the core operation.

Runs the real app (uvicorn, loopback HTTP) on a fresh SecantusDB, prepares N users with TOTP and
email enabled and a fresh step-up token each, then times only the DELETE requests. Usage:

    .venv/bin/python bench/disable_totp.py [--users 200]

Results are written to bench/README.md by hand; timings are never asserted in tests.
"""

from __future__ import annotations

import argparse
import resource
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.api import Api
from tests.support.secantus import SecantusServer
from tests.support.smtp import SmtpSink
from twofactor.config import Settings
from twofactor.security.keys import NamedKey


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    users = parser.parse_args().users
    database, mail = SecantusServer().start(), SmtpSink().start()
    api = Api(
        Settings(
            mongodb_uri=database.uri,
            mongodb_database="bench",
            jwt_signing_keys=(NamedKey("bench-jwt", secrets.token_bytes(32)),),
            encryption_keys=(NamedKey("bench-enc", secrets.token_bytes(32)),),
            hash_key=secrets.token_bytes(32),
            smtp_host="127.0.0.1",
            smtp_port=mail.port,
            smtp_tls="none",
        )
    ).start()
    try:
        accounts = [api.account(("totp", "email")) for _ in range(users)]
        latencies = []
        started = time.perf_counter()
        for account in accounts:
            before = time.perf_counter()
            response = api.http.delete("/auth/2fa/totp", headers=account.headers())
            latencies.append(time.perf_counter() - before)
            assert response.status_code == 200, response.text
        elapsed = time.perf_counter() - started
    finally:
        api.stop()
        mail.stop()
        database.stop()
    latencies.sort()
    milliseconds = [value * 1000 for value in latencies]
    print(f"users: {users}")
    print(f"throughput: {users / elapsed:.1f} disables/s (one client, sequential)")
    print(
        f"latency ms: p50 {statistics.median(milliseconds):.1f}, "
        f"p95 {milliseconds[int(0.95 * (users - 1))]:.1f}, max {milliseconds[-1]:.1f}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the benchmark process (app + client): {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
