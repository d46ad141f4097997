"""Sealed text: an encrypted value as one URL-safe string (``kid.nonce.ciphertext``) for a token
claim, bound to its context like the stored fields."""

from __future__ import annotations

import base64
import re
import secrets

import pytest

from twofactor.errors import DatabaseEncryptionFailure
from twofactor.security.crypto import FieldCipher
from twofactor.security.keys import NamedKey

CONTEXT = "65f0c0ffee0000000000abcd:totp-setup"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
URL_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


def new_key(key_id: str = "k1") -> NamedKey:
    return NamedKey(key_id, secrets.token_bytes(32))


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher((new_key(),))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def flip_first_byte(text: str) -> str:
    data = bytearray(unb64(text))
    data[0] ^= 0x01
    return b64(bytes(data))


# Round trip --------------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", [SECRET, "", "Zoë Ångström 名前", "x" * 1000])
def test_sealed_text_opens_to_its_plaintext(cipher: FieldCipher, plaintext: str) -> None:
    assert cipher.open_text(cipher.seal_text(plaintext, CONTEXT), CONTEXT) == plaintext


def test_sealed_text_names_the_current_key_and_hides_the_plaintext(cipher: FieldCipher) -> None:
    sealed = cipher.seal_text(SECRET, CONTEXT)
    key_id, nonce, ciphertext = sealed.split(".")
    assert key_id == "k1"
    assert len(unb64(nonce)) == 12
    assert len(unb64(ciphertext)) == len(SECRET) + 16  # AES-GCM tag
    assert SECRET not in sealed


def test_sealing_twice_gives_different_texts(cipher: FieldCipher) -> None:
    assert cipher.seal_text(SECRET, CONTEXT) != cipher.seal_text(SECRET, CONTEXT)


def test_sealed_text_is_url_safe_without_padding(cipher: FieldCipher) -> None:
    # Random nonces and ciphertexts: over many draws standard base64 would show '+' and '/'.
    for length in range(64):
        sealed = cipher.seal_text("é" * length, CONTEXT)
        assert URL_SAFE.fullmatch(sealed), sealed
        assert not set(sealed) & set("+/=")


def test_sealed_text_opens_after_the_key_ring_rotated() -> None:
    old, new = new_key("old"), new_key("new")
    sealed = FieldCipher((old,)).seal_text(SECRET, CONTEXT)
    rotated = FieldCipher((new, old))
    assert rotated.open_text(sealed, CONTEXT) == SECRET
    assert rotated.seal_text(SECRET, CONTEXT).startswith("new.")


@pytest.mark.parametrize("key_id", ["enc.2026", "v1.2.3"])
def test_sealed_text_opens_under_a_key_id_with_dots(key_id: str) -> None:
    cipher = FieldCipher((new_key(key_id),))
    assert cipher.open_text(cipher.seal_text(SECRET, CONTEXT), CONTEXT) == SECRET


@pytest.mark.parametrize("key_id", ["k-1", "k_1", "K1", "a" * 64])
def test_sealed_text_opens_under_key_ids_without_dots(key_id: str) -> None:
    cipher = FieldCipher((new_key(key_id),))
    assert cipher.open_text(cipher.seal_text(SECRET, CONTEXT), CONTEXT) == SECRET


# Integrity ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "other_context",
    ["65f0c0ffee0000000000ffff:totp-setup", "65f0c0ffee0000000000abcd:email", ""],
)
def test_sealed_text_does_not_open_in_another_context(
    cipher: FieldCipher, other_context: str
) -> None:
    sealed = cipher.seal_text(SECRET, CONTEXT)
    with pytest.raises(DatabaseEncryptionFailure):
        cipher.open_text(sealed, other_context)


def test_sealed_text_does_not_open_under_another_secret_with_the_same_key_id(
    cipher: FieldCipher,
) -> None:
    sealed = cipher.seal_text(SECRET, CONTEXT)
    with pytest.raises(DatabaseEncryptionFailure):
        FieldCipher((new_key("k1"),)).open_text(sealed, CONTEXT)


@pytest.mark.parametrize("part", [1, 2], ids=["nonce", "ciphertext"])
def test_a_tampered_sealed_text_does_not_open(cipher: FieldCipher, part: int) -> None:
    parts = cipher.seal_text(SECRET, CONTEXT).split(".")
    parts[part] = flip_first_byte(parts[part])
    with pytest.raises(DatabaseEncryptionFailure):
        cipher.open_text(".".join(parts), CONTEXT)


def test_a_truncated_sealed_text_does_not_open(cipher: FieldCipher) -> None:
    key_id, nonce, ciphertext = cipher.seal_text(SECRET, CONTEXT).split(".")
    shorter = b64(unb64(ciphertext)[:-1])
    with pytest.raises(DatabaseEncryptionFailure):
        cipher.open_text(f"{key_id}.{nonce}.{shorter}", CONTEXT)


def test_a_sealed_text_relabelled_with_another_known_key_does_not_open() -> None:
    first, second = new_key("k1"), new_key("k2")
    ring = FieldCipher((first, second))
    _, nonce, ciphertext = ring.seal_text(SECRET, CONTEXT).split(".")
    with pytest.raises(DatabaseEncryptionFailure):
        ring.open_text(f"k2.{nonce}.{ciphertext}", CONTEXT)


def test_a_sealed_text_under_an_unknown_key_does_not_open(cipher: FieldCipher) -> None:
    sealed = FieldCipher((new_key("k9"),)).seal_text(SECRET, CONTEXT)
    with pytest.raises(DatabaseEncryptionFailure, match="unknown key"):
        cipher.open_text(sealed, CONTEXT)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("k1", id="key-id-only"),
        pytest.param("k1.", id="no-ciphertext"),
        pytest.param("k1..", id="empty-parts"),
        pytest.param(SECRET, id="plaintext"),
        pytest.param("k1.A.AAAA", id="bad-padding"),
        pytest.param("k1.!!!!.????", id="not-base64"),
        pytest.param("k1.é.ü", id="non-ascii"),
        pytest.param("k1.AAAAAAAAAAAAAAAA", id="two-parts"),
    ],
)
def test_a_malformed_sealed_text_does_not_open(cipher: FieldCipher, text: str) -> None:
    with pytest.raises(DatabaseEncryptionFailure):
        cipher.open_text(text, CONTEXT)


def test_a_sealed_text_with_extra_parts_does_not_open(cipher: FieldCipher) -> None:
    sealed = cipher.seal_text(SECRET, CONTEXT)
    with pytest.raises(DatabaseEncryptionFailure):
        cipher.open_text(f"{sealed}.{b64(b'more')}", CONTEXT)


def test_the_failure_does_not_reveal_the_plaintext(cipher: FieldCipher) -> None:
    sealed = cipher.seal_text(SECRET, CONTEXT)
    with pytest.raises(DatabaseEncryptionFailure) as caught:
        cipher.open_text(sealed, "other")
    assert SECRET not in str(caught.value)
    assert SECRET not in caught.value.detail
