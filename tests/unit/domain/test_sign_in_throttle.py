"""Sign-in throttling locks the attacker, not the victim: the budgets per account and address
(5), per account (20, failures only) and per address (100, passed by a correct password for an
account without recent failures from it), over the in-memory fakes and a frozen clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.domain_kit import CLIENT, PASSWORD, REQUEST, SETTINGS, Kit, build_kit
from twofactor.domain.authentication import SignInResult
from twofactor.domain.model import RequestInfo, TotpState, TwoFactorMethod
from twofactor.domain.throttle import Budget
from twofactor.errors import InvalidCredentials, TooManyAttempts

ADA = "ada@example.com"
WRONG = "not the password"
OFFICE = REQUEST  # one address many people share
ELSEWHERE = RequestInfo(ip="198.51.100.9", user_agent="curl/8.5")
UNKNOWN = RequestInfo(ip=None, user_agent=None)
PER_ACCOUNT_ADDRESS = SETTINGS.throttle_login_per_account_address
PER_ACCOUNT = SETTINGS.throttle_login_per_account
PER_ADDRESS = SETTINGS.throttle_login_per_address


@pytest.fixture
def kit() -> Kit:
    return build_kit()


def sign_in(
    kit: Kit, password: str = PASSWORD, email: str = ADA, request: RequestInfo = OFFICE
) -> SignInResult:
    return kit.services.authentication.sign_in(email, password, CLIENT, request)


def signed_in(kit: Kit, email: str = ADA, request: RequestInfo = OFFICE) -> None:
    assert sign_in(kit, email=email, request=request).tokens is not None


def fail(kit: Kit, times: int, email: str = ADA, request: RequestInfo = OFFICE) -> None:
    """``times`` wrong passwords, each answered ``InvalidCredentials``."""
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            sign_in(kit, password=WRONG, email=email, request=request)


def refused(kit: Kit, password: str = PASSWORD, **where: RequestInfo) -> TooManyAttempts:
    with pytest.raises(TooManyAttempts) as caught:
        sign_in(kit, password=password, **where)
    return caught.value


def from_address(number: int) -> RequestInfo:
    return RequestInfo(ip=f"192.0.2.{number}", user_agent="bot")


def spray(kit: Kit, accounts: int, request: RequestInfo = OFFICE) -> None:
    """One wrong password for each of ``accounts`` other accounts, from ``request``'s address."""
    for number in range(accounts):
        fail(kit, 1, email=f"user{number}@example.com", request=request)


def test_the_default_budgets_lock_one_address_long_before_the_account() -> None:
    assert Budget(5, timedelta(minutes=15)) == PER_ACCOUNT_ADDRESS
    assert Budget(20, timedelta(minutes=15)) == PER_ACCOUNT
    assert Budget(100, timedelta(minutes=15)) == PER_ADDRESS


# Per account and address ---------------------------------------------------------------------


def test_the_guessing_address_is_locked_out_of_the_account_even_with_the_right_password(
    kit: Kit,
) -> None:
    kit.register()
    fail(kit, PER_ACCOUNT_ADDRESS.limit)
    kit.clock.advance(60)

    error = refused(kit)

    assert error.retry_after == PER_ACCOUNT_ADDRESS.window.total_seconds() - 60
    assert kit.sessions.records == {}


def test_the_victim_still_signs_in_from_another_address_while_the_attacker_is_locked(
    kit: Kit,
) -> None:
    kit.register()
    fail(kit, PER_ACCOUNT_ADDRESS.limit, request=ELSEWHERE)
    for _ in range(50):  # the locked attacker keeps trying: refused, and no guess is counted
        refused(kit, password=WRONG, request=ELSEWHERE)

    signed_in(kit)


def test_the_locked_address_may_still_sign_in_to_other_accounts(kit: Kit) -> None:
    kit.register()
    kit.register(email="bob@example.com", name="Bob")
    fail(kit, PER_ACCOUNT_ADDRESS.limit)

    signed_in(kit, email="bob@example.com")


def test_the_address_is_let_in_again_once_the_window_is_over(kit: Kit) -> None:
    kit.register()
    fail(kit, PER_ACCOUNT_ADDRESS.limit)
    kit.clock.advance(PER_ACCOUNT_ADDRESS.window.total_seconds())

    signed_in(kit)


def test_a_success_forgets_the_failures_of_the_account_and_address(kit: Kit) -> None:
    kit.register()
    fail(kit, PER_ACCOUNT_ADDRESS.limit - 1)
    signed_in(kit)

    fail(kit, PER_ACCOUNT_ADDRESS.limit)  # a whole new budget
    refused(kit)


def test_a_success_answered_with_a_challenge_also_forgets_the_failures(kit: Kit) -> None:
    user_id = kit.register()
    kit.principals.update(
        user_id,
        methods=(TwoFactorMethod.TOTP,),
        preferred_method=TwoFactorMethod.TOTP,
        totp=TotpState("JBSWY3DPEHPK3PXP", 0, ()),
    )
    fail(kit, PER_ACCOUNT_ADDRESS.limit - 1)
    assert sign_in(kit).challenge is not None

    fail(kit, PER_ACCOUNT_ADDRESS.limit)


def test_unknown_emails_are_throttled_like_accounts(kit: Kit) -> None:
    fail(kit, PER_ACCOUNT_ADDRESS.limit, email="nobody@example.com")

    refused(kit, email="nobody@example.com")


# Per account --------------------------------------------------------------------------------


