"""Checking a second-factor proof (the real factors over the in-memory fakes): every check is
counted on its keys before the code is looked at, a refused attempt spends nothing, a wrong code
stays counted, a right one is consumed, forgets the counts and names its factor's ``amr``."""

from __future__ import annotations

import pyotp
import pytest

from tests.support.domain_kit import SETTINGS, Kit, build_kit
from tests.support.passwords import cheap_passwords
from twofactor.domain.model import Principal, TotpState, TwoFactorMethod
from twofactor.domain.throttle import Throttle
from twofactor.domain.verification import Proof, SecondFactorVerifier
from twofactor.errors import InvalidTwoFactorCode, TooManyAttempts
from twofactor.factors import registry as factor_registry
from twofactor.factors.email_codes import EmailCodeFactor
from twofactor.security import otp
from twofactor.security.recovery_codes import RecoveryCodeHasher

TOTP = TwoFactorMethod.TOTP
#: The default budget of wrong codes per 2FA token and per user (the same for both).
MAX_FAILURES = SETTINGS.throttle_two_factor_codes_per_user.limit
WINDOW = SETTINGS.throttle_two_factor_codes_per_user.window
EMAIL = TwoFactorMethod.EMAIL
TOKEN = "some-jti"
#: A fixed secret on a frozen clock: every code, right or wrong, is the same on every run.
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
#: One cheap argon2id hasher for the module (tests only): building one hashes a decoy.
HASHER = cheap_passwords()
RECOVERY_CODES = tuple(otp.new_recovery_codes()[:2])
RECOVERY_HASHES = tuple(HASHER.hash(code) for code in RECOVERY_CODES)


@pytest.fixture
def kit() -> Kit:
    return build_kit(passwords=HASHER)


@pytest.fixture
def verifier(kit: Kit) -> SecondFactorVerifier:
    """Composed as the composition root composes it, over the kit's fakes."""
    return SecondFactorVerifier(
        factor_registry(
            kit.principals,
            RecoveryCodeHasher(kit.settings.hash_key, kit.passwords),
            kit.settings.hash_key,
        ),
        EmailCodeFactor(kit.principals, kit.settings.hash_key),
        Throttle(kit.attempts, kit.clock, kit.settings.throttle_two_factor_codes_per_token),
        Throttle(kit.attempts, kit.clock, kit.settings.throttle_two_factor_codes_per_user),
        kit.clock,
    )


def user_with(kit: Kit, *methods: TwoFactorMethod) -> tuple[str, str]:
    """A registered user with ``methods`` on (TOTP with two recovery codes); id and secret."""
    user_id = kit.register()
    secret = SECRET
    kit.principals.update(
        user_id,
        methods=methods,
        preferred_method=methods[0] if methods else None,
        totp=TotpState(secret, last_used_step=0, recovery_code_hashes=RECOVERY_HASHES)
        if TOTP in methods
        else None,
    )
    return user_id, secret


def current(kit: Kit, user_id: str) -> Principal:
    return kit.services.accounts.require(user_id)


def totp_code(kit: Kit, secret: str) -> str:
    return str(pyotp.TOTP(secret).at(kit.clock.now()))


def mailed_code(kit: Kit, user_id: str) -> str:
    kit.services.email_codes.send(user_id)
    return kit.mail.codes[-1].code


