"""Password sign-in and password step-up over the in-memory fakes: tokens or a two-factor
challenge, one answer for every wrong credential, the step-up budget (5 wrong passwords per user)
and what a step-up token carries and how long it is usable. The sign-in budgets have their own
module (``test_sign_in_throttle``)."""

from __future__ import annotations

import pyotp
import pytest

from tests.support.domain_kit import CLIENT, PASSWORD, REQUEST, SETTINGS, Kit, build_kit
from tests.support.passwords import CHEAP_MEMORY_COST, CHEAP_PARALLELISM, CHEAP_TIME_COST
from twofactor.domain.authentication import SignInResult
from twofactor.domain.model import RequestInfo, TotpState, TwoFactorMethod
from twofactor.domain.sessions import SessionTokens
from twofactor.domain.step_up_throttle import CHECK_LEASE
from twofactor.errors import (
    InvalidCredentials,
    InvalidRequest,
    NoPasswordProvider,
    TooManyAttempts,
    UserNotFound,
)
from twofactor.security.passwords import PasswordHasher
from twofactor.security.tokens import AccessClaims

TOTP = TwoFactorMethod.TOTP
EMAIL = TwoFactorMethod.EMAIL
ADA = "ada@example.com"
WRONG = "not the password"
#: The default budget of wrong step-up passwords per user.
MAX_FAILURES = SETTINGS.throttle_step_up_per_user.limit
WINDOW = SETTINGS.throttle_step_up_per_user.window


class RecordingHasher(PasswordHasher):
    """The real hasher, noting which passwords went through the timing decoy."""

    def __init__(self) -> None:
        super().__init__(
            time_cost=CHEAP_TIME_COST, memory_cost=CHEAP_MEMORY_COST, parallelism=CHEAP_PARALLELISM
        )
        self.decoys: list[str] = []

    def verify_decoy(self, password: str) -> None:
        self.decoys.append(password)
        super().verify_decoy(password)


#: One hasher for the module: building one hashes a decoy password.
HASHER = RecordingHasher()


@pytest.fixture
def kit() -> Kit:
    HASHER.decoys.clear()
    return build_kit(passwords=HASHER)


def sign_in(
    kit: Kit, password: str = PASSWORD, email: str = ADA, request: RequestInfo = REQUEST
) -> SignInResult:
    return kit.services.authentication.sign_in(email, password, CLIENT, request)


def signed_in(kit: Kit, email: str = ADA) -> SessionTokens:
    tokens = sign_in(kit, email=email).tokens
    assert tokens is not None
    return tokens


def access_of(kit: Kit, tokens: SessionTokens) -> AccessClaims:
    return kit.services.tokens.verify_access(tokens.access.token)


def session_of(kit: Kit, principal_id: str) -> AccessClaims:
    """A new session of the principal (whatever its second factors); its access claims."""
    principal = kit.services.accounts.require(principal_id)
    return access_of(kit, kit.services.sessions.start(principal, CLIENT, REQUEST))


def enable_two_factor(
    kit: Kit, principal_id: str, *methods: TwoFactorMethod, preferred: TwoFactorMethod
) -> None:
    totp = TotpState(pyotp.random_base32(), 0, ()) if TOTP in methods else None
    kit.principals.update(principal_id, methods=methods, preferred_method=preferred, totp=totp)


# sign_in ------------------------------------------------------------------------------------


def test_sign_in_without_second_factor_starts_a_session(kit: Kit) -> None:
    user_id = kit.register()

    result = sign_in(kit)

    assert result.challenge is None
    assert result.tokens is not None
    access = access_of(kit, result.tokens)
    assert (access.sub, access.sid, access.roles) == (user_id, result.tokens.session_id, ("user",))
    assert kit.sessions.records[result.tokens.session_id].principal_id == user_id
    kit.services.sessions.require_listed(access)


def test_sign_in_finds_the_account_whatever_the_case_and_spaces_of_the_email(kit: Kit) -> None:
    user_id = kit.register()

    tokens = signed_in(kit, email="  ADA@Example.com ")

    assert access_of(kit, tokens).sub == user_id


