"""A bounded memory of the tokens this process has verified, so that a token presented again
costs a dictionary look-up instead of an HMAC, two base64 and JSON parses and the claim checks.

A client sends the same access token with every request for up to its whole lifetime (and the
same step-up token with each request behind it); verifying it again each time is the same work
with the same answer, since nothing a verification looks at but the clock can change while the
process runs (the keys, issuer and audiences are fixed when ``TokenService`` is built).

Only successes are remembered: a token that fails any check is checked in full again every time,
so it answers exactly as it would without this memory. A remembered token is only answered from
here while the clock is within the time its success was checked and its expiry: from ``exp`` on,
or when the clock has been set back before that check (a token ``iat`` too far ahead of the
clock might then be refused again), the caller verifies it in full, which answers exactly as an
uncached verification does (``*_EXPIRED``, or ``*_INVALID``).

Revocation is not a verification's business and is unchanged: the access-token allowlist and the
step-up generation are read from the database after the token verifies.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

#: How many verified tokens are remembered, least recently used forgotten first. One entry holds
#: a token (a few hundred bytes) and its claims: a full memory stays within a few megabytes, and
#: a flood of distinct valid tokens only pushes older ones out.
CAPACITY = 4096


@dataclass(frozen=True)
class _Verified:
    claims: object
    #: When the successful verification was checked: every time check passed then, and, the
    #: ``iat``/``nbf`` bound only widening as the clock moves on, holds at every later time.
    checked_at: datetime
    expires_at: datetime


class VerifiedTokens:
    """Successful verifications, keyed by the token's exact text and the kind it was verified as
    (a token is never answered from here as a kind it was not verified as).

    Thread-safe: Connexion's security functions verify on the event loop, handlers and domain
    services in the thread pool.
    """

    def __init__(self, capacity: int = CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("the capacity must be at least one token")
        self._capacity = capacity
        self._entries: OrderedDict[tuple[str, str], _Verified] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, kind: str, token: str, now: datetime) -> object | None:
        """The claims remembered for ``token`` verified as ``kind``, or ``None`` when it must be
        verified in full: never seen, forgotten, expired at ``now``, or ``now`` before the
        time its success was checked."""
        key = (kind, token)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if not entry.checked_at <= now < entry.expires_at:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry.claims

    def remember(
        self,
        kind: str,
        token: str,
        claims: object,
        *,
        checked_at: datetime,
        expires_at: datetime,
    ) -> None:
        """Remember a successful verification of ``token`` as ``kind``; ``checked_at`` must be
        no earlier than the clock reading the verification's time checks used."""
        key = (kind, token)
        with self._lock:
            self._entries[key] = _Verified(claims, checked_at, expires_at)
            self._entries.move_to_end(key)
            if len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
