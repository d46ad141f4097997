"""The factor registry (``twofactor.factors.registry``), the one list of what a user can enable:
exactly TOTP and email codes, plus recovery codes standing in for them, each with its ``amr`` and
its label, each working over the store, key and hasher the registry was given."""

from __future__ import annotations

import secrets

import pyotp

from tests.support.fakes import FakePrincipals, FrozenClock, a_user
from tests.support.passwords import cheap_passwords
from twofactor.domain.email_codes import CODE_LIFETIME, RESEND_COOLDOWN
from twofactor.domain.model import Principal, TotpState, TwoFactorMethod
from twofactor.factors import registry
from twofactor.security.otp import email_code_hash
from twofactor.security.recovery_codes import RecoveryCodeHasher

#: Real argon2id with argon2's cheapest parameters, so hashing keeps the tests fast.
PASSWORDS = cheap_passwords()
HASH_KEY = secrets.token_bytes(32)
RECOVERY_CODES = RecoveryCodeHasher(HASH_KEY, PASSWORDS)
SECRET = pyotp.random_base32(32)
RECOVERY_CODE = "ABCD-EFGH-JKMN-PQRS"


def user_with_everything_on(principals: FakePrincipals) -> Principal:
    """A user with TOTP (and one recovery code) and email codes on."""
    return principals.put(
        a_user(
            methods=(TwoFactorMethod.TOTP, TwoFactorMethod.EMAIL),
            totp=TotpState(SECRET, 0, (RECOVERY_CODES.hash(RECOVERY_CODE),)),
        )
    )


def test_the_registry_lists_exactly_totp_and_email_plus_recovery_codes() -> None:
    factors = registry(FakePrincipals(), RECOVERY_CODES, HASH_KEY)

    assert list(factors) == [TwoFactorMethod.TOTP, TwoFactorMethod.EMAIL]
    assert set(factors) == set(TwoFactorMethod)
    assert {method: (factors[method].amr, factors[method].label) for method in factors} == {
        TwoFactorMethod.TOTP: ("otp", "Authenticator app (TOTP)"),
        TwoFactorMethod.EMAIL: ("email", "Email codes"),
    }
    assert (factors.recovery.amr, factors.recovery.label) == ("recovery", "Recovery codes")


def test_every_factor_has_its_own_amr_so_a_step_up_token_tells_which_one_proved_it() -> None:
    factors = registry(FakePrincipals(), RECOVERY_CODES, HASH_KEY)

    amrs = [factors[method].amr for method in factors] + [factors.recovery.amr]

    assert len(set(amrs)) == len(amrs)


def test_the_registered_totp_factor_proves_over_the_given_store_once() -> None:
    principals = FakePrincipals()
    clock = FrozenClock()
    ada = user_with_everything_on(principals)
    factor = registry(principals, RECOVERY_CODES, HASH_KEY)[TwoFactorMethod.TOTP]
    code = pyotp.TOTP(SECRET).at(clock.now())

    assert factor.prove(ada, code, clock.now())
    assert not factor.prove(principals.records[ada.id].principal, code, clock.now())


def test_the_registered_email_factor_checks_codes_with_the_given_hash_key() -> None:
    principals = FakePrincipals()
    clock = FrozenClock()
    ada = user_with_everything_on(principals)
    now = clock.now()
    principals.store_email_code(
        ada.id,
        email_code_hash(HASH_KEY, ada.id, "424242"),
        now,
        now + CODE_LIFETIME,
        now + RESEND_COOLDOWN,
    )

    under_another_key = registry(principals, RECOVERY_CODES, secrets.token_bytes(32))
    factors = registry(principals, RECOVERY_CODES, HASH_KEY)

    assert not under_another_key[TwoFactorMethod.EMAIL].prove(ada, "424242", now)
    assert factors[TwoFactorMethod.EMAIL].prove(ada, "424242", now)
    assert not factors[TwoFactorMethod.EMAIL].prove(ada, "424242", now)


def test_the_registered_recovery_factor_checks_codes_with_the_given_hasher_once() -> None:
    principals = FakePrincipals()
    clock = FrozenClock()
    ada = user_with_everything_on(principals)
    recovery = registry(principals, RECOVERY_CODES, HASH_KEY).recovery

    assert recovery.prove(ada, RECOVERY_CODE.lower(), clock.now())
    assert not recovery.prove(principals.records[ada.id].principal, RECOVERY_CODE, clock.now())