def test_sign_in_with_a_second_factor_answers_a_challenge_instead_of_tokens(kit: Kit) -> None:
    user_id = kit.register()
    enable_two_factor(kit, user_id, TOTP, EMAIL, preferred=EMAIL)

    result = sign_in(kit)

    assert result.tokens is None
    assert result.challenge is not None
    assert result.challenge.methods == (TOTP, EMAIL)
    assert result.challenge.preferred is EMAIL
    pending = kit.services.tokens.verify_two_factor(result.challenge.token.token)
    assert pending.sub == user_id
    assert kit.sessions.records == {}
    assert kit.allowlist.entries == {}


def test_sign_in_challenge_lives_five_minutes(kit: Kit) -> None:
    user_id = kit.register()
    enable_two_factor(kit, user_id, TOTP, preferred=TOTP)

    challenge = sign_in(kit).challenge

    assert challenge is not None
    assert challenge.token.lifetime == 300
    assert (challenge.token.expires_at - kit.clock.now()).total_seconds() == 300


def test_sign_in_with_a_wrong_password_is_invalid_credentials(kit: Kit) -> None:
    kit.register()

    with pytest.raises(InvalidCredentials):
        sign_in(kit, password=WRONG)

    assert kit.sessions.records == {}
    assert HASHER.decoys == []  # the real hash was verified


def test_sign_in_with_an_unknown_email_verifies_the_decoy_and_answers_the_same(
    kit: Kit,
) -> None:
    kit.register()

    with pytest.raises(InvalidCredentials) as unknown:
        sign_in(kit, email="nobody@example.com", password="whatever")
    with pytest.raises(InvalidCredentials) as wrong:
        sign_in(kit, password=WRONG)

    assert HASHER.decoys == ["whatever"]
    assert unknown.value.detail == wrong.value.detail
    assert kit.sessions.records == {}


def test_sign_in_of_a_user_without_password_goes_through_the_decoy(kit: Kit) -> None:
    user_id = kit.register()
    kit.principals.update(user_id, password_hash=None)

    with pytest.raises(InvalidCredentials):
        sign_in(kit)

    assert HASHER.decoys == [PASSWORD]


# step_up ------------------------------------------------------------------------------------


def test_step_up_of_a_guest_proves_nothing_more_than_its_session(kit: Kit) -> None:
    guest, tokens = kit.services.accounts.create_guest("Visitor", CLIENT, REQUEST)
    access = access_of(kit, tokens)

    result = kit.services.authentication.step_up(access, None)

    assert result.challenge is None
    assert result.step_up is not None
    claims = kit.services.tokens.verify_step_up(result.step_up.token)
    assert (claims.sub, claims.sid, claims.amr) == (guest.id, access.sid, ())
    assert claims.generation == guest.step_up_generation


def test_step_up_of_a_guest_ignores_a_password_and_counts_no_attempt(kit: Kit) -> None:
    _, tokens = kit.services.accounts.create_guest("Visitor", CLIENT, REQUEST)
    access = access_of(kit, tokens)

    result = kit.services.authentication.step_up(access, "anything at all")

    assert result.step_up is not None
    assert kit.services.tokens.verify_step_up(result.step_up.token).amr == ()
    assert kit.step_ups.counts == {}


def test_step_up_of_a_user_without_password_is_no_password_provider(kit: Kit) -> None:
    user_id = kit.register()
    access = session_of(kit, user_id)
    kit.principals.update(user_id, password_hash=None)

    with pytest.raises(NoPasswordProvider):
        kit.services.authentication.step_up(access, PASSWORD)


def test_step_up_of_a_user_sent_without_a_password_is_an_invalid_request(kit: Kit) -> None:
    kit.register()
    access = access_of(kit, signed_in(kit))

    with pytest.raises(InvalidRequest):
        kit.services.authentication.step_up(access, None)


def test_step_up_with_the_password_gives_a_password_step_up_token_for_the_session(
    kit: Kit,
) -> None:
    user_id = kit.register()
    access = access_of(kit, signed_in(kit))

    result = kit.services.authentication.step_up(access, PASSWORD)

    assert result.challenge is None
    assert result.step_up is not None
    claims = kit.services.tokens.verify_step_up(result.step_up.token)
    assert (claims.sub, claims.sid, claims.amr) == (user_id, access.sid, ("pwd",))
    assert result.step_up.lifetime == kit.settings.step_up_token_ttl


