"""Finishing a sign-in or a step-up with a second factor, or with a recovery code, over the
in-memory fakes: any enabled method, codes accepted once, the 2FA token bound to its user, and
five wrong codes per 2FA token and per user."""

from __future__ import annotations

import pyotp
import pytest

from tests.support.domain_kit import CLIENT, PASSWORD, REQUEST, SETTINGS, Kit, build_kit
from tests.support.passwords import cheap_passwords
from twofactor.domain.model import TotpState, TwoFactorMethod
from twofactor.domain.sessions import SessionTokens
from twofactor.domain.verification import Proof
from twofactor.errors import InvalidTwoFactorCode, TooManyAttempts, TwoFactorTokenInvalid
from twofactor.security import otp
from twofactor.security.tokens import AccessClaims, TwoFactorClaims

TOTP = TwoFactorMethod.TOTP
#: The default budget of wrong codes per 2FA token and per user (the same for both).
MAX_FAILURES = SETTINGS.throttle_two_factor_codes_per_user.limit
WINDOW = SETTINGS.throttle_two_factor_codes_per_user.window
EMAIL = TwoFactorMethod.EMAIL
ADA = "ada@example.com"
BOB = "bob@example.com"
#: A fixed secret on a frozen clock: every code, right or wrong, is the same on every run.
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
#: One cheap argon2id hasher for the module (tests only): building one hashes a decoy.
HASHER = cheap_passwords()
#: Two recovery codes and their hashes, made once: argon2 is slow on purpose.
RECOVERY_CODES = tuple(otp.new_recovery_codes()[:2])
RECOVERY_HASHES = tuple(HASHER.hash(code) for code in RECOVERY_CODES)


@pytest.fixture
def kit() -> Kit:
    return build_kit(passwords=HASHER)


def user_with(
    kit: Kit, *methods: TwoFactorMethod, email: str = ADA, preferred: TwoFactorMethod | None = None
) -> tuple[str, str]:
    """A registered user with ``methods`` on and two recovery codes; its id and TOTP secret."""
    user_id = kit.register(email=email, name=email.split("@")[0])
    secret = SECRET
    kit.principals.update(
        user_id,
        methods=methods,
        preferred_method=preferred or methods[0],
        totp=TotpState(secret=secret, last_used_step=0, recovery_code_hashes=RECOVERY_HASHES)
        if TOTP in methods
        else None,
    )
    return user_id, secret


def totp_code(kit: Kit, secret: str) -> str:
    return str(pyotp.TOTP(secret).at(kit.clock.now()))


def mailed_code(kit: Kit, user_id: str) -> str:
    kit.services.email_codes.send(user_id)
    return kit.mail.codes[-1].code


def pending_for(kit: Kit, principal_id: str) -> TwoFactorClaims:
    """The claims of a fresh 2FA token, as a password sign-in or step-up hands out."""
    token = kit.services.tokens.issue_two_factor(principal_id).token
    return kit.services.tokens.verify_two_factor(token)


def session_of(kit: Kit, principal_id: str) -> AccessClaims:
    principal = kit.services.accounts.require(principal_id)
    tokens = kit.services.sessions.start(principal, CLIENT, REQUEST)
    return kit.services.tokens.verify_access(tokens.access.token)


def sign_in(
    kit: Kit, pending: TwoFactorClaims, method: TwoFactorMethod, code: str
) -> SessionTokens:
    return kit.services.two_factor.sign_in(pending, Proof(method, code), CLIENT, REQUEST)


def wrong_codes(kit: Kit, pending: TwoFactorClaims, times: int) -> None:
    for _ in range(times):
        with pytest.raises(InvalidTwoFactorCode):
            sign_in(kit, pending, TOTP, "000000")


def is_listed(kit: Kit, tokens: SessionTokens) -> bool:
    return tokens.access.jti in kit.allowlist.entries


# sign_in ------------------------------------------------------------------------------------


