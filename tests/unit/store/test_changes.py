"""The documents a security change writes, built by the store from the domain's values."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest
from bson import ObjectId

from twofactor.domain.alerts import AlertKind, QueuedAlert, SecurityEvent
from twofactor.domain.model import (
    ChangeOrigin,
    EmailCodeState,
    NewUser,
    RequestInfo,
    TotpState,
    TwoFactorMethod,
)
from twofactor.errors import DatabaseEncryptionFailure
from twofactor.security.crypto import FieldCipher
from twofactor.security.keys import NamedKey
from twofactor.store.changes import (
    event_document,
    factor_state_document,
    outbox_entry,
)
from twofactor.store.documents import new_user_document, principal_from_document

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
CIPHER = FieldCipher((NamedKey("enc-1", secrets.token_bytes(32)),))
ORIGIN = ChangeOrigin(
    session_id="session-1",
    request=RequestInfo(ip="203.0.113.7", user_agent="curl/8"),
    browser="Firefox",
    os="Linux",
)
TOTP = TotpState(
    secret="JBSWY3DPEHPK3PXP",
    last_used_step=42,
    recovery_code_hashes=("$argon2id$a", "$argon2id$b"),
    enabled_at=NOW,
)


def user_with(method: TwoFactorMethod, state: TotpState | EmailCodeState) -> dict[str, object]:
    principal_id = ObjectId()
    user = NewUser(
        "Ada", "ada@example.com", "h" * 64, "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA", NOW
    )
    document = new_user_document(principal_id, user, CIPHER)
    document["twoFactor"] = {
        "methods": [method.value],
        "preferred": method.value,
        method.value: factor_state_document(str(principal_id), state, CIPHER),
    }
    return document


def test_a_totp_state_written_by_the_store_reads_back_the_same() -> None:
    principal = principal_from_document(user_with(TwoFactorMethod.TOTP, TOTP), CIPHER)

    assert principal.totp == TOTP
    assert principal.methods == (TwoFactorMethod.TOTP,)


def test_the_totp_secret_is_stored_encrypted() -> None:
    document = factor_state_document(str(ObjectId()), TOTP, CIPHER)

    assert TOTP.secret not in repr(document)
    assert set(document["secret"]) == {"kid", "nonce", "ct"}


def test_a_totp_secret_written_for_one_principal_does_not_open_for_another() -> None:
    document = user_with(TwoFactorMethod.TOTP, TOTP)
    stolen = factor_state_document(str(ObjectId()), TOTP, CIPHER)
    document["twoFactor"]["totp"] = stolen  # type: ignore[index]

    with pytest.raises(DatabaseEncryptionFailure):
        principal_from_document(document, CIPHER)


def test_an_email_factor_keeps_only_its_enabling_time() -> None:
    assert factor_state_document("p", EmailCodeState(enabled_at=NOW), CIPHER) == {"enabledAt": NOW}
    assert factor_state_document("p", EmailCodeState(), CIPHER) == {}


def test_a_totp_state_without_an_enabling_time_reads_back_without_one() -> None:
    legacy = TotpState(TOTP.secret, 0, ())
    principal = principal_from_document(user_with(TwoFactorMethod.TOTP, legacy), CIPHER)

    assert principal.totp == legacy


def test_a_security_event_records_what_when_and_from_where() -> None:
    event = SecurityEvent(AlertKind.TWO_FACTOR_REMOVED, TwoFactorMethod.TOTP, ORIGIN, NOW)

    assert event_document(event) == {
        "type": "two_factor_removed",
        "method": "totp",
        "at": NOW,
        "sessionId": "session-1",
        "ip": "203.0.113.7",
        "userAgent": "curl/8",
        "browser": "Firefox",
        "os": "Linux",
    }


def test_a_queued_alert_is_pending_and_due_at_once() -> None:
    alert = QueuedAlert("a1", AlertKind.TWO_FACTOR_ADDED, TwoFactorMethod.EMAIL, "de", ORIGIN, NOW)

    entry = outbox_entry(alert)

    assert entry["status"] == "pending"
    assert entry["attempts"] == 0
    assert entry["nextAttemptAt"] == entry["createdAt"] == NOW
    assert (entry["id"], entry["kind"], entry["method"], entry["locale"]) == (
        "a1",
        "two_factor_added",
        "email",
        "de",
    )
    assert entry["origin"]["ip"] == "203.0.113.7"
