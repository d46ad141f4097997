"""Password hashing with argon2id: verify, unparseable stored hashes, the timing decoy."""

from __future__ import annotations

from collections.abc import Callable

import argon2
import pytest

from twofactor.errors import HashFailure
from twofactor.security.passwords import PasswordHasher


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    # argon2 is deliberately slow: one hasher (and one decoy hash) for the whole module.
    return PasswordHasher()


@pytest.fixture(scope="module")
def stored(hasher: PasswordHasher) -> str:
    return hasher.hash("correct horse battery staple")


def _head(stored_hash: str) -> str:
    """``$argon2id$v=19$m=...,t=...,p=...$<salt>`` without the digest."""
    return stored_hash.rsplit("$", 1)[0]


UNPARSEABLE = [
    pytest.param("", id="empty"),
    pytest.param("not a hash", id="free-text"),
    pytest.param("correct horse battery staple", id="plaintext-password"),
    pytest.param("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", id="bcrypt"),
    pytest.param("$argon2x$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g", id="unknown-variant"),
    pytest.param("$argon2id$v=19$m=garbage", id="garbage-parameters"),
    pytest.param("$argon2id$v=19$t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g", id="missing-memory-cost"),
]


def test_a_hash_is_argon2id_and_does_not_contain_the_password(stored: str) -> None:
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert argon2.extract_parameters(stored).type is argon2.Type.ID


def test_hashing_the_same_password_twice_uses_different_salts(hasher: PasswordHasher) -> None:
    assert hasher.hash("same password") != hasher.hash("same password")


def test_the_right_password_verifies(hasher: PasswordHasher, stored: str) -> None:
    assert hasher.verify(stored, "correct horse battery staple") is True


@pytest.mark.parametrize(
    "wrong",
    [
        "",
        "correct horse battery stapl",
        "Correct horse battery staple",
        "correct horse battery staple ",
    ],
)
def test_a_wrong_password_does_not_verify(hasher: PasswordHasher, stored: str, wrong: str) -> None:
    assert hasher.verify(stored, wrong) is False


def test_a_hash_from_another_password_hasher_instance_verifies(stored: str) -> None:
    # Nothing per-process (like the decoy) leaks into stored hashes.
    assert PasswordHasher().verify(stored, "correct horse battery staple") is True


@pytest.mark.parametrize("stored_hash", UNPARSEABLE)
def test_verify_against_an_unparseable_hash_raises_hash_failure(
    hasher: PasswordHasher, stored_hash: str
) -> None:
    with pytest.raises(HashFailure):
        hasher.verify(stored_hash, "correct horse battery staple")


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda h: _head(h) + "$", id="empty-digest"),
        pytest.param(lambda h: _head(h) + "$!!!!not-base64!!!!", id="digest-not-base64"),
        pytest.param(lambda h: h[:-5], id="truncated-digest"),
    ],
)
def test_verify_against_a_hash_with_a_corrupt_digest_raises_hash_failure(
    hasher: PasswordHasher, stored: str, corrupt: Callable[[str], str]
) -> None:
    with pytest.raises(HashFailure):
        hasher.verify(corrupt(stored), "correct horse battery staple")


def test_verify_against_a_non_ascii_hash_raises_hash_failure(hasher: PasswordHasher) -> None:
    with pytest.raises(HashFailure):
        hasher.verify("$argon2id$v=19$m=65536,t=3,p=4$sälz$digest", "password")


def test_ensure_parseable_accepts_a_real_hash(hasher: PasswordHasher, stored: str) -> None:
    assert hasher.ensure_parseable(stored) is None


@pytest.mark.parametrize("stored_hash", UNPARSEABLE)
def test_ensure_parseable_rejects_an_unparseable_hash_with_hash_failure(
    hasher: PasswordHasher, stored_hash: str
) -> None:
    with pytest.raises(HashFailure):
        hasher.ensure_parseable(stored_hash)


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda h: _head(h) + "$", id="empty-digest"),
        pytest.param(lambda h: _head(h) + "$!!!!not-base64!!!!", id="digest-not-base64"),
        pytest.param(lambda h: h[:-5], id="truncated-digest"),
        pytest.param(
            lambda h: _head(_head(h)) + "$sälz$" + h.rsplit("$", 1)[1], id="non-ascii-salt"
        ),
    ],
)
def test_ensure_parseable_rejects_a_hash_that_verify_cannot_read(
    hasher: PasswordHasher, stored: str, corrupt: Callable[[str], str]
) -> None:
    with pytest.raises(HashFailure):
        hasher.ensure_parseable(corrupt(stored))


@pytest.mark.parametrize("password", ["", "anything", "decoy password for unknown accounts"])
def test_verify_decoy_returns_none_whatever_the_password(
    hasher: PasswordHasher, password: str
) -> None:
    assert hasher.verify_decoy(password) is None
