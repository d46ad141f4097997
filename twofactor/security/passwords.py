"""Password hashing with argon2id.

The production parameters are written out rather than taken from argon2-cffi's defaults, so that
upgrading the library cannot change them silently. They are RFC 9106's second recommended option
(section 4: the uniformly safe choice when 2 GiB per hash is too much; argon2-cffi's
``RFC_9106_LOW_MEMORY`` profile, its default since 21.2.0): argon2id, 3 passes over 64 MiB in
4 lanes, 16-byte salt, 32-byte digest. That is above the OWASP Password Storage Cheat Sheet's
minimum for argon2id (19 MiB, 2 passes, 1 lane), and it is what every stored hash was made with.

An argon2 hash carries its own parameters (``$argon2id$v=19$m=65536,t=3,p=4$...``), so ``verify``
reads any hash whatever parameters this hasher was built with: changing them later leaves stored
hashes verifiable. Cheaper parameters are for tests only, which pass them explicitly.
"""

from __future__ import annotations

import base64
import contextlib
from typing import Final

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from twofactor.errors import HashFailure

TIME_COST: Final = 3
"""Passes over the memory (argon2 ``t``)."""
MEMORY_COST: Final = 64 * 1024
"""Memory per hash in KiB (argon2 ``m``): 64 MiB."""
PARALLELISM: Final = 4
"""Lanes (argon2 ``p``)."""
HASH_LENGTH: Final = 32
SALT_LENGTH: Final = 16


class PasswordHasher:
    def __init__(
        self,
        *,
        time_cost: int = TIME_COST,
        memory_cost: int = MEMORY_COST,
        parallelism: int = PARALLELISM,
    ) -> None:
        """A hasher making new hashes with these argon2id parameters (production's by default).

        ``memory_cost`` is in KiB and must be at least ``8 * parallelism``.
        """
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=HASH_LENGTH,
            salt_len=SALT_LENGTH,
            type=argon2.Type.ID,
        )
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
