"""Password hashing with argon2id (argon2-cffi's RFC 9106 defaults)."""

from __future__ import annotations

import base64
import contextlib

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from twofactor.errors import HashFailure


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
        except (ValueError, VerificationError):
            # InvalidHashError is a ValueError; so is a hash argon2-cffi cannot even encode.
            raise HashFailure() from None

    def verify_decoy(self, password: str) -> None:
        with contextlib.suppress(VerifyMismatchError):
            self._hasher.verify(self._decoy, password)

    def ensure_parseable(self, stored_hash: str) -> None:
        """Raise ``HashFailure`` unless the hasher can read ``stored_hash``'s parameters."""
        try:
            argon2.extract_parameters(stored_hash)
            # extract_parameters reads only the parameters: check the salt and digest too.
            *_, salt, digest = stored_hash.split("$")
            if not salt or not digest:
                raise ValueError("empty salt or digest")
            for part in (salt, digest):
                decoded = base64.b64decode(part + "=" * (-len(part) % 4), validate=True)
                # argon2 rejects non-canonical base64 (stray bits in the last character).
                if base64.b64encode(decoded).decode().rstrip("=") != part:
                    raise ValueError("non-canonical base64")
        except (InvalidHashError, ValueError):
            raise HashFailure() from None