def test_step_up_token_carries_the_step_up_generation_of_the_principal(kit: Kit) -> None:
    user_id = kit.register()
    access = access_of(kit, signed_in(kit))
    kit.principals.update(user_id, step_up_generation=7)

    result = kit.services.authentication.step_up(access, PASSWORD)

    assert result.step_up is not None
    assert kit.services.tokens.verify_step_up(result.step_up.token).generation == 7


def test_step_up_with_a_wrong_password_is_invalid_credentials(kit: Kit) -> None:
    kit.register()
    access = access_of(kit, signed_in(kit))

    with pytest.raises(InvalidCredentials):
        kit.services.authentication.step_up(access, WRONG)


def test_step_up_refuses_the_sixth_attempt_of_a_user_even_with_the_right_password(
    kit: Kit,
) -> None:
    kit.register()
    access = access_of(kit, signed_in(kit))
    for _ in range(MAX_FAILURES):
        with pytest.raises(InvalidCredentials):
            kit.services.authentication.step_up(access, WRONG)

    with pytest.raises(TooManyAttempts) as refused:
        kit.services.authentication.step_up(access, PASSWORD)

    assert refused.value.retry_after == WINDOW.total_seconds()


def test_step_up_failures_are_counted_per_user_across_sessions(kit: Kit) -> None:
    kit.register()
    first, second = access_of(kit, signed_in(kit)), access_of(kit, signed_in(kit))
    for _ in range(MAX_FAILURES):
        with pytest.raises(InvalidCredentials):
            kit.services.authentication.step_up(first, WRONG)

    with pytest.raises(TooManyAttempts):
        kit.services.authentication.step_up(second, PASSWORD)


def test_step_up_failures_do_not_count_against_sign_in(kit: Kit) -> None:
    kit.register()
    access = access_of(kit, signed_in(kit))
    for _ in range(MAX_FAILURES):
        with pytest.raises(InvalidCredentials):
            kit.services.authentication.step_up(access, WRONG)

    signed_in(kit)


def test_step_up_success_forgets_the_failures_of_the_user(kit: Kit) -> None:
    kit.register()
    access = access_of(kit, signed_in(kit))
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(InvalidCredentials):
            kit.services.authentication.step_up(access, WRONG)
    kit.services.authentication.step_up(access, PASSWORD)
    kit.clock.advance(CHECK_LEASE.total_seconds())  # the success itself counted this long

    for _ in range(MAX_FAILURES):  # a whole new budget
        with pytest.raises(InvalidCredentials):
            kit.services.authentication.step_up(access, WRONG)


def test_step_up_of_a_user_with_a_second_factor_answers_a_challenge(kit: Kit) -> None:
    user_id = kit.register()
    enable_two_factor(kit, user_id, EMAIL, TOTP, preferred=TOTP)
    access = session_of(kit, user_id)

    result = kit.services.authentication.step_up(access, PASSWORD)

    assert result.step_up is None
    assert result.challenge is not None
    assert (result.challenge.methods, result.challenge.preferred) == ((EMAIL, TOTP), TOTP)
    assert kit.services.tokens.verify_two_factor(result.challenge.token.token).sub == user_id


def test_step_up_of_a_user_with_a_second_factor_still_checks_the_password_first(
    kit: Kit,
) -> None:
    user_id = kit.register()
    enable_two_factor(kit, user_id, TOTP, preferred=TOTP)
    access = session_of(kit, user_id)

    with pytest.raises(InvalidCredentials):
        kit.services.authentication.step_up(access, WRONG)


def test_step_up_of_a_principal_that_is_gone_is_user_not_found(kit: Kit) -> None:
    user_id = kit.register()
    access = access_of(kit, signed_in(kit))
    del kit.principals.records[user_id]

    with pytest.raises(UserNotFound):
        kit.services.authentication.step_up(access, PASSWORD)