def test_many_addresses_guessing_one_account_are_stopped_by_the_account_budget(kit: Kit) -> None:
    kit.register()
    guessers = PER_ACCOUNT.limit // PER_ACCOUNT_ADDRESS.limit
    for number in range(guessers):
        fail(kit, PER_ACCOUNT_ADDRESS.limit, request=from_address(number))

    error = refused(kit, request=from_address(99))

    assert error.retry_after == PER_ACCOUNT.window.total_seconds()


def test_the_account_budget_counts_only_failures(kit: Kit) -> None:
    kit.register()
    for number in range(PER_ACCOUNT.limit - 1):
        fail(kit, 1, request=from_address(number))
    for _ in range(30):  # correct passwords give their attempt back (and clear the failures)
        signed_in(kit)

    for number in range(PER_ACCOUNT.limit):
        fail(kit, 1, request=from_address(number))
    refused(kit)


def test_attempts_refused_per_account_and_address_spend_nothing_of_the_account_budget(
    kit: Kit,
) -> None:
    kit.register()
    fail(kit, PER_ACCOUNT_ADDRESS.limit, request=ELSEWHERE)
    for _ in range(PER_ACCOUNT.limit * 2):
        refused(kit, password=WRONG, request=ELSEWHERE)

    for number in range(PER_ACCOUNT.limit - PER_ACCOUNT_ADDRESS.limit - 1):
        fail(kit, 1, request=from_address(number))
    signed_in(kit)  # the twentieth counted attempt on the account: still within its budget


def test_the_account_budget_ends_with_its_window(kit: Kit) -> None:
    kit.register()
    for number in range(PER_ACCOUNT.limit // PER_ACCOUNT_ADDRESS.limit):
        fail(kit, PER_ACCOUNT_ADDRESS.limit, request=from_address(number))
    refused(kit)

    kit.clock.advance(PER_ACCOUNT.window.total_seconds())

    signed_in(kit)


# Per address --------------------------------------------------------------------------------


def test_a_hundred_wrong_passwords_for_other_accounts_do_not_lock_out_an_untouched_account(
    kit: Kit,
) -> None:
    user_id = kit.register()
    spray(kit, PER_ADDRESS.limit)

    result = sign_in(kit)  # the right password, from the same address

    assert result.tokens is not None
    assert kit.services.tokens.verify_access(result.tokens.access.token).sub == user_id


def test_over_the_address_budget_a_wrong_password_is_refused_and_ends_the_pass(
    kit: Kit,
) -> None:
    kit.register()
    spray(kit, PER_ADDRESS.limit)
    kit.clock.advance(120)

    error = refused(kit, password=WRONG)  # checked, wrong: answered like a refusal

    assert error.retry_after == PER_ADDRESS.window.total_seconds() - 120
    refused(kit)  # now the account has a recent failure from this address: no more checks


def test_over_the_address_budget_an_account_with_failures_from_it_is_refused_unchecked(
    kit: Kit,
) -> None:
    kit.register()
    fail(kit, 1)
    spray(kit, PER_ADDRESS.limit - 1)

    refused(kit)  # the right password, but this account already failed from this address


def test_over_the_address_budget_other_addresses_are_untouched(kit: Kit) -> None:
    kit.register()
    fail(kit, 1)
    spray(kit, PER_ADDRESS.limit - 1)

    signed_in(kit, request=ELSEWHERE)


def test_an_address_refusal_spends_nothing_of_the_account_budgets(kit: Kit) -> None:
    kit.register()
    fail(kit, 1)
    spray(kit, PER_ADDRESS.limit - 1)
    for _ in range(PER_ACCOUNT.limit):
        refused(kit)

    signed_in(kit, request=ELSEWHERE)


def test_a_success_gives_back_its_attempt_on_the_address(kit: Kit) -> None:
    kit.register()
    spray(kit, PER_ADDRESS.limit - 1)
    for _ in range(3):  # each success gives its own attempt back: the address stays at 99
        signed_in(kit)

    fail(kit, 1, email="somebody@example.com")  # the hundredth failure: still answered 401
    with pytest.raises(TooManyAttempts):  # the hundred-and-first
        sign_in(kit, password=WRONG, email="another@example.com")


def test_the_address_budget_ends_with_its_window(kit: Kit) -> None:
    kit.register()
    fail(kit, 1)
    spray(kit, PER_ADDRESS.limit - 1)
    refused(kit)

    kit.clock.advance(PER_ADDRESS.window.total_seconds())

    signed_in(kit)


def test_budgets_are_configurable() -> None:
    kit = build_kit(
        throttle_login_per_account_address=Budget(2, timedelta(seconds=30)),
        throttle_login_per_address=Budget(3, timedelta(minutes=1)),
    )
    kit.register()
    fail(kit, 2)
    assert refused(kit).retry_after == 30

    spray(kit, 1)
    assert refused(kit, password=WRONG, email="x@example.com").retry_after == 60


# Unknown address ----------------------------------------------------------------------------


def test_an_unknown_address_is_no_shared_bucket(kit: Kit) -> None:
    kit.register()
    spray(kit, PER_ADDRESS.limit + 10, request=UNKNOWN)

    signed_in(kit, request=UNKNOWN)


def test_an_unknown_address_still_has_the_account_budget(kit: Kit) -> None:
    kit.register()
    fail(kit, PER_ACCOUNT.limit, request=UNKNOWN)

    refused(kit, request=UNKNOWN)
    refused(kit, request=ELSEWHERE)
