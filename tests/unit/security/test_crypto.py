"""Field encryption at rest (AES-256-GCM under a key id) and the keyed email lookup hash."""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from twofactor.errors import DatabaseEncryptionFailure
from twofactor.security.addresses import parse_email_address
from twofactor.security.crypto import EmailHasher, FieldCipher
from twofactor.security.keys import NamedKey

CONTEXT = "65f0c0ffee0000000000abcd:email"


def new_key(key_id: str) -> NamedKey:
    return NamedKey(key_id, secrets.token_bytes(32))


@pytest.fixture
def key() -> NamedKey:
    return new_key("k1")


@pytest.fixture
def cipher(key: NamedKey) -> FieldCipher:
    return FieldCipher((key,))


def flip_byte(data: bytes, index: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


# Round trip --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "plaintext", ["alice@example.com", "", "Zoë Ångström 名前", "JBSWY3DPEHPK3PXP" * 8]
)
def test_a_sealed_value_decrypts_to_its_plaintext(cipher: FieldCipher, plaintext: str) -> None:
    assert cipher.decrypt(cipher.encrypt(plaintext, CONTEXT), CONTEXT) == plaintext


def test_a_sealed_value_names_the_current_key_and_hides_the_plaintext(
    cipher: FieldCipher,
) -> None:
    sealed = cipher.encrypt("alice@example.com", CONTEXT)
    assert set(sealed) == {"kid", "nonce", "ct"}
    assert sealed["kid"] == "k1"
    assert isinstance(sealed["nonce"], bytes)
    assert len(sealed["nonce"]) == 12
    assert b"alice" not in sealed["ct"]
    # AES-GCM: ciphertext as long as the plaintext plus a 16-byte tag.
    assert len(sealed["ct"]) == len(b"alice@example.com") + 16


def test_encrypting_twice_gives_different_nonces_and_ciphertexts(cipher: FieldCipher) -> None:
    first = cipher.encrypt("same", CONTEXT)
    second = cipher.encrypt("same", CONTEXT)
    assert first["nonce"] != second["nonce"]
    assert first["ct"] != second["ct"]


def test_a_cipher_needs_at_least_one_key() -> None:
    with pytest.raises(ValueError, match="at least one"):
        FieldCipher(())


# Integrity ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "other_context",
    [
        "65f0c0ffee0000000000abcd:name",  # same document, another field
        "65f0c0ffee0000000000ffff:email",  # same field, another document
        "",
    ],
)
def test_a_different_context_fails_to_decrypt(cipher: FieldCipher, other_context: str) -> None:
    sealed = cipher.encrypt("alice@example.com", CONTEXT)
    with pytest.raises(DatabaseEncryptionFailure):
        cipher.decrypt(sealed, other_context)


@pytest.mark.parametrize("index", [0, 5, -1], ids=["first-byte", "middle-byte", "tag-byte"])
def test_a_tampered_ciphertext_fails_to_decrypt(cipher: FieldCipher, index: int) -> None:
    sealed = cipher.encrypt("alice@example.com", CONTEXT)
    sealed["ct"] = flip_byte(sealed["ct"], index)
    with pytest.raises(DatabaseEncryptionFailure):
        cipher.decrypt(sealed, CONTEXT)


def test_a_truncated_ciphertext_fails_to_decrypt(cipher: FieldCipher) -> None:
    sealed = cipher.encrypt("alice@example.com", CONTEXT)
    sealed["ct"] = sealed["ct"][:-1]
    with pytest.raises(DatabaseEncryptionFailure):
        cipher.decrypt(sealed, CONTEXT)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda nonce: flip_byte(nonce, 0), id="flipped-bit"),
        pytest.param(lambda nonce: os.urandom(12), id="other-nonce"),
        pytest.param(lambda nonce: b"", id="empty-nonce"),
        pytest.param(lambda nonce: nonce + b"\x00", id="longer-nonce"),
    ],
)
def test_a_tampered_nonce_fails_to_decrypt(
    cipher: FieldCipher, tamper: Callable[[bytes], bytes]
) -> None:
    sealed = cipher.encrypt("alice@example.com", CONTEXT)
    sealed["nonce"] = tamper(sealed["nonce"])
    with pytest.raises(DatabaseEncryptionFailure):
        cipher.decrypt(sealed, CONTEXT)


@pytest.mark.parametrize("key_id", ["k2", "", None, 1, b"k1"])
def test_an_unknown_key_id_fails_to_decrypt(cipher: FieldCipher, key_id: object) -> None:
    sealed = cipher.encrypt("alice@example.com", CONTEXT)
    sealed["kid"] = key_id
    with pytest.raises(DatabaseEncryptionFailure, match="unknown key"):
        cipher.decrypt(sealed, CONTEXT)


def test_a_key_with_the_same_id_but_another_secret_fails_to_decrypt(key: NamedKey) -> None:
    sealed = FieldCipher((key,)).encrypt("alice@example.com", CONTEXT)
    impostor = FieldCipher((NamedKey(key.key_id, secrets.token_bytes(32)),))
    with pytest.raises(DatabaseEncryptionFailure):
        impostor.decrypt(sealed, CONTEXT)


