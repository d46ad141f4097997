"""A password hasher cheap enough for tests.

Production hashes with RFC 9106's parameters (64 MiB, 3 passes, 4 lanes: a quarter to half a
second per hash on a small machine), on purpose. Tests that sign users in or hash recovery codes
need hashes that are real argon2id but not slow: these are argon2's minimum (8 KiB, 1 pass, 1 lane).
What the parameters themselves do is tested in ``tests/unit/security/test_passwords.py``; any hash
verifies under any parameters, since a hash carries its own.
"""

from __future__ import annotations

from twofactor.security.passwords import PasswordHasher

CHEAP_TIME_COST = 1
CHEAP_MEMORY_COST = 8  # KiB: argon2's minimum, 8 per lane
CHEAP_PARALLELISM = 1


def cheap_passwords() -> PasswordHasher:
    """A real argon2id hasher (and timing decoy) with argon2's cheapest parameters."""
    return PasswordHasher(
        time_cost=CHEAP_TIME_COST, memory_cost=CHEAP_MEMORY_COST, parallelism=CHEAP_PARALLELISM
    )