def other_than(code: str) -> str:
    """A six-digit code that is surely not ``code`` (emailed codes are random)."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def counts(kit: Kit, user_id: str) -> list[int]:
    """The attempts counted on the 2FA token's key and on the user's."""
    keys = (f"2fa-token:{TOKEN}", f"user:{user_id}")
    return [kit.attempts.windows.get(key, (0, None))[0] for key in keys]


def fail(verifier: SecondFactorVerifier, principal: Principal, times: int) -> None:
    for _ in range(times):
        with pytest.raises(InvalidTwoFactorCode):
            verifier.prove(principal, Proof(TOTP, "000000"), TOKEN)


# prove --------------------------------------------------------------------------------------


def test_prove_accepts_a_totp_code_consumes_its_step_and_names_otp(
    kit: Kit, verifier: SecondFactorVerifier
) -> None:
    user_id, secret = user_with(kit, TOTP)

    amr = verifier.prove(current(kit, user_id), Proof(TOTP, totp_code(kit, secret)), TOKEN)

    assert amr == "otp"
    totp = current(kit, user_id).totp
    assert totp is not None
    assert totp.last_used_step == otp.time_step(kit.clock.now())


def test_prove_accepts_an_email_code_consumes_it_and_names_email(
    kit: Kit, verifier: SecondFactorVerifier
) -> None:
    user_id, _ = user_with(kit, EMAIL)

    amr = verifier.prove(current(kit, user_id), Proof(EMAIL, mailed_code(kit, user_id)), TOKEN)

    assert amr == "email"
    assert kit.principals.records[user_id].email_code is None


def test_prove_refuses_a_code_it_accepted_before(kit: Kit, verifier: SecondFactorVerifier) -> None:
    user_id, secret = user_with(kit, TOTP)
    code = totp_code(kit, secret)
    verifier.prove(current(kit, user_id), Proof(TOTP, code), TOKEN)

    with pytest.raises(InvalidTwoFactorCode):
        verifier.prove(current(kit, user_id), Proof(TOTP, code), TOKEN)


def test_prove_refuses_a_code_of_a_method_the_user_has_not_enabled(
    kit: Kit, verifier: SecondFactorVerifier
) -> None:
    user_id, _ = user_with(kit, TOTP)
    code = mailed_code(kit, user_id)

    with pytest.raises(InvalidTwoFactorCode):
        verifier.prove(current(kit, user_id), Proof(EMAIL, code), TOKEN)


def test_prove_counts_the_attempt_on_every_key_before_checking(
    kit: Kit, verifier: SecondFactorVerifier
) -> None:
    user_id, _ = user_with(kit, TOTP)

    with pytest.raises(InvalidTwoFactorCode):
        verifier.prove(current(kit, user_id), Proof(TOTP, "000000"), TOKEN)

    assert counts(kit, user_id) == [1, 1]


def test_prove_keeps_wrong_codes_counted_and_refuses_the_sixth_attempt(
    kit: Kit, verifier: SecondFactorVerifier
) -> None:
    user_id, secret = user_with(kit, TOTP)
    fail(verifier, current(kit, user_id), MAX_FAILURES)

    with pytest.raises(TooManyAttempts) as refused:
        verifier.prove(current(kit, user_id), Proof(TOTP, totp_code(kit, secret)), TOKEN)

    assert refused.value.retry_after == WINDOW.total_seconds()


def test_a_throttled_attempt_does_not_spend_the_code(
    kit: Kit, verifier: SecondFactorVerifier
) -> None:
    user_id, _ = user_with(kit, EMAIL)
    code = mailed_code(kit, user_id)
    fail(verifier, current(kit, user_id), MAX_FAILURES)

    with pytest.raises(TooManyAttempts):
        verifier.prove(current(kit, user_id), Proof(EMAIL, code), TOKEN)

    kit.attempts.windows.clear()  # as if the budget's window were over, the code still valid
    assert verifier.prove(current(kit, user_id), Proof(EMAIL, code), TOKEN) == "email"


def test_a_success_forgets_the_counts_of_every_key(
    kit: Kit, verifier: SecondFactorVerifier
) -> None:
    user_id, secret = user_with(kit, TOTP)
    fail(verifier, current(kit, user_id), MAX_FAILURES - 1)

    verifier.prove(current(kit, user_id), Proof(TOTP, totp_code(kit, secret)), TOKEN)

    assert counts(kit, user_id) == [0, 0]
    fail(verifier, current(kit, user_id), MAX_FAILURES)  # a whole new budget


def test_a_success_leaves_keys_it_was_not_given_counted(
    kit: Kit, verifier: SecondFactorVerifier
) -> None:
    user_id, secret = user_with(kit, TOTP)
    fail(verifier, current(kit, user_id), 2)

    verifier.prove(current(kit, user_id), Proof(TOTP, totp_code(kit, secret)), None)

    assert counts(kit, user_id) == [2, 0]


# use_recovery_code --------------------------------------------------------------------------


def test_use_recovery_code_accepts_an_unused_code_once_and_names_recovery(
    kit: Kit, verifier: SecondFactorVerifier
) -> None:
    user_id, _ = user_with(kit, TOTP)

    assert verifier.use_recovery_code(current(kit, user_id), RECOVERY_CODES[1], TOKEN) == "recovery"

    totp = current(kit, user_id).totp
    assert totp is not None
    assert totp.recovery_code_hashes == RECOVERY_HASHES[:1]
    with pytest.raises(InvalidTwoFactorCode):
        verifier.use_recovery_code(current(kit, user_id), RECOVERY_CODES[1], TOKEN)


def test_use_recovery_code_shares_the_budget_of_the_other_proofs(
    kit: Kit, verifier: SecondFactorVerifier
) -> None:
    user_id, _ = user_with(kit, TOTP)
    fail(verifier, current(kit, user_id), MAX_FAILURES)

    with pytest.raises(TooManyAttempts):
        verifier.use_recovery_code(current(kit, user_id), RECOVERY_CODES[0], TOKEN)

    totp = current(kit, user_id).totp
    assert totp is not None
    assert totp.recovery_code_hashes == RECOVERY_HASHES


def test_use_recovery_code_with_a_wrong_code_keeps_it_counted(
    kit: Kit, verifier: SecondFactorVerifier
) -> None:
    user_id, _ = user_with(kit, TOTP)

    with pytest.raises(InvalidTwoFactorCode):
        verifier.use_recovery_code(current(kit, user_id), "AAAA-BBBB-CCCC-DDDD", TOKEN)

    assert counts(kit, user_id) == [1, 1]


# require_email_code -------------------------------------------------------------------------


@pytest.mark.parametrize("methods", [(), (TOTP,), (EMAIL,)], ids=["none", "totp", "email"])
def test_require_email_code_proves_the_mailbox_whatever_the_second_factors(
    kit: Kit, verifier: SecondFactorVerifier, methods: tuple[TwoFactorMethod, ...]
) -> None:
    user_id, _ = user_with(kit, *methods)
    code = mailed_code(kit, user_id)

    verifier.require_email_code(current(kit, user_id), code, TOKEN)

    assert kit.principals.records[user_id].email_code is None
    assert counts(kit, user_id) == [0, 0]


def test_require_email_code_refuses_a_wrong_code_and_keeps_it_counted(
    kit: Kit, verifier: SecondFactorVerifier
) -> None:
    user_id, _ = user_with(kit)
    code = mailed_code(kit, user_id)

    with pytest.raises(InvalidTwoFactorCode):
        verifier.require_email_code(current(kit, user_id), other_than(code), TOKEN)

    assert counts(kit, user_id) == [1, 1]
    assert kit.principals.records[user_id].email_code is not None


def test_require_email_code_is_throttled(kit: Kit, verifier: SecondFactorVerifier) -> None:
    user_id, _ = user_with(kit)
    code = mailed_code(kit, user_id)
    for _ in range(MAX_FAILURES):
        with pytest.raises(InvalidTwoFactorCode):
            verifier.require_email_code(current(kit, user_id), other_than(code), TOKEN)

    with pytest.raises(TooManyAttempts):
        verifier.require_email_code(current(kit, user_id), code, TOKEN)
