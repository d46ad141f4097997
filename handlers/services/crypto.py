"""Encryption of secret fields at rest (AES-256-GCM under a key id) and the email lookup hash."""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from handlers.config import NamedKey
from handlers.errors import DatabaseEncryptionFailure

_NONCE_BYTES = 12


class FieldCipher:
    """Encrypts with the first key, decrypts with whichever key a ciphertext names.

    ``context`` is bound as associated data (for example ``"<principal id>:email"``), so a
    ciphertext copied into another document or field does not decrypt.
    """

    def __init__(self, keys: tuple[NamedKey, ...]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._current = keys[0].key_id
        self._ciphers = {key.key_id: AESGCM(key.secret) for key in keys}

    def encrypt(self, plaintext: str, context: str) -> dict[str, Any]:
        nonce = os.urandom(_NONCE_BYTES)
        ciphertext = self._ciphers[self._current].encrypt(
            nonce, plaintext.encode(), context.encode()
        )
        return {"kid": self._current, "nonce": nonce, "ct": ciphertext}

    def decrypt(self, sealed: object, context: str) -> str:
        if not isinstance(sealed, dict):
            raise DatabaseEncryptionFailure("An encrypted field is not in the expected format.")
        key_id, nonce, ciphertext = sealed.get("kid"), sealed.get("nonce"), sealed.get("ct")
        if not isinstance(nonce, bytes) or not isinstance(ciphertext, bytes):
            raise DatabaseEncryptionFailure("An encrypted field is not in the expected format.")
        cipher = self._ciphers.get(key_id) if isinstance(key_id, str) else None
        if cipher is None:
            raise DatabaseEncryptionFailure("An encrypted field names an unknown key.")
        try:
            return cipher.decrypt(nonce, ciphertext, context.encode()).decode()
        except (InvalidTag, ValueError, UnicodeDecodeError):
            raise DatabaseEncryptionFailure(
                "An encrypted field failed its integrity check."
            ) from None


class EmailHasher:
    """Keyed hash of the normalised address: finds a user by email without storing it in clear."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, email: str) -> str:
        return hmac.new(self._key, normalize_email(email).encode(), hashlib.sha256).hexdigest()


def normalize_email(email: str) -> str:
    return email.strip().lower()
