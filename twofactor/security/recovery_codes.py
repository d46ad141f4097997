"""How recovery codes are stored and checked: HMAC-SHA256 under the service's hash key.

A recovery code carries 80 random bits (``otp.new_recovery_codes``), far beyond what guessing
can reach, so a slow password hash adds nothing but cost: checking a code against the ten stored
ones took up to ten argon2 verifications (about a second of CPU at OWASP's parameters). A keyed
hash (the ``HASH_KEY`` that also keys the email lookup) costs microseconds, and without the key
a stolen database still reveals nothing. Codes stored the old way (argon2 hashes, from before
this format) are still accepted, by the password hasher, until they are used or replaced.
"""

from __future__ import annotations

import hmac

from twofactor.security.crypto import keyed_hash
from twofactor.security.passwords import PasswordHasher

#: Marks a stored code as a keyed hash; anything else is a password hash from before.
PREFIX = "hmac-sha256$"
_PURPOSE = "recovery-code"


class RecoveryCodeHasher:
    def __init__(self, key: bytes, passwords: PasswordHasher) -> None:
        self._key = key
        self._passwords = passwords

    def hash(self, code: str) -> str:
        """The stored form of ``code`` (already normalized: upper case, grouped by four)."""
        return PREFIX + keyed_hash(self._key, _PURPOSE, code)

    def matching(self, stored: tuple[str, ...], code: str) -> str | None:
        """The stored hash ``code`` matches, if any.

        Every keyed hash is compared in constant time, all of them, so the time taken does not
        tell which one matched; old password hashes are verified only when there are any.
        """
        keyed = self.hash(code)
        found: str | None = None
        for candidate in stored:
            if candidate.startswith(PREFIX):
                if hmac.compare_digest(candidate, keyed) and found is None:
                    found = candidate
            elif self._passwords.verify(candidate, code) and found is None:
                found = candidate
        return found
