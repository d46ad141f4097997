"""Mailing one-time codes (``EmailCodeService.send``): the code in the recipient's language,
stored only as a keyed hash, one mail a minute, and the answers when mail is off or down."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.support.domain_kit import Kit, build_kit
from twofactor.domain.email_codes import CODE_LIFETIME, RESEND_COOLDOWN
from twofactor.domain.model import ClientInfo, RequestInfo
from twofactor.errors import (
    EmailAddressUnusable,
    EmailDisabled,
    ServiceUnavailable,
    TooManyAttempts,
    UserNotFound,
)
from twofactor.security.otp import email_code_hash


def new_kit(**settings: Any) -> Kit:
    return build_kit(**settings)


def user(kit: Kit, *, locale: str | None = None) -> str:
    now = kit.clock.now()
    return kit.principals.add_user(created_at=now, last_active=now, locale=locale)


def test_send_mails_a_six_digit_code_valid_ten_minutes() -> None:
    kit = new_kit()
    user_id = user(kit)

    cooldown = kit.services.email_codes.send(user_id)

    assert cooldown == RESEND_COOLDOWN.total_seconds() == 60
    [mail] = kit.mail.codes
    assert (mail.recipient_email, mail.recipient_name) == ("ada@example.com", "Ada")
    assert len(mail.code) == 6
    assert mail.code.isdigit()
    assert mail.valid_minutes == 10


def test_the_code_is_stored_only_as_its_keyed_hash() -> None:
    kit = new_kit()
    user_id = user(kit)

    kit.services.email_codes.send(user_id)

    code = kit.mail.codes[0].code
    stored = kit.principals.records[user_id].email_code
    assert stored is not None
    assert stored.code_hash == email_code_hash(kit.settings.hash_key, user_id, code)
    assert code not in stored.code_hash
    assert stored.expires_at == kit.clock.now() + CODE_LIFETIME
    assert stored.resend_at == kit.clock.now() + RESEND_COOLDOWN


def test_two_codes_are_not_the_same() -> None:
    kit = new_kit()
    user_id = user(kit)

    for _ in range(5):
        kit.services.email_codes.send(user_id)
        kit.clock.advance(RESEND_COOLDOWN.total_seconds())

    assert len({mail.code for mail in kit.mail.codes}) > 1


@pytest.mark.parametrize(
    ("stored_locale", "accept_language", "default_locale", "expected"),
    [
        ("fr", "de-DE,de;q=0.9", "en", "fr"),
        (None, "de-AT,de;q=0.9,en;q=0.5", "en", "de"),
        (None, "pt-BR", "en", "pt_BR"),
        (None, "ja, zh;q=0.8", "es", "es"),
        (None, None, "en", "en"),
        ("xx-invalid", None, "fr", "fr"),
    ],
)
def test_the_code_is_written_in_the_recipients_language(
    stored_locale: str | None, accept_language: str | None, default_locale: str, expected: str
) -> None:
    kit = new_kit(default_locale=default_locale)
    user_id = user(kit, locale=stored_locale)

    kit.services.email_codes.send(user_id, accept_language)

    assert [mail.locale for mail in kit.mail.codes] == [expected]


def test_asking_again_within_a_minute_is_refused_with_the_seconds_to_wait() -> None:
    kit = new_kit()
    user_id = user(kit)
    kit.services.email_codes.send(user_id)
    first = kit.principals.records[user_id].email_code
    kit.clock.advance(15)

    with pytest.raises(TooManyAttempts) as refused:
        kit.services.email_codes.send(user_id)

    assert refused.value.retry_after == 45
    assert len(kit.mail.codes) == 1
    assert kit.principals.records[user_id].email_code == first


def test_after_a_minute_a_new_code_replaces_the_old_one() -> None:
    kit = new_kit()
    user_id = user(kit)
    kit.services.email_codes.send(user_id)
    kit.clock.advance(RESEND_COOLDOWN.total_seconds())

    kit.services.email_codes.send(user_id)

    assert len(kit.mail.codes) == 2
    stored = kit.principals.records[user_id].email_code
    assert stored is not None
    assert stored.code_hash == email_code_hash(
        kit.settings.hash_key, user_id, kit.mail.codes[-1].code
    )


def test_with_email_off_sending_answers_email_disabled() -> None:
    kit = new_kit(mail=False)
    user_id = user(kit)

    with pytest.raises(EmailDisabled) as refused:
        kit.services.email_codes.send(user_id)

    assert refused.value.status == 503
    assert kit.principals.records[user_id].email_code is None


def test_a_mail_server_that_refuses_answers_service_unavailable() -> None:
    kit = new_kit()
    user_id = user(kit)
    kit.mail.refusing = True

    with pytest.raises(ServiceUnavailable) as refused:
        kit.services.email_codes.send(user_id)

    assert type(refused.value) is ServiceUnavailable
    assert refused.value.status == 503
    assert kit.mail.codes == []


def test_after_a_refused_mail_a_new_code_can_be_asked_for_at_once() -> None:
    kit = new_kit()
    user_id = user(kit)
    kit.mail.refusing = True
    with pytest.raises(ServiceUnavailable):
        kit.services.email_codes.send(user_id)
    kit.mail.refusing = False

    kit.services.email_codes.send(user_id)

    assert len(kit.mail.codes) == 1


def test_sending_to_an_unknown_principal_answers_user_not_found() -> None:
    kit = new_kit()

    with pytest.raises(UserNotFound):
        kit.services.email_codes.send(secrets.token_hex(12))

    assert kit.mail.codes == []


def test_sending_to_a_guest_answers_user_not_found() -> None:
    kit = new_kit()
    guest, _ = kit.services.accounts.create_guest(
        "Visitor", ClientInfo(), RequestInfo(ip=None, user_agent=None)
    )

    with pytest.raises(UserNotFound):
        kit.services.email_codes.send(guest.id)

    assert kit.principals.records[guest.id].email_code is None
    assert kit.mail.codes == []


@pytest.mark.parametrize(
    "stored",
    [
        "ada@example.com, eve@elsewhere.example",
        "Eve <eve@elsewhere.example>",
        "ada@example.com\r\nBcc: eve@elsewhere.example",
    ],
)
def test_send_to_an_unusable_stored_address_is_refused_before_anything_is_stored(
    stored: str,
) -> None:
    kit = new_kit()
    now = kit.clock.now()
    user_id = kit.principals.add_user(created_at=now, last_active=now, email=stored)

    with pytest.raises(EmailAddressUnusable):
        kit.services.email_codes.send(user_id)

    assert kit.principals.records[user_id].email_code is None
    assert kit.mail.codes == []


def test_send_that_the_mail_adapter_finds_undeliverable_withdraws_the_code() -> None:
    kit = new_kit()
    user_id = user(kit)
    kit.mail.undeliverable = True

    with pytest.raises(EmailAddressUnusable):
        kit.services.email_codes.send(user_id)

    assert kit.principals.records[user_id].email_code is None
    kit.mail.undeliverable = False
    assert kit.services.email_codes.send(user_id) == 60  # no cooldown was left behind
