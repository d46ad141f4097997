"""Encryption of secret fields at rest (AES-256-GCM under a key id) and the email lookup hash."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from twofactor.errors import DatabaseEncryptionFailure
from twofactor.security.addresses import EmailAddress
from twofactor.security.keys import NamedKey

_NONCE_BYTES = 12


def sealed_context(owner_id: str, purpose: str) -> str:
    """The associated data binding a ciphertext to its owner and its place or purpose."""
    return f"{owner_id}:{purpose}"


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

    def seal_text(self, plaintext: str, context: str) -> str:
        """Encrypt into one URL-safe string (for a token claim): ``kid.nonce.ciphertext``."""
        sealed = self.encrypt(plaintext, context)
        return ".".join((sealed["kid"], _b64(sealed["nonce"]), _b64(sealed["ct"])))

    def open_text(self, text: str, context: str) -> str:
        # From the right: a key id may itself contain dots, nonce and ciphertext never do.
        rest, _, ciphertext = text.rpartition(".")
        key_id, _, nonce = rest.rpartition(".")
        try:
            sealed = {"kid": key_id, "nonce": _unb64(nonce), "ct": _unb64(ciphertext)}
        except (ValueError, binascii.Error):
            raise DatabaseEncryptionFailure(
                "A sealed value is not in the expected format."
            ) from None
        return self.decrypt(sealed, context)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class EmailHasher:
    """Keyed hash of an address's comparison key: finds a user by email without storing it in
    clear. For a plain ASCII address the key is ``strip().lower()`` of it, as it always was."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, address: EmailAddress) -> str:
        return keyed_hash(self._key, "email", address.key)


def keyed_hash(key: bytes, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value``, separated by ``purpose`` so one hash never stands for another."""
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()
