"""Removing a second factor (``SecondFactorService.disable``) over the in-memory fakes: the
contract's answers, the one conditional write and what it records, the step-up token it
consumes, the race with another writer, and the alert sent after the commit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support.domain_kit import CLIENT, REQUEST, Kit, build_kit, over_principals, user_with
from tests.support.fakes import START, FakeChangeCounts, FakePrincipals
from twofactor.domain.alerts import AlertKind, QueuedAlert, SecurityEvent
from twofactor.domain.guard import SecurityChangeRequest
from twofactor.domain.model import ChangeCount, Principal, TwoFactorMethod
from twofactor.domain.outbox import DeliveryStatus
from twofactor.domain.second_factors import MAX_ATTEMPTS
from twofactor.domain.throttle import Budget
from twofactor.errors import (
    CannotDisableOnlyTwoFactorMethod,
    DatabaseFailure,
    NoPasswordProvider,
    PostCommitSideEffectFailure,
    StepUpTokenInvalid,
    TooManyRequests,
    TwoFactorMethodAlreadyDisabled,
    TwoFactorMethodAlreadyEnabled,
    UserNotFound,
)

TOTP = TwoFactorMethod.TOTP
EMAIL = TwoFactorMethod.EMAIL


# Helpers ------------------------------------------------------------------------------------


def new_kit(**settings: Any) -> Kit:
    return build_kit(**settings)


def kit_over(principals: FakePrincipals, **settings: Any) -> Kit:
    """A kit whose services use ``principals`` (a fake that also plays another writer)."""
    return over_principals(new_kit(**settings), principals)


def sign_in(kit: Kit, principal_id: str) -> str:
    """A new session of the principal; its access token."""
    principal = kit.principals.get(principal_id)
    assert principal is not None
    return kit.services.sessions.start(principal, CLIENT, REQUEST).access.token


def change_request(
    kit: Kit, access_token: str, *, step_up_for: tuple[str, str] | None = None
) -> SecurityChangeRequest:
    """The access token's claims with a fresh step-up proof (of another user or session when
    ``step_up_for`` names them)."""
    access = kit.services.tokens.verify_access(access_token)
    sub, sid = step_up_for or (access.sub, access.sid)
    principal = kit.principals.get(sub)
    assert principal is not None
    issued = kit.services.tokens.issue_step_up(
        sub, sid, ("pwd", "otp"), principal.step_up_generation
    )
    step_up = kit.services.tokens.verify_step_up(issued.token)
    return SecurityChangeRequest(access=access, step_up=step_up, request=REQUEST)


def stored(kit: Kit, principal_id: str) -> Principal:
    return kit.principals.records[principal_id].principal


class InterferingPrincipals(FakePrincipals):
    """Another writer changes the principal after the flow read it and before its write."""

    def __init__(self, interfere: Callable[[FakePrincipals, str], None], times: int) -> None:
        super().__init__()
        self._interfere = interfere
        self._times = times
        self.writes = 0

    def remove_method(
        self,
        principal: Principal,
        method: TwoFactorMethod,
        *,
        event: SecurityEvent,
        alert: QueuedAlert | None,
        now: datetime,
        counted: ChangeCount | None = None,
    ) -> Principal | None:
        self.writes += 1
        if self.writes <= self._times:
            self._interfere(self, principal.id)
        return super().remove_method(
            principal, method, event=event, alert=alert, now=now, counted=counted
        )


# 200 -----------------------------------------------------------------------------------------


def test_disable_removes_the_method_and_moves_the_preferred_one() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)
    generation = stored(kit, user_id).step_up_generation

    after = kit.services.second_factors.disable(TOTP, change_request(kit, sign_in(kit, user_id)))

    assert after.methods == (EMAIL,)
    assert after.preferred_method is EMAIL
    assert after.totp is None
    assert after.step_up_generation == generation + 1
    assert stored(kit, user_id) == after


def test_disable_of_a_method_that_is_not_preferred_keeps_the_preferred_one() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)

    after = kit.services.second_factors.disable(EMAIL, change_request(kit, sign_in(kit, user_id)))

    assert after.methods == (TOTP,)
    assert after.preferred_method is TOTP
    assert after.totp is not None


def test_disable_records_the_removal_with_where_it_came_from() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)
    change = change_request(kit, sign_in(kit, user_id))

    kit.services.second_factors.disable(TOTP, change)

    [event] = kit.principals.records[user_id].events
    assert (event.kind, event.method, event.at) == (
        AlertKind.TWO_FACTOR_REMOVED,
        TOTP,
        kit.clock.now(),
    )
    assert event.origin.session_id == change.access.sid
    assert event.origin.request == REQUEST
    assert (event.origin.browser, event.origin.os) == ("Firefox", "Linux")


def test_disable_queues_the_alert_and_sends_it_right_away() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)

    kit.services.second_factors.disable(TOTP, change_request(kit, sign_in(kit, user_id)))

    [entry] = kit.principals.records[user_id].outbox
    assert entry.status is DeliveryStatus.SENT
    assert entry.attempts == 1
    [alert] = kit.mail.alerts
    assert alert.kind is AlertKind.TWO_FACTOR_REMOVED
    assert alert.method_label == "Authenticator app (TOTP)"
    assert (alert.recipient_email, alert.recipient_name) == ("ada@example.com", "Ada")
    assert alert.ip == REQUEST.ip


def test_disable_queues_the_alert_already_claimed_by_the_request() -> None:
    # The claim is part of the change's write: the request sends the alert with no claim of its
    # own, and a refused send leaves the claimed attempt recorded for the worker.
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)
    kit.mail.refusing = True

    with pytest.raises(PostCommitSideEffectFailure):
        kit.services.second_factors.disable(TOTP, change_request(kit, sign_in(kit, user_id)))

    [entry] = kit.principals.records[user_id].outbox
    assert entry.status is DeliveryStatus.PENDING
    assert entry.attempts == 1
    assert entry.alert.claim is not None  # the request's claim, written with the change


def test_disable_spends_one_unit_of_the_budget_only_for_a_change() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)
    access = sign_in(kit, user_id)

    kit.services.second_factors.disable(TOTP, change_request(kit, access))
    with pytest.raises(CannotDisableOnlyTwoFactorMethod):
        kit.services.second_factors.disable(EMAIL, change_request(kit, access))
    with pytest.raises(TwoFactorMethodAlreadyDisabled):
        kit.services.second_factors.disable(TOTP, change_request(kit, access))

    counted = stored(kit, user_id).security_changes
    assert counted is not None
    assert counted.count == 1


def test_disable_beyond_the_budget_is_refused_and_changes_nothing() -> None:
    kit = new_kit(throttle_security_changes_per_user=Budget(1, timedelta(hours=1)))
    user_id = user_with(kit, TOTP, EMAIL)
    access = sign_in(kit, user_id)
    with pytest.raises(TwoFactorMethodAlreadyEnabled):  # counted before that check
        kit.services.enrollment.begin_totp_setup(change_request(kit, access))

    with pytest.raises(TooManyRequests):
        kit.services.second_factors.disable(TOTP, change_request(kit, access))

    assert stored(kit, user_id).methods == (TOTP, EMAIL)
    assert kit.principals.records[user_id].outbox == []


def test_disable_writes_the_alert_in_the_requested_locale() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)
    change = replace(change_request(kit, sign_in(kit, user_id)), locale="fr")

    kit.services.second_factors.disable(TOTP, change)

    assert [alert.locale for alert in kit.mail.alerts] == ["fr"]


def test_disable_with_a_reused_step_up_token_is_refused() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)
    change = change_request(kit, sign_in(kit, user_id))
    kit.services.second_factors.disable(TOTP, change)

    with pytest.raises(StepUpTokenInvalid):
        kit.services.second_factors.disable(TOTP, change)

    assert len(kit.principals.records[user_id].events) == 1


def test_disable_consumes_every_outstanding_step_up_token_of_the_user() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)
    first = change_request(kit, sign_in(kit, user_id))
    other_session = change_request(kit, sign_in(kit, user_id))
    kit.services.second_factors.disable(TOTP, first)

    with pytest.raises(StepUpTokenInvalid):
        kit.services.second_factors.disable(EMAIL, other_session)

    assert stored(kit, user_id).methods == (EMAIL,)


# 304 and 400 ---------------------------------------------------------------------------------


def test_disable_of_a_method_that_is_off_answers_not_modified_and_changes_nothing() -> None:
    kit = new_kit()
    user_id = user_with(kit, EMAIL)
    change = change_request(kit, sign_in(kit, user_id))
    before = stored(kit, user_id)

    with pytest.raises(TwoFactorMethodAlreadyDisabled) as refused:
        kit.services.second_factors.disable(TOTP, change)

    assert refused.value.status == 304
    assert stored(kit, user_id) == before
    assert kit.principals.records[user_id].events == []
    assert kit.principals.records[user_id].outbox == []


def test_disable_of_the_only_method_is_refused() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP)
    generation = stored(kit, user_id).step_up_generation

    with pytest.raises(CannotDisableOnlyTwoFactorMethod) as refused:
        kit.services.second_factors.disable(TOTP, change_request(kit, sign_in(kit, user_id)))

    assert refused.value.status == 400
    assert stored(kit, user_id).methods == (TOTP,)
    assert stored(kit, user_id).step_up_generation == generation
    assert kit.mail.alerts == []


def test_disable_for_an_account_without_a_password_is_refused() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)
    kit.principals.update(user_id, password_hash=None)

    with pytest.raises(NoPasswordProvider):
        kit.services.second_factors.disable(TOTP, change_request(kit, sign_in(kit, user_id)))

    assert stored(kit, user_id).methods == (TOTP, EMAIL)


def test_a_missing_password_is_answered_before_a_method_that_is_off() -> None:
    kit = new_kit()
    user_id = user_with(kit, EMAIL)
    kit.principals.update(user_id, password_hash=None)

    with pytest.raises(NoPasswordProvider):
        kit.services.second_factors.disable(TOTP, change_request(kit, sign_in(kit, user_id)))


# 401 and 404 ---------------------------------------------------------------------------------


def test_disable_for_a_guest_answers_user_not_found() -> None:
    kit = new_kit()
    guest, tokens = kit.services.accounts.create_guest("Visitor", CLIENT, REQUEST)

    with pytest.raises(UserNotFound):
        kit.services.second_factors.disable(TOTP, change_request(kit, tokens.access.token))

    assert kit.principals.records[guest.id].events == []


def test_disable_for_a_principal_that_no_longer_exists_answers_user_not_found() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)
    change = change_request(kit, sign_in(kit, user_id))
    del kit.principals.records[user_id]

    with pytest.raises(UserNotFound):
        kit.services.second_factors.disable(TOTP, change)


def test_disable_with_a_step_up_token_of_another_user_is_refused() -> None:
    kit = new_kit()
    ada = user_with(kit, TOTP, EMAIL)
    bob = user_with(kit, TOTP, EMAIL, email="bob@example.com")
    bob_access = kit.services.tokens.verify_access(sign_in(kit, bob))

    change = change_request(kit, sign_in(kit, ada), step_up_for=(bob, bob_access.sid))

    with pytest.raises(StepUpTokenInvalid):
        kit.services.second_factors.disable(TOTP, change)
    assert stored(kit, ada).methods == (TOTP, EMAIL)
    assert stored(kit, bob).methods == (TOTP, EMAIL)


def test_disable_with_a_step_up_token_of_another_session_is_refused() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)
    other_session = kit.services.tokens.verify_access(sign_in(kit, user_id)).sid

    change = change_request(kit, sign_in(kit, user_id), step_up_for=(user_id, other_session))

    with pytest.raises(StepUpTokenInvalid):
        kit.services.second_factors.disable(TOTP, change)
    assert stored(kit, user_id).methods == (TOTP, EMAIL)


def test_a_store_failure_answers_database_failure_and_changes_nothing() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)
    change = change_request(kit, sign_in(kit, user_id))
    kit.principals.broken = True

    with pytest.raises(DatabaseFailure):
        kit.services.second_factors.disable(TOTP, change)

    assert stored(kit, user_id).methods == (TOTP, EMAIL)


# A change between the guard's read and the write ---------------------------------------------


def test_email_turned_off_behind_the_flow_is_answered_as_the_only_method() -> None:
    def turn_email_off(principals: FakePrincipals, principal_id: str) -> None:
        principals.update(principal_id, methods=(TOTP,), preferred_method=TOTP)

    principals = InterferingPrincipals(turn_email_off, times=1)
    kit = kit_over(principals)
    user_id = user_with(kit, TOTP, EMAIL)

    with pytest.raises(CannotDisableOnlyTwoFactorMethod):
        kit.services.second_factors.disable(TOTP, change_request(kit, sign_in(kit, user_id)))

    assert principals.writes == 1
    assert stored(kit, user_id).methods == (TOTP,)
    assert kit.principals.records[user_id].events == []
    assert kit.principals.records[user_id].outbox == []


def test_totp_turned_off_behind_the_flow_is_answered_not_modified() -> None:
    def turn_totp_off(principals: FakePrincipals, principal_id: str) -> None:
        principals.update(principal_id, methods=(EMAIL,), preferred_method=EMAIL, totp=None)

    kit = kit_over(InterferingPrincipals(turn_totp_off, times=1))
    user_id = user_with(kit, TOTP, EMAIL)

    with pytest.raises(TwoFactorMethodAlreadyDisabled):
        kit.services.second_factors.disable(TOTP, change_request(kit, sign_in(kit, user_id)))

    assert kit.principals.records[user_id].events == []


def test_a_security_change_behind_the_flow_consumes_its_step_up_token() -> None:
    def another_security_change(principals: FakePrincipals, principal_id: str) -> None:
        current = principals.records[principal_id].principal
        principals.update(principal_id, step_up_generation=current.step_up_generation + 1)

    kit = kit_over(InterferingPrincipals(another_security_change, times=1))
    user_id = user_with(kit, TOTP, EMAIL)

    with pytest.raises(StepUpTokenInvalid):
        kit.services.second_factors.disable(TOTP, change_request(kit, sign_in(kit, user_id)))

    assert stored(kit, user_id).methods == (TOTP, EMAIL)


def test_an_unrelated_write_behind_the_flow_is_retried_and_the_change_applied_once() -> None:
    def reorder_methods(principals: FakePrincipals, principal_id: str) -> None:
        principals.update(principal_id, methods=(EMAIL, TOTP))

    principals = InterferingPrincipals(reorder_methods, times=1)
    kit = kit_over(principals)
    user_id = user_with(kit, TOTP, EMAIL)

    after = kit.services.second_factors.disable(TOTP, change_request(kit, sign_in(kit, user_id)))

    assert principals.writes == 2
    assert after.methods == (EMAIL,)
    assert len(kit.principals.records[user_id].events) == 1
    assert len(kit.principals.records[user_id].outbox) == 1
    assert len(kit.mail.alerts) == 1


def test_a_change_counted_behind_the_flow_is_retried_and_both_are_counted() -> None:
    def spend_another_unit(principals: FakePrincipals, principal_id: str) -> None:
        FakeChangeCounts(principals).count(principal_id, 20, timedelta(hours=1), START)

    principals = InterferingPrincipals(spend_another_unit, times=1)
    kit = kit_over(principals)
    user_id = user_with(kit, TOTP, EMAIL)

    after = kit.services.second_factors.disable(TOTP, change_request(kit, sign_in(kit, user_id)))

    assert principals.writes == 2
    assert after.methods == (EMAIL,)
    counted = stored(kit, user_id).security_changes
    assert counted is not None
    assert counted.count == 2  # the other request's unit and this change's, neither lost


def test_a_principal_that_keeps_changing_ends_in_database_failure_after_max_attempts() -> None:
    def reorder_methods(principals: FakePrincipals, principal_id: str) -> None:
        methods = principals.records[principal_id].principal.methods
        principals.update(principal_id, methods=methods[::-1])

    principals = InterferingPrincipals(reorder_methods, times=MAX_ATTEMPTS)
    kit = kit_over(principals)
    user_id = user_with(kit, TOTP, EMAIL)
    generation = stored(kit, user_id).step_up_generation

    with pytest.raises(DatabaseFailure):
        kit.services.second_factors.disable(TOTP, change_request(kit, sign_in(kit, user_id)))

    assert principals.writes == MAX_ATTEMPTS
    assert set(stored(kit, user_id).methods) == {TOTP, EMAIL}
    assert stored(kit, user_id).step_up_generation == generation
    assert kit.principals.records[user_id].events == []
    assert kit.principals.records[user_id].outbox == []


# The alert after the commit ------------------------------------------------------------------


def test_a_refused_alert_keeps_the_change_and_leaves_the_alert_pending() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)
    kit.mail.refusing = True

    with pytest.raises(PostCommitSideEffectFailure):
        kit.services.second_factors.disable(TOTP, change_request(kit, sign_in(kit, user_id)))

    assert stored(kit, user_id).methods == (EMAIL,)
    assert len(kit.principals.records[user_id].events) == 1
    [entry] = kit.principals.records[user_id].outbox
    assert entry.status is DeliveryStatus.PENDING
    assert entry.last_error == "SMTPRecipientsRefused 451"
    assert kit.mail.alerts == []


def test_a_refused_alert_is_sent_by_the_next_delivery_pass() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)
    kit.mail.refusing = True
    with pytest.raises(PostCommitSideEffectFailure):
        kit.services.second_factors.disable(TOTP, change_request(kit, sign_in(kit, user_id)))
    kit.mail.refusing = False

    report = kit.services.alerts.deliver_due(ignore_backoff=True)

    assert report.sent == 1
    assert [alert.kind for alert in kit.mail.alerts] == [AlertKind.TWO_FACTOR_REMOVED]


def test_with_removal_alerts_switched_off_no_alert_is_queued() -> None:
    kit = new_kit(security_alert_two_factor_removed=False)
    user_id = user_with(kit, TOTP, EMAIL)
    kit.mail.refusing = True  # would fail the request if an alert were sent

    after = kit.services.second_factors.disable(TOTP, change_request(kit, sign_in(kit, user_id)))

    assert after.methods == (EMAIL,)
    assert len(kit.principals.records[user_id].events) == 1
    assert kit.principals.records[user_id].outbox == []


def test_with_email_off_no_alert_is_queued() -> None:
    kit = build_kit(mail=False)
    user_id = user_with(kit, TOTP, EMAIL)

    kit.services.second_factors.disable(TOTP, change_request(kit, sign_in(kit, user_id)))

    assert kit.principals.records[user_id].outbox == []
    assert kit.mail.alerts == []