# status -------------------------------------------------------------------------------------


def step_up_token(kit: Kit, access: AccessClaims) -> str:
    result = kit.services.authentication.step_up(access, PASSWORD)
    assert result.step_up is not None
    return result.step_up.token


def test_status_reports_the_principal_and_no_step_up_without_a_token(kit: Kit) -> None:
    user_id = kit.register()
    access = access_of(kit, signed_in(kit))

    report = kit.services.authentication.status(access, None)

    assert report.principal.id == user_id
    assert report.step_up_expires_at is None


def test_status_reports_until_when_a_usable_step_up_token_lasts(kit: Kit) -> None:
    kit.register()
    access = access_of(kit, signed_in(kit))
    token = step_up_token(kit, access)
    kit.clock.advance(10)

    report = kit.services.authentication.status(access, token)

    assert report.step_up_expires_at == kit.services.tokens.verify_step_up(token).expires_at


def test_status_reports_no_step_up_once_the_token_expired(kit: Kit) -> None:
    kit.register()
    access = access_of(kit, signed_in(kit))
    token = step_up_token(kit, access)
    kit.clock.advance(kit.settings.step_up_token_ttl)

    assert kit.services.authentication.status(access, token).step_up_expires_at is None


def test_status_reports_no_step_up_for_a_token_of_another_session(kit: Kit) -> None:
    kit.register()
    first, second = access_of(kit, signed_in(kit)), access_of(kit, signed_in(kit))
    token = step_up_token(kit, first)

    assert kit.services.authentication.status(second, token).step_up_expires_at is None


def test_status_reports_no_step_up_for_a_token_of_another_user(kit: Kit) -> None:
    kit.register()
    kit.register(email="bob@example.com", name="Bob")
    ada = access_of(kit, signed_in(kit))
    bob = access_of(kit, signed_in(kit, email="bob@example.com"))
    token = step_up_token(kit, bob)

    assert kit.services.authentication.status(ada, token).step_up_expires_at is None


def test_status_reports_no_step_up_once_a_security_change_consumed_it(kit: Kit) -> None:
    user_id = kit.register()
    access = access_of(kit, signed_in(kit))
    token = step_up_token(kit, access)
    kit.principals.update(user_id, step_up_generation=1)

    assert kit.services.authentication.status(access, token).step_up_expires_at is None


def test_status_reports_no_step_up_for_a_token_that_is_not_one(kit: Kit) -> None:
    kit.register()
    tokens = signed_in(kit)

    report = kit.services.authentication.status(access_of(kit, tokens), tokens.access.token)

    assert report.step_up_expires_at is None


def test_status_of_a_principal_that_is_gone_is_user_not_found(kit: Kit) -> None:
    user_id = kit.register()
    access = access_of(kit, signed_in(kit))
    del kit.principals.records[user_id]

    with pytest.raises(UserNotFound):
        kit.services.authentication.status(access, None)


@pytest.mark.parametrize(
    "email",
    [
        "a@example.com, ada@example.com",
        "Ada <ada@example.com>",
        "ada@example.com\r\nBcc: eve@elsewhere.example",
        "ada\u200b@example.com",
        "no-at-sign",
    ],
)
def test_sign_in_with_an_address_no_account_can_have_answers_like_a_wrong_password_at_once(
    kit: Kit, email: str
) -> None:
    kit.register()
    with pytest.raises(InvalidCredentials) as wrong:
        sign_in(kit, password=WRONG)
    budgets = dict(kit.attempts.windows)

    with pytest.raises(InvalidCredentials) as impossible:
        sign_in(kit, email=email, password="whatever")

    assert impossible.value.detail == wrong.value.detail
    assert HASHER.decoys == []  # no password hash computed for it
    assert kit.attempts.windows == budgets  # and no budget spent: the text alone decided
    assert kit.sessions.records == {}


def test_sign_in_with_a_lookalike_of_the_address_finds_the_account(kit: Kit) -> None:
    user_id = kit.register()

    tokens = signed_in(kit, email="\uff41\uff44\uff41@EXAMPLE.com")

    assert access_of(kit, tokens).sub == user_id