def test_a_plaintext_that_is_not_utf8_fails_to_decrypt(key: NamedKey) -> None:
    # Written by something other than FieldCipher, with the right key: still not a text field.
    nonce = os.urandom(12)
    sealed = {
        "kid": key.key_id,
        "nonce": nonce,
        "ct": AESGCM(key.secret).encrypt(nonce, b"\xff\xfe\xfd", CONTEXT.encode()),
    }
    with pytest.raises(DatabaseEncryptionFailure):
        FieldCipher((key,)).decrypt(sealed, CONTEXT)


def _valid_sealed() -> dict[str, Any]:
    return {"kid": "k1", "nonce": os.urandom(12), "ct": os.urandom(32)}


@pytest.mark.parametrize(
    "sealed",
    [
        pytest.param(None, id="none"),
        pytest.param("alice@example.com", id="plaintext-string"),
        pytest.param(b"ciphertext", id="bytes"),
        pytest.param([], id="list"),
        pytest.param({}, id="empty-dict"),
        pytest.param({k: v for k, v in _valid_sealed().items() if k != "ct"}, id="no-ct"),
        pytest.param({k: v for k, v in _valid_sealed().items() if k != "nonce"}, id="no-nonce"),
        pytest.param({**_valid_sealed(), "ct": "text"}, id="ct-is-text"),
        pytest.param({**_valid_sealed(), "nonce": "text"}, id="nonce-is-text"),
        pytest.param({**_valid_sealed(), "nonce": 12}, id="nonce-is-int"),
    ],
)
def test_a_malformed_sealed_value_fails_to_decrypt(cipher: FieldCipher, sealed: object) -> None:
    with pytest.raises(DatabaseEncryptionFailure):
        cipher.decrypt(sealed, CONTEXT)


def test_the_failure_detail_does_not_reveal_the_plaintext(cipher: FieldCipher) -> None:
    sealed = cipher.encrypt("alice@example.com", CONTEXT)
    with pytest.raises(DatabaseEncryptionFailure) as caught:
        cipher.decrypt(sealed, "other")
    assert "alice" not in caught.value.detail
    assert "alice" not in str(caught.value)


# Rotation ----------------------------------------------------------------------------------


def test_a_ring_with_a_new_first_key_still_decrypts_values_sealed_under_the_old_key() -> None:
    old, new = new_key("old"), new_key("new")
    sealed = FieldCipher((old,)).encrypt("alice@example.com", CONTEXT)
    rotated = FieldCipher((new, old))
    assert rotated.decrypt(sealed, CONTEXT) == "alice@example.com"


def test_a_rotated_ring_encrypts_under_its_first_key() -> None:
    old, new = new_key("old"), new_key("new")
    rotated = FieldCipher((new, old))
    sealed = rotated.encrypt("alice@example.com", CONTEXT)
    assert sealed["kid"] == "new"
    assert FieldCipher((new,)).decrypt(sealed, CONTEXT) == "alice@example.com"
    with pytest.raises(DatabaseEncryptionFailure):
        FieldCipher((old,)).decrypt(sealed, CONTEXT)


def test_a_ring_without_the_old_key_fails_to_decrypt_old_values() -> None:
    old, new = new_key("old"), new_key("new")
    sealed = FieldCipher((old,)).encrypt("alice@example.com", CONTEXT)
    with pytest.raises(DatabaseEncryptionFailure, match="unknown key"):
        FieldCipher((new,)).decrypt(sealed, CONTEXT)


# Email lookup hash -------------------------------------------------------------------------


def hashed(hasher: EmailHasher, text: str) -> str:
    return hasher(parse_email_address(text))


@pytest.mark.parametrize(
    "spelling",
    ["alice@example.com", "Alice@Example.COM", "  alice@example.com ", "ALICE@EXAMPLE.COM"],
)
def test_the_email_hash_ignores_case_and_surrounding_spaces(spelling: str) -> None:
    hasher = EmailHasher(secrets.token_bytes(32))
    assert hashed(hasher, spelling) == hashed(hasher, "alice@example.com")


def test_the_email_hash_is_a_sha256_hex_digest() -> None:
    digest = hashed(EmailHasher(secrets.token_bytes(32)), "alice@example.com")
    assert len(digest) == 64
    assert all(char in "0123456789abcdef" for char in digest)


def test_the_email_hash_depends_on_the_key() -> None:
    first, second = EmailHasher(secrets.token_bytes(32)), EmailHasher(secrets.token_bytes(32))
    assert hashed(first, "alice@example.com") != hashed(second, "alice@example.com")


def test_the_email_hash_is_stable_for_the_same_key() -> None:
    key = secrets.token_bytes(32)
    assert hashed(EmailHasher(key), "alice@example.com") == hashed(
        EmailHasher(key), "alice@example.com"
    )


def test_different_addresses_hash_differently() -> None:
    hasher = EmailHasher(secrets.token_bytes(32))
    assert hashed(hasher, "alice@example.com") != hashed(hasher, "bob@example.com")


def test_the_email_hash_of_an_ascii_address_is_the_one_stored_before_addresses_were_validated() -> (
    None
):
    key = secrets.token_bytes(32)
    for text in ("Alice@Example.COM", " bob.smith+tag@Mail.Example.org ", "x@xn--bcher-kva.de"):
        before = hmac.new(key, b"email\x00" + text.strip().lower().encode(), "sha256").hexdigest()
        assert hashed(EmailHasher(key), text) == before