def test_two_factor_sign_in_finishes_a_password_sign_in_with_a_totp_code(kit: Kit) -> None:
    user_id, secret = user_with(kit, TOTP)
    challenge = kit.services.authentication.sign_in(ADA, PASSWORD, CLIENT, REQUEST).challenge
    assert challenge is not None
    pending = kit.services.tokens.verify_two_factor(challenge.token.token)

    tokens = sign_in(kit, pending, TOTP, totp_code(kit, secret))

    access = kit.services.tokens.verify_access(tokens.access.token)
    assert (access.sub, access.sid) == (user_id, tokens.session_id)
    assert kit.sessions.records[tokens.session_id].principal_id == user_id
    assert is_listed(kit, tokens)


def test_two_factor_sign_in_accepts_an_email_code(kit: Kit) -> None:
    user_id, _ = user_with(kit, EMAIL)

    tokens = sign_in(kit, pending_for(kit, user_id), EMAIL, mailed_code(kit, user_id))

    assert kit.sessions.records[tokens.session_id].principal_id == user_id


def test_two_factor_sign_in_accepts_totp_when_email_is_preferred(kit: Kit) -> None:
    user_id, secret = user_with(kit, EMAIL, TOTP, preferred=EMAIL)

    tokens = sign_in(kit, pending_for(kit, user_id), TOTP, totp_code(kit, secret))

    assert is_listed(kit, tokens)


def test_two_factor_sign_in_accepts_an_email_code_when_totp_is_preferred(kit: Kit) -> None:
    user_id, _ = user_with(kit, TOTP, EMAIL, preferred=TOTP)

    tokens = sign_in(kit, pending_for(kit, user_id), EMAIL, mailed_code(kit, user_id))

    assert is_listed(kit, tokens)


def test_two_factor_sign_in_refuses_a_code_of_a_method_that_is_not_enabled(kit: Kit) -> None:
    user_id, _ = user_with(kit, TOTP)
    code = mailed_code(kit, user_id)  # a real code, of a method the user never enabled

    with pytest.raises(InvalidTwoFactorCode):
        sign_in(kit, pending_for(kit, user_id), EMAIL, code)

    assert kit.sessions.records == {}


def test_two_factor_sign_in_refuses_a_wrong_code(kit: Kit) -> None:
    user_id, secret = user_with(kit, TOTP)
    wrong = str(pyotp.TOTP(secret).at(kit.clock.now(), counter_offset=5))

    with pytest.raises(InvalidTwoFactorCode):
        sign_in(kit, pending_for(kit, user_id), TOTP, wrong)

    assert kit.sessions.records == {}


def test_two_factor_sign_in_accepts_a_totp_code_once(kit: Kit) -> None:
    user_id, secret = user_with(kit, TOTP)
    code = totp_code(kit, secret)
    sign_in(kit, pending_for(kit, user_id), TOTP, code)

    with pytest.raises(InvalidTwoFactorCode):
        sign_in(kit, pending_for(kit, user_id), TOTP, code)


def test_two_factor_sign_in_accepts_an_email_code_once(kit: Kit) -> None:
    user_id, _ = user_with(kit, EMAIL)
    code = mailed_code(kit, user_id)
    sign_in(kit, pending_for(kit, user_id), EMAIL, code)

    with pytest.raises(InvalidTwoFactorCode):
        sign_in(kit, pending_for(kit, user_id), EMAIL, code)


def test_two_factor_sign_in_refuses_an_email_code_after_ten_minutes(kit: Kit) -> None:
    user_id, _ = user_with(kit, EMAIL)
    code = mailed_code(kit, user_id)
    kit.clock.advance(600)

    with pytest.raises(InvalidTwoFactorCode):
        sign_in(kit, pending_for(kit, user_id), EMAIL, code)


def test_two_factor_sign_in_with_the_token_of_a_guest_is_an_invalid_token(kit: Kit) -> None:
    guest, _ = kit.services.accounts.create_guest("Visitor", CLIENT, REQUEST)

    with pytest.raises(TwoFactorTokenInvalid):
        sign_in(kit, pending_for(kit, guest.id), TOTP, "123456")


