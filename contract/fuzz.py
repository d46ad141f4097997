"""``make fuzz``: the live Schemathesis run of the contract stage at volume.

The same run as ``contract/run_live.py``'s live stage (``twofactor-api serve`` on SecantusDB with
an SMTP sink, every check, the examples, coverage, fuzzing and stateful phases, the stateful one
following the spec's links: register → login → step-up → TOTP setup → its confirmation, and
step-up → disable TOTP or email), with ``FUZZ_MAX_EXAMPLES`` examples per operation instead of the
contract stage's bound, and for a user with no second factor yet, whose logins and step-ups answer
tokens the links can carry on (the contract stage's user has two, for the core operation's 200).
The server gets throttling budgets large enough that the fuzzer, which
sends everything from one address, tests the operations rather than their 429 (the 429s are
tested on their own).

It counts the requests the server answered (its access log) per operation and status, and fails
when a Schemathesis check failed, the server logged an unhandled error, or fewer than
``MINIMUM_REQUESTS`` requests were made. ``make test`` runs the bounded version of the same, the
contract stage.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contract.run_live import SERVER_LOG, Stage, print_summary, run_live

FUZZ_MAX_EXAMPLES = 500
MINIMUM_REQUESTS = 10_000
GENEROUS = "1000000/1s"
BUDGETS = {
    f"THROTTLE_{name}": GENEROUS
    for name in (
        "LOGIN_PER_ACCOUNT_ADDRESS",
        "LOGIN_PER_ACCOUNT",
        "LOGIN_PER_ADDRESS",
        "STEP_UP_PER_USER",
        "TWO_FACTOR_CODES_PER_TOKEN",
        "TWO_FACTOR_CODES_PER_USER",
        "SECURITY_CHANGES_PER_USER",
        "REGISTER_PER_ADDRESS",
        "GUESTS_PER_ADDRESS",
    )
}


def answered(log: Path) -> Counter[tuple[str, int]]:
    """(operation, status) of every request in the server's access log."""
    counts: Counter[tuple[str, int]] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("logger") == "twofactor.access":
            counts[(str(entry.get("operation")), int(entry.get("status", 0)))] += 1
    return counts


def main() -> int:
    started = time.monotonic()
    stages = run_live(FUZZ_MAX_EXAMPLES, BUDGETS, second_factors=False)
    counts = answered(SERVER_LOG) if SERVER_LOG.exists() else Counter()
    print("\n===== fuzz: requests answered per operation and status =====")
    for operation in sorted({operation for operation, _ in counts}):
        statuses = sorted((s, n) for (o, s), n in counts.items() if o == operation)
        print(f"  {operation:52} " + "  ".join(f"{s}: {n}" for s, n in statuses))
    total = sum(counts.values())
    stages.append(
        Stage("fuzz: volume", total >= MINIMUM_REQUESTS, f"{total} requests (≥ {MINIMUM_REQUESTS})")
    )
    print_summary(stages, time.monotonic() - started)
    return 0 if all(stage.passed for stage in stages) else 1


if __name__ == "__main__":
    sys.exit(main())
