"""Emailed codes as a second factor (``EmailCodeFactor``): the code last mailed proves the
factor once, for ten minutes, only to its own user; it proves the mailbox even before email is
a second factor."""

from __future__ import annotations

from tests.support.domain_kit import Kit, build_kit
from twofactor.domain.email_codes import CODE_LIFETIME
from twofactor.domain.model import Principal, TwoFactorMethod
from twofactor.factors.email_codes import EmailCodeFactor


class Setting:
    """The factor over a kit, and a user (email on unless told otherwise) with a mailed code."""

    def __init__(self, *methods: TwoFactorMethod, email: str = "ada@example.com") -> None:
        self.kit: Kit = build_kit()
        self.factor = EmailCodeFactor(self.kit.principals, self.kit.settings.hash_key)
        self.user_id = self.add_user(email, methods or (TwoFactorMethod.EMAIL,))
        self.code = self.mail_code(self.user_id)

    def add_user(self, email: str, methods: tuple[TwoFactorMethod, ...]) -> str:
        now = self.kit.clock.now()
        return self.kit.principals.add_user(
            created_at=now, last_active=now, email=email, methods=methods
        )

    def mail_code(self, principal_id: str) -> str:
        self.kit.services.email_codes.send(principal_id)
        return self.kit.mail.codes[-1].code

    def principal(self, principal_id: str | None = None) -> Principal:
        principal = self.kit.principals.get(principal_id or self.user_id)
        assert principal is not None
        return principal

    def prove(self, code: str, principal_id: str | None = None) -> bool:
        return self.factor.prove(self.principal(principal_id), code, self.kit.clock.now())


def test_the_mailed_code_is_accepted_once() -> None:
    setting = Setting()

    assert setting.prove(setting.code)
    assert not setting.prove(setting.code)
    assert setting.kit.principals.records[setting.user_id].email_code is None


def test_a_wrong_code_is_refused_and_the_mailed_one_still_works() -> None:
    setting = Setting()

    assert not setting.prove(f"{(int(setting.code) + 1) % 1_000_000:06d}")
    assert setting.prove(setting.code)


def test_the_code_is_accepted_until_ten_minutes_have_passed() -> None:
    in_time, too_late = Setting(), Setting()
    in_time.kit.clock.advance(CODE_LIFETIME.total_seconds() - 1)
    too_late.kit.clock.advance(CODE_LIFETIME.total_seconds())

    assert in_time.prove(in_time.code)
    assert not too_late.prove(too_late.code)


def test_only_the_last_mailed_code_is_accepted() -> None:
    setting = Setting()
    setting.kit.clock.advance(60)
    newer = setting.mail_code(setting.user_id)

    assert not setting.prove(setting.code)
    assert setting.prove(newer)


def test_a_code_mailed_to_another_user_is_refused() -> None:
    setting = Setting()
    bob = setting.add_user("bob@example.com", (TwoFactorMethod.EMAIL,))

    assert not setting.prove(setting.code, bob)
    assert setting.prove(setting.code)


def test_without_email_on_the_factor_refuses_and_leaves_the_code_unused() -> None:
    setting = Setting(TwoFactorMethod.TOTP)

    assert not setting.prove(setting.code)
    assert setting.kit.principals.records[setting.user_id].email_code is not None


def test_the_code_proves_the_mailbox_before_email_is_a_second_factor() -> None:
    setting = Setting(TwoFactorMethod.TOTP)
    now = setting.kit.clock.now()

    assert setting.factor.confirm_mailbox(setting.principal(), setting.code, now)
    assert not setting.factor.confirm_mailbox(setting.principal(), setting.code, now)


def test_nothing_proves_the_mailbox_when_no_code_was_mailed() -> None:
    setting = Setting()
    bob = setting.add_user("bob@example.com", ())

    assert not setting.factor.confirm_mailbox(
        setting.principal(bob), setting.code, setting.kit.clock.now()
    )


def test_the_factor_is_named_email_and_labelled_for_emails() -> None:
    factor = Setting().factor

    assert factor.amr == "email"
    assert factor.label == "Email codes"
