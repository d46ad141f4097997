"""Named secret keys and their text form (the key variables of the configuration)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field


@dataclass(frozen=True)
class NamedKey:
    """A secret key with the id under which it is referenced (JWT ``kid``, ciphertext key id)."""

    key_id: str
    secret: bytes = field(repr=False)


def decode_base64(value: str) -> bytes:
    """Standard or URL-safe base64, padding optional."""
    cleaned = value.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    return base64.b64decode(cleaned, validate=True)


def encode_base64(secret: bytes) -> str:
    """URL-safe base64 without padding: accepted back by ``decode_base64``."""
    return base64.urlsafe_b64encode(secret).decode().rstrip("=")
