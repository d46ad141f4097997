"""The checks every security change runs first, in the contract's order: the step-up proof
belongs to this user and session (before the principal is even loaded), the principal is a user,
the step-up was not consumed, the user has a password identity whose hash can be read."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from tests.support.domain_kit import CLIENT, PASSWORD, REQUEST, Kit, build_kit
from tests.support.fakes import FakeChangeCounts
from twofactor.domain.alerts import LocaleRequest
from twofactor.domain.change_budget import ChangeBudget
from twofactor.domain.guard import SecurityChangeGuard, SecurityChangeRequest
from twofactor.domain.throttle import Budget
from twofactor.errors import (
    DatabaseFailure,
    HashFailure,
    NoPasswordProvider,
    StepUpTokenInvalid,
    TooManyRequests,
    UserNotFound,
)
from twofactor.security.tokens import AccessClaims, StepUpClaims

BUDGET = Budget(3, timedelta(hours=1))


@pytest.fixture
def kit() -> Kit:
    return build_kit()


@pytest.fixture
def guard(kit: Kit) -> SecurityChangeGuard:
    budget = ChangeBudget(FakeChangeCounts(kit.principals), kit.principals, kit.clock, BUDGET)
    return SecurityChangeGuard(kit.principals, kit.passwords, budget)


def session_of(kit: Kit, principal_id: str) -> AccessClaims:
    principal = kit.services.accounts.require(principal_id)
    tokens = kit.services.sessions.start(principal, CLIENT, REQUEST)
    return kit.services.tokens.verify_access(tokens.access.token)


def step_up_for(
    kit: Kit,
    access: AccessClaims,
    *,
    sub: str | None = None,
    sid: str | None = None,
    generation: int = 0,
) -> StepUpClaims:
    """A step-up token of ``access``'s user and session unless told otherwise, read back."""
    issued = kit.services.tokens.issue_step_up(
        sub or access.sub, sid or access.sid, ("pwd",), generation
    )
    return kit.services.tokens.verify_step_up(issued.token)


def change(access: AccessClaims, step_up: StepUpClaims) -> SecurityChangeRequest:
    return SecurityChangeRequest(access=access, step_up=step_up, request=REQUEST)


def test_check_gives_the_user_a_step_up_of_the_same_session_was_issued_for(
    kit: Kit, guard: SecurityChangeGuard
) -> None:
    user_id = kit.register()
    access = session_of(kit, user_id)
    issued = kit.services.authentication.step_up(access, PASSWORD).step_up
    assert issued is not None

    principal = guard.check(change(access, kit.services.tokens.verify_step_up(issued.token)))

    # As read, before this request's unit of the budget was counted.
    assert principal == replace(kit.principals.records[user_id].principal, security_changes=None)


def test_check_refuses_a_step_up_of_another_user_before_loading_the_principal(
    kit: Kit, guard: SecurityChangeGuard
) -> None:
    access = session_of(kit, kit.register())
    bobs = step_up_for(kit, access, sub=kit.register(email="bob@example.com", name="Bob"))
    kit.principals.broken = True  # loading the principal would fail differently

    with pytest.raises(StepUpTokenInvalid):
        guard.check(change(access, bobs))


def test_check_refuses_a_step_up_of_another_session_before_loading_the_principal(
    kit: Kit, guard: SecurityChangeGuard
) -> None:
    user_id = kit.register()
    access, other = session_of(kit, user_id), session_of(kit, user_id)
    kit.principals.broken = True

    with pytest.raises(StepUpTokenInvalid):
        guard.check(change(access, step_up_for(kit, other)))


def test_check_fails_as_the_store_fails_once_the_step_up_belongs_to_the_request(
    kit: Kit, guard: SecurityChangeGuard
) -> None:
    access = session_of(kit, kit.register())
    kit.principals.broken = True

    with pytest.raises(DatabaseFailure):
        guard.check(change(access, step_up_for(kit, access)))


def test_check_of_a_guest_is_user_not_found(kit: Kit, guard: SecurityChangeGuard) -> None:
    _, tokens = kit.services.accounts.create_guest("Visitor", CLIENT, REQUEST)
    access = kit.services.tokens.verify_access(tokens.access.token)
    issued = kit.services.authentication.step_up(access, None).step_up
    assert issued is not None

    with pytest.raises(UserNotFound):
        guard.check(change(access, kit.services.tokens.verify_step_up(issued.token)))


def test_check_of_a_guest_is_user_not_found_before_the_step_up_generation_is_compared(
    kit: Kit, guard: SecurityChangeGuard
) -> None:
    guest, tokens = kit.services.accounts.create_guest("Visitor", CLIENT, REQUEST)
    access = kit.services.tokens.verify_access(tokens.access.token)
    kit.principals.update(guest.id, step_up_generation=1)

    with pytest.raises(UserNotFound):
        guard.check(change(access, step_up_for(kit, access, generation=0)))


def test_check_of_a_principal_that_is_gone_is_user_not_found(
    kit: Kit, guard: SecurityChangeGuard
) -> None:
    user_id = kit.register()
    access = session_of(kit, user_id)
    del kit.principals.records[user_id]

    with pytest.raises(UserNotFound):
        guard.check(change(access, step_up_for(kit, access)))


def test_check_refuses_a_step_up_consumed_by_an_earlier_security_change(
    kit: Kit, guard: SecurityChangeGuard
) -> None:
    user_id = kit.register()
    access = session_of(kit, user_id)
    kit.principals.update(user_id, step_up_generation=1)  # what every security change does

    with pytest.raises(StepUpTokenInvalid):
        guard.check(change(access, step_up_for(kit, access, generation=0)))