def test_two_factor_sign_in_with_the_token_of_a_principal_that_is_gone_is_an_invalid_token(
    kit: Kit,
) -> None:
    user_id, secret = user_with(kit, TOTP)
    pending = pending_for(kit, user_id)
    del kit.principals.records[user_id]

    with pytest.raises(TwoFactorTokenInvalid):
        sign_in(kit, pending, TOTP, totp_code(kit, secret))


def test_two_factor_sign_in_refuses_the_sixth_code_of_a_2fa_token_even_a_right_one(
    kit: Kit,
) -> None:
    user_id, secret = user_with(kit, TOTP)
    pending = pending_for(kit, user_id)
    wrong_codes(kit, pending, MAX_FAILURES)

    with pytest.raises(TooManyAttempts) as refused:
        sign_in(kit, pending, TOTP, totp_code(kit, secret))

    assert refused.value.retry_after == WINDOW.total_seconds()
    assert kit.sessions.records == {}


def test_two_factor_sign_in_counts_wrong_codes_per_user_across_2fa_tokens(kit: Kit) -> None:
    user_id, secret = user_with(kit, TOTP)
    wrong_codes(kit, pending_for(kit, user_id), 3)
    wrong_codes(kit, pending_for(kit, user_id), MAX_FAILURES - 3)

    with pytest.raises(TooManyAttempts):
        sign_in(kit, pending_for(kit, user_id), TOTP, totp_code(kit, secret))


def test_two_factor_sign_in_counts_wrong_codes_per_2fa_token_apart_from_the_user(
    kit: Kit,
) -> None:
    user_id, secret = user_with(kit, TOTP)
    worn = pending_for(kit, user_id)
    wrong_codes(kit, worn, MAX_FAILURES - 1)
    sign_in(kit, pending_for(kit, user_id), TOTP, totp_code(kit, secret))  # forgets the user's
    kit.clock.advance(30)
    wrong_codes(kit, worn, 1)  # the worn token's fifth, the user's first since the success

    with pytest.raises(TooManyAttempts):
        sign_in(kit, worn, TOTP, totp_code(kit, secret))
    sign_in(kit, pending_for(kit, user_id), TOTP, totp_code(kit, secret))


def test_two_factor_sign_in_success_forgets_the_wrong_codes_before_it(kit: Kit) -> None:
    user_id, secret = user_with(kit, TOTP)
    pending = pending_for(kit, user_id)
    wrong_codes(kit, pending, MAX_FAILURES - 1)
    sign_in(kit, pending, TOTP, totp_code(kit, secret))

    wrong_codes(kit, pending, MAX_FAILURES)  # a whole new budget, for the token and the user
    with pytest.raises(TooManyAttempts):
        sign_in(kit, pending, TOTP, "000000")


# step_up ------------------------------------------------------------------------------------


def test_two_factor_step_up_with_totp_gives_a_pwd_otp_step_up_token_for_the_session(
    kit: Kit,
) -> None:
    user_id, secret = user_with(kit, TOTP)
    kit.principals.update(user_id, step_up_generation=4)
    access = session_of(kit, user_id)

    issued = kit.services.two_factor.step_up(
        access, pending_for(kit, user_id), Proof(TOTP, totp_code(kit, secret))
    )

    claims = kit.services.tokens.verify_step_up(issued.token)
    assert (claims.sub, claims.sid, claims.amr) == (user_id, access.sid, ("pwd", "otp"))
    assert claims.generation == 4


def test_two_factor_step_up_after_a_password_step_up_challenge(kit: Kit) -> None:
    user_id, secret = user_with(kit, TOTP)
    access = session_of(kit, user_id)
    challenge = kit.services.authentication.step_up(access, PASSWORD).challenge
    assert challenge is not None
    pending = kit.services.tokens.verify_two_factor(challenge.token.token)

    issued = kit.services.two_factor.step_up(access, pending, Proof(TOTP, totp_code(kit, secret)))

    assert kit.services.tokens.verify_step_up(issued.token).sid == access.sid


