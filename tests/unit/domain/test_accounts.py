"""Creating accounts over the in-memory fakes: a user (trimmed, found by a keyed email hash that
is unique, password hashed), a guest (with a session of its own), and reading one back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.domain_kit import CLIENT, PASSWORD, REQUEST, Kit, build_kit
from twofactor.domain.accounts import Registration
from twofactor.domain.model import Kind, Principal, RequestInfo
from twofactor.domain.throttle import Budget
from twofactor.errors import (
    DatabaseFailure,
    EmailAlreadyRegistered,
    InvalidEmailAddress,
    InvalidName,
    TooManyRequests,
    UserNotFound,
)
from twofactor.security.addresses import parse_email_address
from twofactor.security.crypto import EmailHasher


@pytest.fixture
def kit() -> Kit:
    return build_kit()


def register(
    kit: Kit, email: str = "ada@example.com", name: str = "Ada", password: str = PASSWORD
) -> Principal:
    return kit.services.accounts.register(
        Registration(email=email, password=password, name=name), REQUEST
    )


# register -----------------------------------------------------------------------------------


def test_register_stores_a_user_with_name_and_email_trimmed(kit: Kit) -> None:
    user = register(kit, email="  ada@example.com ", name="  Ada Lovelace ")

    assert user.kind is Kind.USER
    assert user.roles == ("user",)
    assert user.name == "Ada Lovelace"
    assert user.email == "ada@example.com"
    assert kit.principals.records[user.id].principal == user


def test_register_starts_a_user_without_second_factor_at_generation_zero(kit: Kit) -> None:
    user = register(kit)

    assert user.created_at == kit.clock.now()
    assert user.step_up_generation == 0
    assert user.methods == ()
    assert user.preferred_method is None
    assert user.totp is None
    assert not user.email_verified


def test_register_indexes_the_user_by_a_keyed_hash_of_the_normalised_email(kit: Kit) -> None:
    user = register(kit, email=" Ada@Example.COM ")

    stored_hash = kit.principals.records[user.id].email_hash
    assert stored_hash == EmailHasher(kit.settings.hash_key)(parse_email_address("ada@example.com"))
    # Only the hash: hex digits, nothing of the address ("ada" alone could be hex by chance).
    assert stored_hash is not None
    assert "example" not in stored_hash
    assert set(stored_hash) <= set("0123456789abcdef")


def test_register_keeps_only_a_hash_of_the_password(kit: Kit) -> None:
    user = register(kit)

    assert user.password_hash is not None
    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith("$argon2id$")
    assert kit.passwords.verify(user.password_hash, PASSWORD)


def test_register_keeps_the_password_exactly_as_typed(kit: Kit) -> None:
    user = register(kit, password=f" {PASSWORD} ")

    assert user.password_hash is not None
    assert kit.passwords.verify(user.password_hash, f" {PASSWORD} ")
    assert not kit.passwords.verify(user.password_hash, PASSWORD)


def test_register_refuses_an_email_already_registered_whatever_its_case_or_spaces(
    kit: Kit,
) -> None:
    first = register(kit, email="ada@example.com")

    with pytest.raises(EmailAlreadyRegistered):
        register(kit, email="  ADA@example.com ", name="Someone else")

    assert list(kit.principals.records) == [first.id]


def test_register_gives_two_addresses_two_users(kit: Kit) -> None:
    ada = register(kit, email="ada@example.com")
    bob = register(kit, email="bob@example.com", name="Bob")

    assert ada.id != bob.id
    assert {ada.id, bob.id} == set(kit.principals.records)


def test_register_starts_no_session(kit: Kit) -> None:
    register(kit)

    assert kit.sessions.records == {}
    assert kit.allowlist.entries == {}


def test_register_fails_as_the_store_fails(kit: Kit) -> None:
    kit.principals.broken = True

    with pytest.raises(DatabaseFailure):
        register(kit)


# create_guest -------------------------------------------------------------------------------


def test_create_guest_stores_a_guest_without_credentials(kit: Kit) -> None:
    guest, _ = kit.services.accounts.create_guest("  Visitor ", CLIENT, REQUEST)

    assert guest.kind is Kind.GUEST
    assert guest.is_guest
    assert guest.roles == ("guest",)
    assert guest.name == "Visitor"
    assert guest.email is None
    assert guest.password_hash is None
    assert kit.principals.records[guest.id].email_hash is None


def test_create_guest_starts_a_session_for_the_guest(kit: Kit) -> None:
    guest, tokens = kit.services.accounts.create_guest("Visitor", CLIENT, REQUEST)

    session = kit.sessions.records[tokens.session_id]
    assert session.principal_id == guest.id
    assert (session.browser, session.os, session.ip) == ("Firefox", "Linux", "203.0.113.7")
    access = kit.services.tokens.verify_access(tokens.access.token)
    assert (access.sub, access.sid, access.roles) == (guest.id, tokens.session_id, ("guest",))
    kit.services.sessions.require_listed(access)


def test_every_guest_is_a_new_principal(kit: Kit) -> None:
    first, _ = kit.services.accounts.create_guest("Visitor", CLIENT, REQUEST)
    second, _ = kit.services.accounts.create_guest("Visitor", CLIENT, REQUEST)

    assert first.id != second.id


# require ------------------------------------------------------------------------------------


def test_require_reads_the_principal_as_stored(kit: Kit) -> None:
    user = register(kit)
    kit.principals.update(user.id, name="Countess of Lovelace")

    assert kit.services.accounts.require(user.id).name == "Countess of Lovelace"


def test_require_of_an_unknown_id_is_user_not_found(kit: Kit) -> None:
    with pytest.raises(UserNotFound):
        kit.services.accounts.require("0123456789abcdef01234567")


def test_require_reads_guests_too(kit: Kit) -> None:
    guest, _ = kit.services.accounts.create_guest("Visitor", CLIENT, REQUEST)

    assert kit.services.accounts.require(guest.id).is_guest


# Address and name policies --------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "a@example.com, eve@elsewhere.example",
        "Eve <eve@elsewhere.example>",
        "ada@example.com\r\nBcc: eve@elsewhere.example",
        "ada\u200b@example.com",
        "ada@ex\u0430mple.com",
        "ada@example.com.",
    ],
)
def test_register_with_a_refused_address_is_invalid_email_address_and_stores_nothing(
    kit: Kit, email: str
) -> None:
    with pytest.raises(InvalidEmailAddress):
        register(kit, email=email)

    assert kit.principals.records == {}


def test_register_stores_the_normalized_address(kit: Kit) -> None:
    user = register(kit, email="Ada@XN--BCHER-KVA.de")

    assert user.email == "Ada@b\u00fccher.de"


@pytest.mark.parametrize(
    "lookalike", ["ADA@example.com", "\uff41\uff44\uff41@example.com", "ada@\uff45xample.com"]
)
def test_register_with_a_lookalike_of_a_registered_address_is_already_registered(
    kit: Kit, lookalike: str
) -> None:
    register(kit)

    with pytest.raises(EmailAlreadyRegistered):
        register(kit, email=lookalike)

    assert len(kit.principals.records) == 1


@pytest.mark.parametrize("name", ["Ada\nLovelace", "\u202eAda", "Ada\u200b", "   "])
def test_register_with_a_refused_name_is_invalid_name_and_stores_nothing(
    kit: Kit, name: str
) -> None:
    with pytest.raises(InvalidName):
        register(kit, name=name)

    assert kit.principals.records == {}


def test_register_stores_the_name_in_nfc(kit: Kit) -> None:
    assert register(kit, name="Jose\u0301").name == "Jos\u00e9"


@pytest.mark.parametrize("name", ["Visitor\r\n", "\u2066Visitor\u2069", "\u3164"])
def test_create_guest_with_a_refused_name_is_invalid_name_and_stores_nothing(
    kit: Kit, name: str
) -> None:
    with pytest.raises(InvalidName):
        kit.services.accounts.create_guest(name, CLIENT, REQUEST)

    assert kit.principals.records == {}
    assert kit.sessions.records == {}


# Budgets per client address -----------------------------------------------------------------

SMALL = Budget(2, timedelta(hours=1))
OTHER_ADDRESS = RequestInfo(ip="198.51.100.9", user_agent=None)
NO_ADDRESS = RequestInfo(ip=None, user_agent=None)


def test_registrations_beyond_the_address_budget_are_refused_and_store_nothing() -> None:
    kit = build_kit(throttle_register_per_address=SMALL)
    register(kit, email="a@example.com")
    with pytest.raises(EmailAlreadyRegistered):  # a taken address counts too: it cost a hash
        register(kit, email="a@example.com")
    kit.clock.advance(60)

    with pytest.raises(TooManyRequests) as refused:
        register(kit, email="b@example.com")

    assert refused.value.code == "TOO_MANY_REQUESTS"
    assert refused.value.retry_after == 3600 - 60
    assert len(kit.principals.records) == 1
    kit.services.accounts.register(Registration("c@example.com", PASSWORD, "C"), OTHER_ADDRESS)


def test_guests_beyond_the_address_budget_are_refused_and_store_nothing() -> None:
    kit = build_kit(throttle_guests_per_address=SMALL)
    for _ in range(SMALL.limit):
        kit.services.accounts.create_guest("Visitor", CLIENT, REQUEST)

    with pytest.raises(TooManyRequests) as refused:
        kit.services.accounts.create_guest("Visitor", CLIENT, REQUEST)

    assert refused.value.retry_after == 3600
    assert len(kit.principals.records) == SMALL.limit
    assert len(kit.sessions.records) == SMALL.limit
    kit.services.accounts.create_guest("Visitor", CLIENT, OTHER_ADDRESS)


def test_requests_from_an_unknown_address_share_no_budget() -> None:
    kit = build_kit(throttle_register_per_address=SMALL, throttle_guests_per_address=SMALL)
    for number in range(SMALL.limit * 3):
        kit.services.accounts.register(
            Registration(f"u{number}@example.com", PASSWORD, "U"), NO_ADDRESS
        )
        kit.services.accounts.create_guest("Visitor", CLIENT, NO_ADDRESS)

    assert len(kit.principals.records) == SMALL.limit * 6
