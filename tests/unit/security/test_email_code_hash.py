"""The stored hash of an emailed code: keyed, and bound to the principal it was sent to."""

from __future__ import annotations

import re
import secrets

from twofactor.security.crypto import keyed_hash
from twofactor.security.otp import email_code_hash

KEY = secrets.token_bytes(32)
ADA = "65f0c0ffee0000000000abcd"
BOB = "65f0c0ffee0000000000ffff"


def test_the_hash_of_a_code_is_stable_for_the_same_key_principal_and_code() -> None:
    assert email_code_hash(KEY, ADA, "123456") == email_code_hash(KEY, ADA, "123456")


def test_the_hash_is_a_sha256_hex_digest_without_the_code_in_it() -> None:
    digest = email_code_hash(KEY, ADA, "123456")
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert "123456" not in digest


def test_the_same_code_hashes_differently_for_another_principal() -> None:
    # A code mailed to one account is no use for another.
    assert email_code_hash(KEY, ADA, "123456") != email_code_hash(KEY, BOB, "123456")


def test_another_code_hashes_differently_for_the_same_principal() -> None:
    hashes = {email_code_hash(KEY, ADA, f"{n:06d}") for n in range(1000)}
    assert len(hashes) == 1000


def test_the_hash_depends_on_the_key() -> None:
    # Without the key, the million possible codes cannot be tried against a stolen hash.
    other_key = secrets.token_bytes(32)
    assert email_code_hash(KEY, ADA, "123456") != email_code_hash(other_key, ADA, "123456")


def test_the_hash_is_separated_from_other_uses_of_the_key() -> None:
    # The email lookup hash uses the same key: a code hash never equals one of those.
    digest = email_code_hash(KEY, ADA, "123456")
    assert digest != keyed_hash(KEY, "email", f"{ADA}:123456")
    assert digest != keyed_hash(KEY, "email", "123456")