def test_two_factor_step_up_with_an_email_code_gives_a_pwd_email_step_up_token(
    kit: Kit,
) -> None:
    user_id, _ = user_with(kit, TOTP, EMAIL)
    access = session_of(kit, user_id)

    issued = kit.services.two_factor.step_up(
        access, pending_for(kit, user_id), Proof(EMAIL, mailed_code(kit, user_id))
    )

    assert kit.services.tokens.verify_step_up(issued.token).amr == ("pwd", "email")


def test_two_factor_step_up_with_another_user_s_2fa_token_is_invalid_and_spends_nothing(
    kit: Kit,
) -> None:
    ada_id, _ = user_with(kit, TOTP)
    bob_id, bob_secret = user_with(kit, TOTP, email=BOB)
    bobs_pending = pending_for(kit, bob_id)
    code = totp_code(kit, bob_secret)

    with pytest.raises(TwoFactorTokenInvalid):
        kit.services.two_factor.step_up(session_of(kit, ada_id), bobs_pending, Proof(TOTP, code))

    # Bob's code was neither checked nor consumed: it still works for Bob.
    kit.services.two_factor.step_up(session_of(kit, bob_id), bobs_pending, Proof(TOTP, code))


def test_two_factor_step_up_of_a_guest_is_an_invalid_token(kit: Kit) -> None:
    guest, tokens = kit.services.accounts.create_guest("Visitor", CLIENT, REQUEST)
    access = kit.services.tokens.verify_access(tokens.access.token)

    with pytest.raises(TwoFactorTokenInvalid):
        kit.services.two_factor.step_up(access, pending_for(kit, guest.id), Proof(TOTP, "123456"))


def test_two_factor_step_up_of_a_principal_that_is_gone_is_an_invalid_token(kit: Kit) -> None:
    user_id, secret = user_with(kit, TOTP)
    access, pending = session_of(kit, user_id), pending_for(kit, user_id)
    del kit.principals.records[user_id]

    with pytest.raises(TwoFactorTokenInvalid):
        kit.services.two_factor.step_up(access, pending, Proof(TOTP, totp_code(kit, secret)))


def test_two_factor_step_up_refuses_a_totp_code_already_used_to_sign_in(kit: Kit) -> None:
    user_id, secret = user_with(kit, TOTP)
    code = totp_code(kit, secret)
    tokens = sign_in(kit, pending_for(kit, user_id), TOTP, code)
    access = kit.services.tokens.verify_access(tokens.access.token)

    with pytest.raises(InvalidTwoFactorCode):
        kit.services.two_factor.step_up(access, pending_for(kit, user_id), Proof(TOTP, code))


def test_two_factor_step_up_wrong_codes_count_against_the_user_s_sign_ins(kit: Kit) -> None:
    user_id, secret = user_with(kit, TOTP)
    access = session_of(kit, user_id)
    for _ in range(MAX_FAILURES):
        with pytest.raises(InvalidTwoFactorCode):
            kit.services.two_factor.step_up(
                access, pending_for(kit, user_id), Proof(TOTP, "000000")
            )

    with pytest.raises(TooManyAttempts):
        sign_in(kit, pending_for(kit, user_id), TOTP, totp_code(kit, secret))


# recover ------------------------------------------------------------------------------------


def test_recover_signs_in_and_gives_a_step_up_token_for_the_new_session(kit: Kit) -> None:
    user_id, _ = user_with(kit, TOTP)
    kit.principals.update(user_id, step_up_generation=2)

    tokens, step_up = kit.services.two_factor.recover(
        pending_for(kit, user_id), RECOVERY_CODES[0], CLIENT, REQUEST
    )

    assert kit.sessions.records[tokens.session_id].principal_id == user_id
    assert is_listed(kit, tokens)
    claims = kit.services.tokens.verify_step_up(step_up.token)
    assert (claims.sub, claims.sid) == (user_id, tokens.session_id)
    assert claims.amr == ("pwd", "recovery")
    assert claims.generation == 2


