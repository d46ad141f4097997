"""The stored form of recovery codes: a keyed hash, with password hashes from before still read."""

from __future__ import annotations

import secrets

import pytest

from tests.support.passwords import cheap_passwords
from twofactor.errors import HashFailure
from twofactor.security import otp
from twofactor.security.recovery_codes import PREFIX, RecoveryCodeHasher

PASSWORDS = cheap_passwords()
KEY = secrets.token_bytes(32)
CODES = otp.new_recovery_codes()


def test_a_code_is_stored_as_a_keyed_hash_that_does_not_contain_it() -> None:
    stored = RecoveryCodeHasher(KEY, PASSWORDS).hash(CODES[0])

    assert stored.startswith(PREFIX)
    assert CODES[0] not in stored
    assert stored == RecoveryCodeHasher(KEY, PASSWORDS).hash(CODES[0])


def test_the_same_code_under_another_key_is_another_hash() -> None:
    mine = RecoveryCodeHasher(KEY, PASSWORDS).hash(CODES[0])

    assert RecoveryCodeHasher(secrets.token_bytes(32), PASSWORDS).hash(CODES[0]) != mine


def test_matching_finds_the_stored_hash_of_the_code_among_all_of_them() -> None:
    hasher = RecoveryCodeHasher(KEY, PASSWORDS)
    stored = tuple(hasher.hash(code) for code in CODES)

    assert hasher.matching(stored, CODES[7]) == stored[7]
    assert hasher.matching(stored, otp.new_recovery_codes()[0]) is None
    assert hasher.matching((), CODES[0]) is None


def test_a_hash_made_under_another_key_never_matches() -> None:
    foreign = RecoveryCodeHasher(secrets.token_bytes(32), PASSWORDS)

    assert RecoveryCodeHasher(KEY, PASSWORDS).matching((foreign.hash(CODES[0]),), CODES[0]) is None


def test_password_hashes_stored_before_the_keyed_hash_still_match() -> None:
    hasher = RecoveryCodeHasher(KEY, PASSWORDS)
    stored = (PASSWORDS.hash(CODES[0]), hasher.hash(CODES[1]), PASSWORDS.hash(CODES[2]))

    assert hasher.matching(stored, CODES[2]) == stored[2]
    assert hasher.matching(stored, CODES[1]) == stored[1]
    assert hasher.matching(stored, CODES[3]) is None


def test_a_stored_value_that_is_neither_form_is_a_hash_failure() -> None:
    with pytest.raises(HashFailure):
        RecoveryCodeHasher(KEY, PASSWORDS).matching(("not a hash",), CODES[0])