def test_check_refuses_a_consumed_step_up_before_looking_at_the_password(
    kit: Kit, guard: SecurityChangeGuard
) -> None:
    user_id = kit.register()
    access = session_of(kit, user_id)
    kit.principals.update(user_id, step_up_generation=1, password_hash=None)

    with pytest.raises(StepUpTokenInvalid):
        guard.check(change(access, step_up_for(kit, access, generation=0)))


def test_check_of_a_user_without_password_is_no_password_provider(
    kit: Kit, guard: SecurityChangeGuard
) -> None:
    user_id = kit.register()
    access = session_of(kit, user_id)
    kit.principals.update(user_id, password_hash=None)

    with pytest.raises(NoPasswordProvider):
        guard.check(change(access, step_up_for(kit, access)))


@pytest.mark.parametrize(
    "stored_hash",
    [
        "",
        "plain text",
        "$2b$12$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZI7GrRPTEJ2",
        "$argon2id$v=19$m=8,t=1,p=1$+8LG4V3KV7FXV9mvNGJNUw$",
    ],
    ids=["empty", "clear-text", "bcrypt", "no-digest"],
)
def test_check_of_a_user_whose_password_hash_cannot_be_parsed_is_a_hash_failure(
    kit: Kit, guard: SecurityChangeGuard, stored_hash: str
) -> None:
    user_id = kit.register()
    access = session_of(kit, user_id)
    kit.principals.update(user_id, password_hash=stored_hash)

    with pytest.raises(HashFailure):
        guard.check(change(access, step_up_for(kit, access)))


def test_check_reads_the_principal_as_it_is_now(kit: Kit, guard: SecurityChangeGuard) -> None:
    user_id = kit.register()
    access = session_of(kit, user_id)
    kit.principals.update(user_id, name="Countess of Lovelace", step_up_generation=3)

    principal = guard.check(change(access, step_up_for(kit, access, generation=3)))

    assert principal.name == "Countess of Lovelace"


def test_load_user_gives_a_user_and_refuses_guests_and_unknown_ids(
    kit: Kit, guard: SecurityChangeGuard
) -> None:
    user_id = kit.register()
    guest, _ = kit.services.accounts.create_guest("Visitor", CLIENT, REQUEST)

    assert guard.load_user(user_id).id == user_id
    with pytest.raises(UserNotFound):
        guard.load_user(guest.id)
    with pytest.raises(UserNotFound):
        guard.load_user("0123456789abcdef01234567")


def test_a_security_change_request_carries_the_language_it_asks_for(kit: Kit) -> None:
    access = session_of(kit, kit.register())
    request = SecurityChangeRequest(
        access=access,
        step_up=step_up_for(kit, access),
        request=REQUEST,
        locale="de",
        accept_language="fr-CH, fr;q=0.9",
    )

    assert request.language == LocaleRequest(requested="de", accept_language="fr-CH, fr;q=0.9")


# The budget of security changes -------------------------------------------------------------


def budget_count(kit: Kit, user_id: str) -> int:
    counted = kit.principals.records[user_id].principal.security_changes
    return 0 if counted is None else counted.count


def test_check_counts_each_request_on_the_users_budget_and_refuses_beyond_it(
    kit: Kit, guard: SecurityChangeGuard
) -> None:
    user_id = kit.register()
    access = session_of(kit, user_id)
    for _ in range(BUDGET.limit):
        guard.check(change(access, step_up_for(kit, access)))
    kit.clock.advance(600)

    with pytest.raises(TooManyRequests) as refused:
        guard.check(change(access, step_up_for(kit, access)))

    assert refused.value.code == "TOO_MANY_REQUESTS"
    assert refused.value.retry_after == BUDGET.window.total_seconds() - 600


def test_check_counts_nothing_for_a_step_up_that_is_not_the_users(
    kit: Kit, guard: SecurityChangeGuard
) -> None:
    # Only a caller holding the user's credentials can spend the user's budget.
    user_id = kit.register()
    access, other = session_of(kit, user_id), session_of(kit, user_id)
    for _ in range(BUDGET.limit * 2):
        with pytest.raises(StepUpTokenInvalid):
            guard.check(change(access, step_up_for(kit, other)))
        with pytest.raises(StepUpTokenInvalid):
            guard.check(change(access, step_up_for(kit, access, generation=7)))

    assert budget_count(kit, user_id) == 0
    guard.check(change(access, step_up_for(kit, access)))


def test_check_again_in_the_same_request_counts_nothing(
    kit: Kit, guard: SecurityChangeGuard
) -> None:
    user_id = kit.register()
    access = session_of(kit, user_id)
    request = change(access, step_up_for(kit, access))

    guard.check(request)
    for _ in range(BUDGET.limit * 2):
        guard.check(request, count=False)

    assert budget_count(kit, user_id) == 1


def test_check_refuses_over_budget_before_looking_at_the_password(
    kit: Kit, guard: SecurityChangeGuard
) -> None:
    user_id = kit.register()
    access = session_of(kit, user_id)
    for _ in range(BUDGET.limit):
        guard.check(change(access, step_up_for(kit, access)))
    kit.principals.update(user_id, password_hash=None)

    with pytest.raises(TooManyRequests):
        guard.check(change(access, step_up_for(kit, access)))