def test_recover_uses_a_recovery_code_once(kit: Kit) -> None:
    user_id, _ = user_with(kit, TOTP)
    kit.services.two_factor.recover(pending_for(kit, user_id), RECOVERY_CODES[0], CLIENT, REQUEST)

    with pytest.raises(InvalidTwoFactorCode):
        kit.services.two_factor.recover(
            pending_for(kit, user_id), RECOVERY_CODES[0], CLIENT, REQUEST
        )

    totp = kit.principals.records[user_id].principal.totp
    assert totp is not None
    assert totp.recovery_code_hashes == RECOVERY_HASHES[1:]
    kit.services.two_factor.recover(pending_for(kit, user_id), RECOVERY_CODES[1], CLIENT, REQUEST)


def test_recover_accepts_a_code_typed_in_lower_case_without_dashes(kit: Kit) -> None:
    user_id, _ = user_with(kit, TOTP)
    typed = " " + RECOVERY_CODES[0].replace("-", "").lower() + " "

    tokens, _ = kit.services.two_factor.recover(pending_for(kit, user_id), typed, CLIENT, REQUEST)

    assert is_listed(kit, tokens)


def test_recover_refuses_a_totp_code(kit: Kit) -> None:
    user_id, secret = user_with(kit, TOTP)

    with pytest.raises(InvalidTwoFactorCode):
        kit.services.two_factor.recover(
            pending_for(kit, user_id), totp_code(kit, secret), CLIENT, REQUEST
        )

    assert kit.sessions.records == {}


def test_recover_of_a_user_without_totp_refuses_any_recovery_code(kit: Kit) -> None:
    user_id, _ = user_with(kit, EMAIL)

    with pytest.raises(InvalidTwoFactorCode):
        kit.services.two_factor.recover(
            pending_for(kit, user_id), RECOVERY_CODES[0], CLIENT, REQUEST
        )

    assert kit.sessions.records == {}


def test_recover_of_a_guest_is_an_invalid_token(kit: Kit) -> None:
    guest, _ = kit.services.accounts.create_guest("Visitor", CLIENT, REQUEST)

    with pytest.raises(TwoFactorTokenInvalid):
        kit.services.two_factor.recover(
            pending_for(kit, guest.id), RECOVERY_CODES[0], CLIENT, REQUEST
        )


def test_recover_with_the_token_of_a_principal_that_is_gone_is_an_invalid_token(
    kit: Kit,
) -> None:
    user_id, _ = user_with(kit, TOTP)
    pending = pending_for(kit, user_id)
    del kit.principals.records[user_id]

    with pytest.raises(TwoFactorTokenInvalid):
        kit.services.two_factor.recover(pending, RECOVERY_CODES[0], CLIENT, REQUEST)

    assert kit.sessions.records == {}


def test_recover_wrong_codes_count_per_user_across_2fa_tokens(kit: Kit) -> None:
    user_id, _ = user_with(kit, TOTP)
    for _ in range(MAX_FAILURES):
        with pytest.raises(InvalidTwoFactorCode):
            kit.services.two_factor.recover(
                pending_for(kit, user_id), "AAAA-BBBB-CCCC-DDDD", CLIENT, REQUEST
            )

    with pytest.raises(TooManyAttempts):
        kit.services.two_factor.recover(
            pending_for(kit, user_id), RECOVERY_CODES[0], CLIENT, REQUEST
        )


def test_recover_wrong_codes_share_the_budget_of_the_2fa_token(kit: Kit) -> None:
    user_id, _ = user_with(kit, TOTP)
    pending = pending_for(kit, user_id)
    wrong_codes(kit, pending, MAX_FAILURES)

    with pytest.raises(TooManyAttempts):
        kit.services.two_factor.recover(pending, RECOVERY_CODES[0], CLIENT, REQUEST)

    totp = kit.principals.records[user_id].principal.totp
    assert totp is not None
    assert totp.recovery_code_hashes == RECOVERY_HASHES  # the refused code was not spent
