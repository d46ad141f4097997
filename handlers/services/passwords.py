"""Password hashing with argon2id (argon2-cffi's RFC 9106 defaults)."""

from __future__ import annotations

import contextlib

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from handlers.errors import HashFailure


class PasswordHasher:
    def __init__(self) -> None:
        self._hasher = argon2.PasswordHasher()
        # Verified when no account matches, so a login for an unknown address costs the same time
        # as one for a known address (no account enumeration through timing).
        self._decoy = self._hasher.hash("decoy password for unknown accounts")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        """True when ``password`` matches; ``HashFailure`` when the stored hash cannot be parsed."""
        try:
            return self._hasher.verify(stored_hash, password)
        except VerifyMismatchError:
            return False
        except (InvalidHashError, VerificationError):
            raise HashFailure() from None

    def verify_decoy(self, password: str) -> None:
        with contextlib.suppress(VerifyMismatchError):
            self._hasher.verify(self._decoy, password)

    def ensure_parseable(self, stored_hash: str) -> None:
        """Raise ``HashFailure`` unless the hasher can read ``stored_hash``'s parameters."""
        try:
            argon2.extract_parameters(stored_hash)
        except (InvalidHashError, ValueError):
            raise HashFailure() from None
