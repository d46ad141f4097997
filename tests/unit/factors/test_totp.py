"""TOTP as a second factor (``TotpFactor``) and its enrollment (``TotpSetupFlow``): a code is
accepted once, within one step of drift, only while TOTP is on; a setup offers a secret sealed
into its token and confirms it with a code from the authenticator."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pyotp
import pytest

from tests.support.domain_kit import Kit, build_kit
from tests.support.fakes import FakePrincipals, FrozenClock, a_user
from tests.support.passwords import cheap_passwords
from twofactor.domain.model import Principal, TotpState, TwoFactorMethod
from twofactor.errors import InvalidTotpSetupToken
from twofactor.factors.totp import TotpFactor, TotpSetupFlow
from twofactor.security import otp
from twofactor.security.crypto import FieldCipher
from twofactor.security.keys import NamedKey
from twofactor.security.recovery_codes import PREFIX, RecoveryCodeHasher

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
TOTP_ON = TotpState(SECRET, 0, ())
#: Real argon2id with argon2's cheapest parameters, so hashing keeps the tests fast.
HASHER = cheap_passwords()
RECOVERY_CODE = re.compile(r"^[A-HJ-NP-Z2-9]{4}(-[A-HJ-NP-Z2-9]{4}){3}$")


def code_at(step: int, secret: str = SECRET) -> str:
    """What an authenticator app shows during ``step`` (pyotp, independently of the service)."""
    return pyotp.TOTP(secret).at(step * otp.TIME_STEP)


def user(
    principals: FakePrincipals,
    *,
    methods: tuple[TwoFactorMethod, ...] = (TwoFactorMethod.TOTP,),
    totp: TotpState | None = TOTP_ON,
    email: str | None = "ada@example.com",
) -> Principal:
    return principals.put(a_user(name="Ada Lovelace", email=email, methods=methods, totp=totp))


class Setting:
    """A TOTP factor over a fake store, and a user with TOTP on, at a frozen time."""

    def __init__(self) -> None:
        self.principals = FakePrincipals()
        self.clock = FrozenClock()
        self.factor = TotpFactor(self.principals)
        self.user_id = user(self.principals).id

    @property
    def step(self) -> int:
        return otp.time_step(self.clock.now())

    def prove(self, code: str) -> bool:
        # Every request reads the principal afresh, as the flows do.
        principal = self.principals.get(self.user_id)
        assert principal is not None
        return self.factor.prove(principal, code, self.clock.now())


# Proving -------------------------------------------------------------------------------------


def test_the_current_code_is_accepted_once() -> None:
    setting = Setting()
    code = pyotp.TOTP(SECRET).at(setting.clock.now())

    assert setting.prove(code)
    assert not setting.prove(code)


def test_the_accepted_step_is_remembered_for_the_user() -> None:
    setting = Setting()

    assert setting.prove(code_at(setting.step))

    totp = setting.principals.records[setting.user_id].principal.totp
    assert totp is not None
    assert totp.last_used_step == setting.step


def test_a_code_one_step_old_or_ahead_is_accepted() -> None:
    behind, ahead = Setting(), Setting()

    assert behind.prove(code_at(behind.step - 1))
    assert ahead.prove(code_at(ahead.step + 1))


def test_a_code_two_steps_away_is_refused() -> None:
    setting = Setting()

    assert not setting.prove(code_at(setting.step - 2))
    assert not setting.prove(code_at(setting.step + 2))


def test_once_a_step_is_accepted_an_earlier_one_is_refused() -> None:
    setting = Setting()
    assert setting.prove(code_at(setting.step))

    assert not setting.prove(code_at(setting.step - 1))
    assert setting.prove(code_at(setting.step + 1))


def test_a_code_is_refused_again_in_the_next_step() -> None:
    setting = Setting()
    code = code_at(setting.step)
    assert setting.prove(code)
    setting.clock.advance(otp.TIME_STEP)

    assert not setting.prove(code)


def test_a_wrong_code_is_refused_and_consumes_nothing() -> None:
    setting = Setting()
    right = code_at(setting.step)

    assert not setting.prove(f"{(int(right) + 1) % 1_000_000:06d}")
    assert setting.prove(right)


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12a456", "١٢٣٤٥٦", " 123456"])
def test_a_code_that_is_not_six_ascii_digits_is_refused(code: str) -> None:
    assert not Setting().prove(code)


def test_a_user_without_totp_on_is_refused_even_with_a_stored_secret() -> None:
    setting = Setting()
    setting.principals.update(setting.user_id, methods=(TwoFactorMethod.EMAIL,))

    assert not setting.prove(code_at(setting.step))
    totp = setting.principals.records[setting.user_id].principal.totp
    assert totp is not None
    assert totp.last_used_step == 0


def test_a_user_without_a_secret_is_refused() -> None:
    setting = Setting()
    setting.principals.update(setting.user_id, totp=None)

    assert not setting.prove(code_at(setting.step))


def test_the_factor_is_named_otp_and_labelled_for_emails() -> None:
    factor = TotpFactor(FakePrincipals())

    assert factor.amr == "otp"
    assert factor.label == "Authenticator app (TOTP)"


# Setting up ----------------------------------------------------------------------------------


def recovery_codes(kit: Kit) -> RecoveryCodeHasher:
    return RecoveryCodeHasher(kit.settings.hash_key, HASHER)


def setup_flow(kit: Kit) -> TotpSetupFlow:
    cipher = FieldCipher(kit.settings.encryption_keys)
    return TotpSetupFlow(kit.services.tokens, cipher, recovery_codes(kit))


def test_an_offer_is_a_new_secret_with_its_uri_qr_code_and_recovery_codes() -> None:
    kit = build_kit(passwords=HASHER)
    ada = user(kit.principals, methods=(), totp=None)

    setup = setup_flow(kit).offer(ada)

    assert re.fullmatch(r"[A-Z2-7]{32}", setup.secret)
    assert setup.secret != SECRET
    assert setup.uri.startswith("otpauth://totp/twofactor-api:ada%40example.com?")
    assert f"secret={setup.secret}" in setup.uri
    assert "issuer=twofactor-api" in setup.uri
    assert setup.qr_code.startswith("data:image/svg+xml;base64,")
    assert len(setup.recovery_codes) == 10
    assert all(RECOVERY_CODE.match(code) for code in setup.recovery_codes)


def test_an_offer_names_the_account_by_name_when_it_has_no_email() -> None:
    kit = build_kit(passwords=HASHER)
    ada = user(kit.principals, methods=(), totp=None, email=None)

    setup = setup_flow(kit).offer(ada)

    assert setup.uri.startswith("otpauth://totp/twofactor-api:Ada%20Lovelace?")


def test_an_offer_stores_nothing_and_seals_the_secret_into_its_token() -> None:
    kit = build_kit(passwords=HASHER)
    ada = user(kit.principals, methods=(), totp=None)

    setup = setup_flow(kit).offer(ada)

    assert kit.principals.records[ada.id].principal == ada
    claims = kit.services.tokens.verify_totp_setup(setup.token)
    assert claims.sub == ada.id
    assert setup.secret not in claims.sealed
    assert setup.recovery_codes[0] not in claims.sealed


def test_opening_the_token_gives_back_the_offered_secret_and_codes() -> None:
    kit = build_kit(passwords=HASHER)
    ada = user(kit.principals, methods=(), totp=None)
    flow = setup_flow(kit)
    setup = flow.offer(ada)

    pending = flow.open(ada, setup.token)

    assert pending.secret == setup.secret
    assert pending.recovery_codes == tuple(setup.recovery_codes)


def test_a_setup_token_does_not_open_for_another_user() -> None:
    kit = build_kit(passwords=HASHER)
    ada = user(kit.principals, methods=(), totp=None)
    bob = user(kit.principals, methods=(), totp=None, email="bob@example.com")
    flow = setup_flow(kit)

    with pytest.raises(InvalidTotpSetupToken):
        flow.open(bob, flow.offer(ada).token)


def test_a_setup_token_does_not_open_once_expired() -> None:
    kit = build_kit(passwords=HASHER)
    ada = user(kit.principals, methods=(), totp=None)
    flow = setup_flow(kit)
    setup = flow.offer(ada)
    kit.clock.advance(10 * 60)

    with pytest.raises(InvalidTotpSetupToken):
        flow.open(ada, setup.token)


@pytest.mark.parametrize("key_id", ["kit-enc", "unknown-key"])
def test_a_setup_token_sealed_under_another_key_does_not_open(key_id: str) -> None:
    kit = build_kit(passwords=HASHER)
    other_key = NamedKey(key_id, secrets.token_bytes(32))
    ada = user(kit.principals, methods=(), totp=None)
    foreign = TotpSetupFlow(kit.services.tokens, FieldCipher((other_key,)), recovery_codes(kit))

    with pytest.raises(InvalidTotpSetupToken):
        setup_flow(kit).open(ada, foreign.offer(ada).token)


def test_confirming_with_the_current_code_gives_the_state_to_store() -> None:
    kit = build_kit(passwords=HASHER)
    ada = user(kit.principals, methods=(), totp=None)
    flow = setup_flow(kit)
    pending = flow.open(ada, flow.offer(ada).token)
    now = kit.clock.now()

    state = flow.confirm(pending, pyotp.TOTP(pending.secret).at(now), now)

    assert state is not None
    assert state.secret == pending.secret
    assert state.last_used_step == otp.time_step(now)
    assert state.enabled_at == now
    assert len(state.recovery_code_hashes) == len(pending.recovery_codes)
    assert not set(state.recovery_code_hashes) & set(pending.recovery_codes)
    # Keyed hashes, not password hashes: ten argon2 verifications per attempt cost a second.
    assert all(stored.startswith(PREFIX) for stored in state.recovery_code_hashes)
    hashes = state.recovery_code_hashes
    assert recovery_codes(kit).matching(hashes, pending.recovery_codes[3]) == hashes[3]


def test_confirming_with_the_previous_steps_code_marks_that_step_used() -> None:
    kit = build_kit(passwords=HASHER)
    ada = user(kit.principals, methods=(), totp=None)
    flow = setup_flow(kit)
    pending = flow.open(ada, flow.offer(ada).token)
    now = kit.clock.now()

    state = flow.confirm(
        pending, pyotp.TOTP(pending.secret).at(now - timedelta(seconds=otp.TIME_STEP)), now
    )

    assert state is not None
    assert state.last_used_step == otp.time_step(now) - 1


def test_confirming_with_a_wrong_code_gives_nothing() -> None:
    kit = build_kit(passwords=HASHER)
    ada = user(kit.principals, methods=(), totp=None)
    flow = setup_flow(kit)
    pending = flow.open(ada, flow.offer(ada).token)
    now = kit.clock.now()
    right = pyotp.TOTP(pending.secret).at(now)

    assert flow.confirm(pending, f"{(int(right) + 1) % 1_000_000:06d}", now) is None
