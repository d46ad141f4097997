"""Principal documents: built for insertion, validated and decrypted on every read."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId

from twofactor.domain.model import Kind, NewUser, Principal, TotpState, TwoFactorMethod
from twofactor.errors import (
    DatabaseEncryptionFailure,
    InvalidPrincipalDocument,
    InvalidUserDocument,
)
from twofactor.security.crypto import FieldCipher, sealed_context
from twofactor.security.keys import NamedKey
from twofactor.store.documents import (
    new_guest_document,
    new_user_document,
    principal_from_document,
)

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
LATER = datetime(2030, 2, 3, 4, 5, 6, tzinfo=UTC)
TOTP_SECRET = "JBSWY3DPEHPK3PXP"

Document = dict[str, Any]
Mutation = Callable[[Document], None]


def new_cipher(key_id: str = "enc-1") -> FieldCipher:
    return FieldCipher((NamedKey(key_id, secrets.token_bytes(32)),))


@pytest.fixture
def cipher() -> FieldCipher:
    return new_cipher()


def user_document(cipher: FieldCipher, principal_id: ObjectId | None = None) -> Document:
    return new_user_document(
        principal_id or ObjectId(),
        NewUser(
            name="Alice Example",
            email="alice@example.com",
            email_hash="a" * 64,
            password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
            created_at=NOW,
        ),
        cipher,
    )


def guest_document(cipher: FieldCipher, principal_id: ObjectId | None = None) -> Document:
    return new_guest_document(principal_id or ObjectId(), name="Guest 7", now=NOW, cipher=cipher)


def with_totp(document: Document, cipher: FieldCipher, *, also_email: bool = False) -> Document:
    pid = str(document["_id"])
    document["twoFactor"] = {
        "methods": ["totp", "email"] if also_email else ["totp"],
        "preferred": "totp",
        "totp": {
            "secret": cipher.encrypt(TOTP_SECRET, sealed_context(pid, "totp.secret")),
            "lastUsedStep": 12345,
            "recoveryCodes": ["$argon2id$code-1", "$argon2id$code-2"],
        },
    }
    return document


# Building documents ------------------------------------------------------------------------


def test_a_new_user_document_round_trips_to_a_principal(cipher: FieldCipher) -> None:
    principal_id = ObjectId()
    document = user_document(cipher, principal_id)
    principal = principal_from_document(document, cipher)
    assert principal == Principal(
        id=str(principal_id),
        kind=Kind.USER,
        roles=("user",),
        name="Alice Example",
        created_at=NOW,
        last_active=NOW,
        step_up_generation=0,
        email="alice@example.com",
        email_verified=False,
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        methods=(),
        preferred_method=None,
        totp=None,
        locale=None,
    )
    assert principal.is_guest is False
    assert principal.two_factor_enabled is False


def test_a_new_guest_document_round_trips_to_a_principal(cipher: FieldCipher) -> None:
    principal_id = ObjectId()
    principal = principal_from_document(guest_document(cipher, principal_id), cipher)
    assert principal == Principal(
        id=str(principal_id),
        kind=Kind.GUEST,
        roles=("guest",),
        name="Guest 7",
        created_at=NOW,
        last_active=NOW,
        step_up_generation=0,
    )
    assert principal.is_guest is True
    assert principal.email is None


def test_a_new_user_document_stores_no_secret_in_clear(cipher: FieldCipher) -> None:
    document = user_document(cipher)
    assert document["email"]["kid"] == "enc-1"
    assert document["name"]["kid"] == "enc-1"
    assert b"alice" not in document["email"]["ct"]
    assert b"Alice" not in document["name"]["ct"]
    assert "alice@example.com" not in repr(document)
    assert document["emailHash"] == "a" * 64
    assert document["securityEvents"] == []
    assert document["alertOutbox"] == []


def test_fields_are_bound_to_their_document_and_place(cipher: FieldCipher) -> None:
    document = user_document(cipher)
    pid = str(document["_id"])
    assert sealed_context(pid, "email") == f"{pid}:email"
    assert cipher.decrypt(document["email"], f"{pid}:email") == "alice@example.com"
    assert cipher.decrypt(document["name"], f"{pid}:name") == "Alice Example"


def test_a_user_with_totp_and_email_round_trips(cipher: FieldCipher) -> None:
    document = with_totp(user_document(cipher), cipher, also_email=True)
    principal = principal_from_document(document, cipher)
    assert principal.methods == (TwoFactorMethod.TOTP, TwoFactorMethod.EMAIL)
    assert principal.preferred_method is TwoFactorMethod.TOTP
    assert principal.totp == TotpState(
        secret=TOTP_SECRET,
        last_used_step=12345,
        recovery_code_hashes=("$argon2id$code-1", "$argon2id$code-2"),
    )
    assert principal.two_factor_enabled is True


def test_a_user_with_email_only_has_no_totp_state(cipher: FieldCipher) -> None:
    document = user_document(cipher)
    document["twoFactor"] = {"methods": ["email"], "preferred": "email"}
    principal = principal_from_document(document, cipher)
    assert principal.methods == (TwoFactorMethod.EMAIL,)
    assert principal.preferred_method is TwoFactorMethod.EMAIL
    assert principal.totp is None


# Accepted variations -----------------------------------------------------------------------


@pytest.mark.parametrize("make", [user_document, guest_document])
def test_optional_principal_fields_may_be_absent(
    cipher: FieldCipher, make: Callable[[FieldCipher], Document]
) -> None:
    document = make(cipher)
    del document["lastActive"]
    del document["stepUpGeneration"]
    principal = principal_from_document(document, cipher)
    assert principal.last_active is None
    assert principal.step_up_generation == 0
    assert principal.locale is None


def test_stored_activity_generation_and_locale_are_read(cipher: FieldCipher) -> None:
    document = user_document(cipher)
    document.update(lastActive=LATER, stepUpGeneration=9, locale="pt_BR", roles=["user", "admin"])
    principal = principal_from_document(document, cipher)
    assert principal.last_active == LATER
    assert principal.step_up_generation == 9
    assert principal.locale == "pt_BR"
    assert principal.roles == ("user", "admin")


def test_a_null_activity_time_is_accepted(cipher: FieldCipher) -> None:
    document = user_document(cipher)
    document["lastActive"] = None
    assert principal_from_document(document, cipher).last_active is None


def test_a_user_without_a_password_has_no_password_hash(cipher: FieldCipher) -> None:
    # Provisioned from an external identity provider: the NO_PASSWORD_PROVIDER case.
    document = user_document(cipher)
    document["passwordHash"] = None
    assert principal_from_document(document, cipher).password_hash is None
    del document["passwordHash"]
    assert principal_from_document(document, cipher).password_hash is None


def test_user_defaults_apply_when_optional_user_fields_are_absent(cipher: FieldCipher) -> None:
    document = user_document(cipher)
    del document["emailVerified"]
    del document["twoFactor"]
    principal = principal_from_document(document, cipher)
    assert principal.email_verified is False
    assert principal.methods == ()
    assert principal.preferred_method is None


def test_a_verified_email_is_read(cipher: FieldCipher) -> None:
    document = user_document(cipher)
    document["emailVerified"] = True
    assert principal_from_document(document, cipher).email_verified is True


def test_totp_step_and_recovery_codes_default_when_absent(cipher: FieldCipher) -> None:
    document = with_totp(user_document(cipher), cipher)
    del document["twoFactor"]["totp"]["lastUsedStep"]
    del document["twoFactor"]["totp"]["recoveryCodes"]
    totp = principal_from_document(document, cipher).totp
    assert totp == TotpState(secret=TOTP_SECRET, last_used_step=0, recovery_code_hashes=())


def test_a_leftover_totp_block_is_ignored_when_totp_is_not_enabled(cipher: FieldCipher) -> None:
    document = user_document(cipher)
    document["twoFactor"] = {"methods": [], "preferred": None, "totp": "garbage"}
    assert principal_from_document(document, cipher).totp is None


def test_a_guest_ignores_user_fields(cipher: FieldCipher) -> None:
    document = guest_document(cipher)
    document["twoFactor"] = "garbage"
    document["emailVerified"] = "garbage"
    principal = principal_from_document(document, cipher)
    assert principal.methods == ()
    assert principal.email is None


# The principal part: InvalidPrincipalDocument -------------------------------------------------


def _delete(field: str) -> Mutation:
    def mutate(document: Document) -> None:
        del document[field]

    return mutate


def _set(field: str, value: object) -> Mutation:
    def mutate(document: Document) -> None:
        document[field] = value

    return mutate


PRINCIPAL_BREAKAGES = [
    pytest.param(_delete("_id"), id="id-missing"),
    pytest.param(_set("_id", None), id="id-null"),
    pytest.param(_set("_id", "65f0c0ffee0000000000abcd"), id="id-hex-string"),
    pytest.param(_set("_id", 42), id="id-int"),
    pytest.param(_delete("kind"), id="kind-missing"),
    pytest.param(_set("kind", None), id="kind-null"),
    pytest.param(_set("kind", "admin"), id="kind-unknown"),
    pytest.param(_set("kind", "USER"), id="kind-uppercase"),
    pytest.param(_set("kind", ["user"]), id="kind-list"),
    pytest.param(_delete("roles"), id="roles-missing"),
    pytest.param(_set("roles", None), id="roles-null"),
    pytest.param(_set("roles", []), id="roles-empty"),
    pytest.param(_set("roles", "user"), id="roles-string"),
    pytest.param(_set("roles", ["user", 1]), id="roles-with-int"),
    pytest.param(_set("roles", {"user": True}), id="roles-object"),
    pytest.param(_delete("createdAt"), id="created-at-missing"),
    pytest.param(_set("createdAt", None), id="created-at-null"),
    pytest.param(_set("createdAt", "2030-01-02T03:04:05Z"), id="created-at-text"),
    pytest.param(_set("createdAt", 1_893_553_445), id="created-at-epoch"),
    pytest.param(_set("lastActive", "yesterday"), id="last-active-text"),
    pytest.param(_set("lastActive", 5), id="last-active-int"),
    pytest.param(_set("stepUpGeneration", -1), id="generation-negative"),
    pytest.param(_set("stepUpGeneration", True), id="generation-bool"),
    pytest.param(_set("stepUpGeneration", "0"), id="generation-text"),
    pytest.param(_set("stepUpGeneration", 1.5), id="generation-float"),
    pytest.param(_set("stepUpGeneration", None), id="generation-null"),
    pytest.param(_set("locale", 5), id="locale-int"),
    pytest.param(_set("locale", ["de"]), id="locale-list"),
    pytest.param(_delete("name"), id="name-missing"),
]


@pytest.mark.parametrize("make", [user_document, guest_document], ids=["user", "guest"])
@pytest.mark.parametrize("breakage", PRINCIPAL_BREAKAGES)
def test_a_malformed_principal_part_is_an_invalid_principal_document(
    cipher: FieldCipher, make: Callable[[FieldCipher], Document], breakage: Mutation
) -> None:
    document = make(cipher)
    breakage(document)
    with pytest.raises(InvalidPrincipalDocument):
        principal_from_document(document, cipher)


# The user part: InvalidUserDocument ----------------------------------------------------------


def _set_two_factor(value: object) -> Mutation:
    return _set("twoFactor", value)


def _set_totp(field: str, value: object) -> Mutation:
    def mutate(document: Document) -> None:
        document["twoFactor"]["totp"][field] = value

    return mutate


USER_BREAKAGES = [
    pytest.param(_delete("email"), id="email-missing"),
    pytest.param(_delete("emailHash"), id="email-hash-missing"),
    pytest.param(_set("emailHash", None), id="email-hash-null"),
    pytest.param(_set("emailHash", 5), id="email-hash-int"),
    pytest.param(_set("emailVerified", "yes"), id="email-verified-text"),
    pytest.param(_set("emailVerified", 1), id="email-verified-int"),
    pytest.param(_set("emailVerified", None), id="email-verified-null"),
    pytest.param(_set("passwordHash", 5), id="password-hash-int"),
    pytest.param(_set("passwordHash", b"$argon2id$"), id="password-hash-bytes"),
    pytest.param(_set("passwordHash", {"hash": "x"}), id="password-hash-object"),
    pytest.param(_set_two_factor("totp"), id="two-factor-string"),
    pytest.param(_set_two_factor(["totp"]), id="two-factor-list"),
    pytest.param(_set_two_factor(5), id="two-factor-int"),
    pytest.param(_set_two_factor({"methods": "totp", "preferred": None}), id="methods-string"),
    pytest.param(_set_two_factor({"methods": None, "preferred": None}), id="methods-null"),
    pytest.param(
        _set_two_factor({"methods": {"totp": True}, "preferred": None}), id="methods-object"
    ),
    pytest.param(_set_two_factor({"methods": ["sms"], "preferred": "sms"}), id="method-unknown"),
    pytest.param(
        _set_two_factor({"methods": ["TOTP"], "preferred": "TOTP"}), id="method-uppercase"
    ),
    pytest.param(_set_two_factor({"methods": [1], "preferred": None}), id="method-int"),
    pytest.param(
        _set_two_factor({"methods": ["email", "email"], "preferred": "email"}),
        id="method-duplicate",
    ),
    pytest.param(
        _set_two_factor({"methods": ["email"], "preferred": "totp"}),
        id="preferred-not-enabled",
    ),
    pytest.param(_set_two_factor({"methods": [], "preferred": "email"}), id="preferred-no-methods"),
    pytest.param(
        _set_two_factor({"methods": ["email"], "preferred": "sms"}), id="preferred-unknown"
    ),
    pytest.param(_set_two_factor({"methods": ["email"], "preferred": ""}), id="preferred-empty"),
    pytest.param(_set_two_factor({"methods": ["email"], "preferred": None}), id="preferred-null"),
    pytest.param(_set_two_factor({"methods": ["email"]}), id="preferred-missing"),
    pytest.param(
        _set_two_factor({"methods": ["totp"], "preferred": "totp"}), id="totp-without-state"
    ),
    pytest.param(
        _set_two_factor({"methods": ["totp"], "preferred": "totp", "totp": {}}),
        id="totp-without-secret",
    ),
    pytest.param(
        _set_two_factor({"methods": ["totp"], "preferred": "totp", "totp": "secret"}),
        id="totp-state-string",
    ),
]

TOTP_BREAKAGES = [
    pytest.param(_set_totp("lastUsedStep", -1), id="last-used-step-negative"),
    pytest.param(_set_totp("lastUsedStep", True), id="last-used-step-bool"),
    pytest.param(_set_totp("lastUsedStep", "3"), id="last-used-step-text"),
    pytest.param(_set_totp("lastUsedStep", 3.0), id="last-used-step-float"),
    pytest.param(_set_totp("lastUsedStep", None), id="last-used-step-null"),
    pytest.param(_set_totp("recoveryCodes", "code"), id="recovery-codes-string"),
    pytest.param(_set_totp("recoveryCodes", None), id="recovery-codes-null"),
    pytest.param(_set_totp("recoveryCodes", ["code", 1]), id="recovery-codes-with-int"),
    pytest.param(_set_totp("recoveryCodes", {"code": True}), id="recovery-codes-object"),
]


@pytest.mark.parametrize("breakage", USER_BREAKAGES)
def test_a_malformed_user_part_is_an_invalid_user_document(
    cipher: FieldCipher, breakage: Mutation
) -> None:
    document = user_document(cipher)
    breakage(document)
    with pytest.raises(InvalidUserDocument):
        principal_from_document(document, cipher)


@pytest.mark.parametrize("breakage", TOTP_BREAKAGES)
def test_a_malformed_totp_state_is_an_invalid_user_document(
    cipher: FieldCipher, breakage: Mutation
) -> None:
    document = with_totp(user_document(cipher), cipher)
    breakage(document)
    with pytest.raises(InvalidUserDocument):
        principal_from_document(document, cipher)


@pytest.mark.parametrize(
    "value", [[], "", 0, False], ids=["empty-list", "empty-text", "zero", "false"]
)
def test_a_falsy_non_object_two_factor_field_is_an_invalid_user_document(
    cipher: FieldCipher, value: object
) -> None:
    document = user_document(cipher)
    document["twoFactor"] = value
    with pytest.raises(InvalidUserDocument):
        principal_from_document(document, cipher)


def test_a_principal_part_failure_wins_over_a_user_part_failure(cipher: FieldCipher) -> None:
    document = user_document(cipher)
    document["roles"] = []
    document["twoFactor"] = "garbage"
    with pytest.raises(InvalidPrincipalDocument):
        principal_from_document(document, cipher)


# Encrypted fields: DatabaseEncryptionFailure -------------------------------------------------


def test_a_field_sealed_under_an_unknown_key_fails_to_decrypt(cipher: FieldCipher) -> None:
    document = user_document(cipher)
    pid = str(document["_id"])
    document["email"] = new_cipher("enc-retired").encrypt(
        "alice@example.com", sealed_context(pid, "email")
    )
    with pytest.raises(DatabaseEncryptionFailure):
        principal_from_document(document, cipher)


def test_a_document_read_with_a_ring_that_lost_its_key_fails_to_decrypt() -> None:
    document = user_document(new_cipher("enc-1"))
    with pytest.raises(DatabaseEncryptionFailure):
        principal_from_document(document, new_cipher("enc-2"))


def test_a_document_sealed_under_an_old_key_reads_after_rotation() -> None:
    old, new = (
        NamedKey("enc-old", secrets.token_bytes(32)),
        NamedKey("enc-new", secrets.token_bytes(32)),
    )
    document = with_totp(user_document(FieldCipher((old,))), FieldCipher((old,)))
    principal = principal_from_document(document, FieldCipher((new, old)))
    assert principal.email == "alice@example.com"
    assert principal.totp is not None
    assert principal.totp.secret == TOTP_SECRET


@pytest.mark.parametrize("field", ["email", "name"])
def test_a_field_copied_from_another_document_fails_to_decrypt(
    cipher: FieldCipher, field: str
) -> None:
    victim, other = user_document(cipher), user_document(cipher)
    victim[field] = copy.deepcopy(other[field])
    with pytest.raises(DatabaseEncryptionFailure):
        principal_from_document(victim, cipher)


def test_a_totp_secret_copied_from_another_document_fails_to_decrypt(
    cipher: FieldCipher,
) -> None:
    victim = with_totp(user_document(cipher), cipher)
    other = with_totp(user_document(cipher), cipher)
    victim["twoFactor"]["totp"]["secret"] = copy.deepcopy(other["twoFactor"]["totp"]["secret"])
    with pytest.raises(DatabaseEncryptionFailure):
        principal_from_document(victim, cipher)


def test_fields_swapped_within_a_document_fail_to_decrypt(cipher: FieldCipher) -> None:
    document = user_document(cipher)
    document["email"], document["name"] = document["name"], document["email"]
    with pytest.raises(DatabaseEncryptionFailure):
        principal_from_document(document, cipher)


def test_the_email_sealed_as_a_totp_secret_fails_to_decrypt(cipher: FieldCipher) -> None:
    document = with_totp(user_document(cipher), cipher)
    document["twoFactor"]["totp"]["secret"] = document["email"]
    with pytest.raises(DatabaseEncryptionFailure):
        principal_from_document(document, cipher)


@pytest.mark.parametrize("field", ["email", "name"])
@pytest.mark.parametrize("value", ["alice@example.com", None, {"kid": "enc-1"}])
def test_a_field_that_is_not_sealed_fails_to_decrypt(
    cipher: FieldCipher, field: str, value: object
) -> None:
    document = user_document(cipher)
    document[field] = value
    with pytest.raises(DatabaseEncryptionFailure):
        principal_from_document(document, cipher)


def test_a_tampered_guest_name_fails_to_decrypt(cipher: FieldCipher) -> None:
    document = guest_document(cipher)
    ciphertext = bytearray(document["name"]["ct"])
    ciphertext[0] ^= 0x01
    document["name"]["ct"] = bytes(ciphertext)
    with pytest.raises(DatabaseEncryptionFailure):
        principal_from_document(document, cipher)
