"""Password hashing with argon2id: the production parameters, verify, unparseable stored hashes,
the timing decoy. The behaviour is checked under the production parameters and under the cheap ones
the other tests use."""

from __future__ import annotations

from collections.abc import Callable

import argon2
import pytest

from tests.support.passwords import cheap_passwords
from twofactor.errors import HashFailure
from twofactor.security.passwords import PasswordHasher

#: RFC 9106's second recommended option (section 4), as documented in the module.
PRODUCTION = argon2.Parameters(
    type=argon2.Type.ID,
    version=19,
    salt_len=16,
    hash_len=32,
    time_cost=3,
    memory_cost=65536,
    parallelism=4,
)
#: Made by the service before its parameters were written out (argon2-cffi 25.1's defaults).
EARLIER_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$O2V7mLRIOhhA4wFziu09Ag"
    "$IvKvjV9cUHkV1UvuzcS6KN0XwD4jyQ9TPD/6tEtXi4o"
)


@pytest.fixture(scope="module")
def production() -> PasswordHasher:
    # argon2 is deliberately slow: one production hasher (and one decoy hash) for the module.
    return PasswordHasher()


@pytest.fixture(scope="module")
def cheap() -> PasswordHasher:
    return cheap_passwords()


@pytest.fixture(scope="module", params=["production", "cheap"])
def hasher(request: pytest.FixtureRequest) -> PasswordHasher:
    """Each behaviour below, under both sets of parameters."""
    built: PasswordHasher = request.getfixturevalue(request.param)
    return built


@pytest.fixture(scope="module")
def stored(hasher: PasswordHasher) -> str:
    return hasher.hash("correct horse battery staple")


def _head(stored_hash: str) -> str:
    """``$argon2id$v=19$m=...,t=...,p=...$<salt>`` without the digest."""
    return stored_hash.rsplit("$", 1)[0]


def _truncated(stored_hash: str) -> str:
    """The digest cut short to 4k+1 characters, a length no base64 text has. (Cut to another
    length, one time in 16 its last character carries no stray bits: argon2 then reads a valid,
    shorter digest, and the password merely does not match.)"""
    head, digest = stored_hash.rsplit("$", 1)
    keep = len(digest) - 5
    keep -= (keep - 1) % 4
    return f"{head}${digest[:keep]}"


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


# Parameters ---------------------------------------------------------------------------------


def test_production_hashes_use_the_documented_parameters(production: PasswordHasher) -> None:
    assert argon2.extract_parameters(production.hash("anything")) == PRODUCTION
    # The same as argon2-cffi's RFC 9106 low-memory profile, the library default they come from.
    assert PRODUCTION == argon2.profiles.RFC_9106_LOW_MEMORY


def test_the_cheap_hasher_uses_its_parameters_and_stays_argon2id(cheap: PasswordHasher) -> None:
    parameters = argon2.extract_parameters(cheap.hash("anything"))

    assert parameters.type is argon2.Type.ID
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (1, 8, 1)
    assert (parameters.salt_len, parameters.hash_len) == (16, 32)


def test_a_hash_made_before_the_parameters_were_explicit_still_verifies(
    hasher: PasswordHasher,
) -> None:
    assert hasher.verify(EARLIER_HASH, "correct horse battery staple") is True
    assert hasher.verify(EARLIER_HASH, "correct horse battery stapl") is False


@pytest.mark.parametrize(
    ("made_by", "checked_by"), [("production", "cheap"), ("cheap", "production")]
)
def test_a_hash_verifies_under_other_parameters_than_it_was_made_with(
    request: pytest.FixtureRequest, made_by: str, checked_by: str
) -> None:
    made: str = request.getfixturevalue(made_by).hash("correct horse battery staple")
    checker: PasswordHasher = request.getfixturevalue(checked_by)

    assert checker.verify(made, "correct horse battery staple") is True
    assert checker.verify(made, "Correct horse battery staple") is False
    assert checker.ensure_parseable(made) is None


def test_parameters_below_argon2s_minimum_are_refused() -> None:
    with pytest.raises(argon2.exceptions.HashingError):
        PasswordHasher(time_cost=1, memory_cost=8, parallelism=2)


# Stored hashes that cannot be read ----------------------------------------------------------


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
        pytest.param(_truncated, id="truncated-digest"),
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
        pytest.param(_truncated, id="truncated-digest"),
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
