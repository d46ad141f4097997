"""Recovery codes (``RecoveryCodeFactor``): each stored code is accepted once, however the user
types it, only by its own user. (The registry that lists them is in ``test_registry``.)"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest

from tests.support.fakes import FakePrincipals, FrozenClock
from tests.support.passwords import cheap_passwords
from twofactor.domain.model import TotpState, TwoFactorMethod
from twofactor.factors.recovery_codes import RecoveryCodeFactor
from twofactor.security import otp
from twofactor.security.recovery_codes import RecoveryCodeHasher

#: Real argon2id with argon2's cheapest parameters, for the codes stored the old way.
PASSWORDS = cheap_passwords()
HASHER = RecoveryCodeHasher(secrets.token_bytes(32), PASSWORDS)
CODES = otp.new_recovery_codes()
HASHES = tuple(HASHER.hash(code) for code in CODES)


class Setting:
    """The factor over a fake store, and a user holding ``CODES``."""

    def __init__(self, hashes: tuple[str, ...] = HASHES) -> None:
        self.principals = FakePrincipals()
        self.clock = FrozenClock()
        self.factor = RecoveryCodeFactor(self.principals, HASHER)
        self.user_id = self.add_user(TotpState("JBSWY3DPEHPK3PXP", 0, hashes))

    def add_user(self, totp: TotpState | None) -> str:
        return self.principals.add_user(methods=(TwoFactorMethod.TOTP,) if totp else (), totp=totp)

    def prove(self, code: str, principal_id: str | None = None) -> bool:
        principal = self.principals.get(principal_id or self.user_id)
        assert principal is not None
        return self.factor.prove(principal, code, self.clock.now())

    def remaining(self) -> tuple[str, ...]:
        totp = self.principals.records[self.user_id].principal.totp
        assert totp is not None
        return totp.recovery_code_hashes


def test_a_recovery_code_is_accepted_once() -> None:
    setting = Setting()

    assert setting.prove(CODES[1])
    assert not setting.prove(CODES[1])
    assert setting.remaining() == HASHES[:1] + HASHES[2:]


def test_the_other_codes_stay_usable_after_one_is_used() -> None:
    setting = Setting()
    assert setting.prove(CODES[0])

    assert setting.prove(CODES[2])
    assert setting.remaining() == HASHES[1:2] + HASHES[3:]


@pytest.mark.parametrize(
    "typed",
    [
        lambda code: code.lower(),
        lambda code: code.replace("-", ""),
        lambda code: code.replace("-", " "),
        lambda code: f"  {code.lower().replace('-', '')}\n",
    ],
    ids=["lower case", "without dashes", "spaces for dashes", "padded, lower, no dashes"],
)
def test_a_code_is_accepted_however_it_is_typed(typed: Callable[[str], str]) -> None:
    setting = Setting()

    assert setting.prove(typed(CODES[0]))
    assert not setting.prove(CODES[0])


def test_typing_normalises_to_the_stored_form() -> None:
    assert otp.normalize_recovery_code("abcd efgh-jkmn.pqrs") == "ABCD-EFGH-JKMN-PQRS"


def test_a_wrong_code_is_refused_and_uses_nothing() -> None:
    setting = Setting()

    assert not setting.prove(otp.new_recovery_codes()[0])
    assert setting.remaining() == HASHES


def test_a_code_of_another_user_is_refused() -> None:
    setting = Setting()
    bob = setting.add_user(TotpState("JBSWY3DPEHPK3PXP", 0, (HASHER.hash("ZZZZ-ZZZZ-ZZZZ-ZZZZ"),)))

    assert not setting.prove(CODES[0], bob)
    assert setting.remaining() == HASHES


def test_a_user_without_totp_has_no_recovery_codes() -> None:
    setting = Setting()
    without_totp = setting.add_user(None)

    assert not setting.prove(CODES[0], without_totp)


def test_codes_stored_as_password_hashes_before_the_keyed_hash_are_still_accepted_once() -> None:
    old_way = tuple(PASSWORDS.hash(code) for code in CODES[:3])
    setting = Setting(hashes=(*old_way, *HASHES[3:]))

    assert setting.prove(CODES[1])
    assert setting.prove(CODES[4])
    assert not setting.prove(CODES[1])
    assert setting.remaining() == (old_way[0], old_way[2], *HASHES[3:4], *HASHES[5:])


def test_a_user_whose_codes_are_all_used_is_refused() -> None:
    setting = Setting(hashes=())

    assert not setting.prove(CODES[0])
