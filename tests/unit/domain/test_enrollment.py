"""Adding second factors (``EnrollmentService``) over the in-memory fakes: TOTP setup and its
confirmation, email codes proven by a mailed code, and the choice of the preferred method."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import pyotp
import pytest

from tests.support.domain_kit import Kit, build_kit, over_principals, user_with
from tests.support.fakes import FakePrincipals
from tests.support.passwords import cheap_passwords
from twofactor.domain.alerts import AlertKind, QueuedAlert, SecurityEvent
from twofactor.domain.guard import SecurityChangeRequest
from twofactor.domain.model import (
    ClientInfo,
    FactorState,
    Principal,
    RequestInfo,
    TotpState,
    TwoFactorMethod,
)
from twofactor.domain.outbox import DeliveryStatus
from twofactor.domain.verification import Proof
from twofactor.errors import (
    EmailDisabled,
    InvalidRequest,
    InvalidTotpSetupToken,
    InvalidTwoFactorCode,
    ServiceError,
    StepUpTokenInvalid,
    TooManyAttempts,
    TwoFactorMethodAlreadyEnabled,
)
from twofactor.security import otp
from twofactor.security.crypto import FieldCipher, sealed_context
from twofactor.security.recovery_codes import RecoveryCodeHasher
from twofactor.security.tokens import TOTP_SETUP_TOKEN_TTL

TOTP = TwoFactorMethod.TOTP
EMAIL = TwoFactorMethod.EMAIL
CLIENT = ClientInfo(browser="Safari", os="macOS")
REQUEST = RequestInfo(ip="198.51.100.4", user_agent="Mozilla/5.0 (Macintosh)")
#: Real argon2id with argon2's cheapest parameters, so hashing keeps the tests fast.
HASHER = cheap_passwords()


# Helpers ------------------------------------------------------------------------------------


def new_kit(**settings: Any) -> Kit:
    return build_kit(passwords=HASHER, **settings)


def sign_in(kit: Kit, principal_id: str) -> str:
    """A new session of the principal; its access token."""
    principal = kit.principals.get(principal_id)
    assert principal is not None
    return kit.services.sessions.start(principal, CLIENT, REQUEST).access.token


def change_request(kit: Kit, principal_id: str) -> SecurityChangeRequest:
    """A new session of the principal with a fresh step-up proof."""
    access = kit.services.tokens.verify_access(sign_in(kit, principal_id))
    principal = kit.principals.get(principal_id)
    assert principal is not None
    issued = kit.services.tokens.issue_step_up(
        principal_id, access.sid, ("pwd",), principal.step_up_generation
    )
    step_up = kit.services.tokens.verify_step_up(issued.token)
    return SecurityChangeRequest(access=access, step_up=step_up, request=REQUEST)


def stored(kit: Kit, principal_id: str) -> Principal:
    return kit.principals.records[principal_id].principal


def account_state(kit: Kit, principal_id: str) -> Principal:
    """The stored principal but for the count of its budget of security changes, which every
    request behind a step-up token spends, whatever it answers."""
    return replace(stored(kit, principal_id), security_changes=None)


def code_now(kit: Kit, secret: str) -> str:
    return pyotp.TOTP(secret).at(kit.clock.now())


def wrong_code(right: str) -> str:
    return f"{(int(right) + 1) % 1_000_000:06d}"


def mailed_code(kit: Kit, principal_id: str) -> str:
    kit.services.email_codes.send(principal_id)
    return kit.mail.codes[-1].code


def failures_counted(kit: Kit, principal_id: str) -> int:
    count, _ = kit.attempts.windows.get(f"user:{principal_id}", (0, None))
    return count


class RacedPrincipals(FakePrincipals):
    """Another security change of the principal lands between the flow's read and its write."""

    def _another_change(self, principal_id: str) -> None:
        current = self.records[principal_id].principal
        self.update(principal_id, step_up_generation=current.step_up_generation + 1)

    def add_method(
        self,
        principal: Principal,
        method: TwoFactorMethod,
        state: FactorState,
        *,
        event: SecurityEvent,
        alert: QueuedAlert | None,
        now: datetime,
        mark_email_verified: bool = False,
    ) -> bool:
        self._another_change(principal.id)
        return super().add_method(
            principal,
            method,
            state,
            event=event,
            alert=alert,
            now=now,
            mark_email_verified=mark_email_verified,
        )

    def set_preferred_method(
        self, principal: Principal, method: TwoFactorMethod, *, event: SecurityEvent, now: datetime
    ) -> bool:
        self._another_change(principal.id)
        return super().set_preferred_method(principal, method, event=event, now=now)


def raced_kit() -> Kit:
    """A kit whose principal store sees another security change before every write."""
    return over_principals(new_kit(), RacedPrincipals())


# Beginning a TOTP setup ----------------------------------------------------------------------


def test_begin_totp_setup_offers_a_secret_and_recovery_codes() -> None:
    kit = new_kit()
    user_id = user_with(kit)

    setup = kit.services.enrollment.begin_totp_setup(change_request(kit, user_id))

    assert len(setup.secret) == 32
    assert f"secret={setup.secret}" in setup.uri
    assert setup.qr_code.startswith("data:image/svg+xml;base64,")
    assert len(setup.recovery_codes) == otp.RECOVERY_CODE_COUNT
    assert kit.services.tokens.verify_totp_setup(setup.token).sub == user_id


def test_begin_totp_setup_stores_nothing_and_does_not_consume_the_step_up_token() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    change = change_request(kit, user_id)
    before = account_state(kit, user_id)

    setup = kit.services.enrollment.begin_totp_setup(change)

    assert account_state(kit, user_id) == before
    assert kit.principals.records[user_id].events == []
    # The same step-up proof still confirms the setup.
    after = kit.services.enrollment.confirm_totp_setup(
        change, setup.token, code_now(kit, setup.secret)
    )
    assert TOTP in after.methods


def test_begin_totp_setup_when_totp_is_on_answers_not_modified() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP)

    with pytest.raises(TwoFactorMethodAlreadyEnabled) as refused:
        kit.services.enrollment.begin_totp_setup(change_request(kit, user_id))

    assert refused.value.status == 304


# Confirming a TOTP setup ---------------------------------------------------------------------


def test_confirm_totp_setup_turns_totp_on_with_the_offered_secret() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    change = change_request(kit, user_id)
    setup = kit.services.enrollment.begin_totp_setup(change)

    after = kit.services.enrollment.confirm_totp_setup(
        change, setup.token, code_now(kit, setup.secret)
    )

    assert after.methods == (TOTP,)
    assert after.preferred_method is TOTP
    assert after.totp is not None
    assert after.totp.secret == setup.secret
    assert after.totp.enabled_at == kit.clock.now()
    assert stored(kit, user_id) == after


def test_confirm_totp_setup_keeps_only_hashes_of_the_recovery_codes() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    change = change_request(kit, user_id)
    setup = kit.services.enrollment.begin_totp_setup(change)

    after = kit.services.enrollment.confirm_totp_setup(
        change, setup.token, code_now(kit, setup.secret)
    )

    assert after.totp is not None
    hashes = after.totp.recovery_code_hashes
    assert len(hashes) == len(setup.recovery_codes)
    assert not set(hashes) & set(setup.recovery_codes)
    stored_as = RecoveryCodeHasher(kit.settings.hash_key, HASHER)
    assert stored_as.matching(hashes, setup.recovery_codes[0]) == hashes[0]
    assert stored_as.matching(hashes, setup.recovery_codes[-1]) == hashes[-1]


def test_the_confirming_code_is_never_accepted_again() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    change = change_request(kit, user_id)
    setup = kit.services.enrollment.begin_totp_setup(change)
    code = code_now(kit, setup.secret)

    after = kit.services.enrollment.confirm_totp_setup(change, setup.token, code)

    assert after.totp is not None
    assert after.totp.last_used_step == otp.time_step(kit.clock.now())
    access = change.access
    pending = kit.services.tokens.verify_two_factor(
        kit.services.tokens.issue_two_factor(user_id).token
    )
    with pytest.raises(InvalidTwoFactorCode):
        kit.services.two_factor.step_up(access, pending, Proof(TOTP, code))


def test_confirm_totp_setup_ends_the_other_sessions_of_the_user() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    other = kit.services.tokens.verify_access(sign_in(kit, user_id))
    change = change_request(kit, user_id)
    setup = kit.services.enrollment.begin_totp_setup(change)

    kit.services.enrollment.confirm_totp_setup(change, setup.token, code_now(kit, setup.secret))

    assert kit.services.sessions.session(other.sid) is None
    assert kit.services.sessions.session(change.access.sid) is not None
    assert not kit.allowlist.contains(other.jti, user_id, other.sid)
    assert kit.allowlist.contains(change.access.jti, user_id, change.access.sid)


def test_confirm_totp_setup_records_the_change_and_sends_its_alert() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    change = change_request(kit, user_id)
    setup = kit.services.enrollment.begin_totp_setup(change)

    kit.services.enrollment.confirm_totp_setup(change, setup.token, code_now(kit, setup.secret))

    [event] = kit.principals.records[user_id].events
    assert (event.kind, event.method) == (AlertKind.TWO_FACTOR_ADDED, TOTP)
    assert (event.origin.browser, event.origin.os) == ("Safari", "macOS")
    [entry] = kit.principals.records[user_id].outbox
    assert entry.status is DeliveryStatus.SENT
    [alert] = kit.mail.alerts
    assert (alert.kind, alert.method_label) == (
        AlertKind.TWO_FACTOR_ADDED,
        "Authenticator app (TOTP)",
    )


def test_confirm_totp_setup_consumes_the_step_up_token() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    change = change_request(kit, user_id)
    setup = kit.services.enrollment.begin_totp_setup(change)
    kit.services.enrollment.confirm_totp_setup(change, setup.token, code_now(kit, setup.secret))
    kit.services.email_codes.send(user_id)

    with pytest.raises(StepUpTokenInvalid):
        kit.services.enrollment.enable_email(change, kit.mail.codes[-1].code)


def test_a_wrong_setup_code_is_refused_counted_and_changes_nothing() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    change = change_request(kit, user_id)
    setup = kit.services.enrollment.begin_totp_setup(change)
    before = account_state(kit, user_id)

    with pytest.raises(InvalidTwoFactorCode):
        kit.services.enrollment.confirm_totp_setup(
            change, setup.token, wrong_code(code_now(kit, setup.secret))
        )

    assert failures_counted(kit, user_id) == 1
    assert account_state(kit, user_id) == before


def test_setup_codes_are_throttled_after_five_wrong_ones() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    change = change_request(kit, user_id)
    setup = kit.services.enrollment.begin_totp_setup(change)
    right = code_now(kit, setup.secret)
    for _ in range(5):
        with pytest.raises(InvalidTwoFactorCode):
            kit.services.enrollment.confirm_totp_setup(change, setup.token, wrong_code(right))

    with pytest.raises(TooManyAttempts) as throttled:
        kit.services.enrollment.confirm_totp_setup(change, setup.token, right)

    assert 0 < throttled.value.retry_after <= 15 * 60
    assert stored(kit, user_id).methods == ()


def test_a_right_setup_code_forgets_the_earlier_wrong_ones() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    change = change_request(kit, user_id)
    setup = kit.services.enrollment.begin_totp_setup(change)
    right = code_now(kit, setup.secret)
    with pytest.raises(InvalidTwoFactorCode):
        kit.services.enrollment.confirm_totp_setup(change, setup.token, wrong_code(right))

    kit.services.enrollment.confirm_totp_setup(change, setup.token, right)

    assert failures_counted(kit, user_id) == 0


def test_a_tampered_setup_token_is_refused() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    change = change_request(kit, user_id)
    setup = kit.services.enrollment.begin_totp_setup(change)
    header, payload, signature = setup.token.split(".")
    tampered = f"{header}.{payload}.{signature[::-1]}"

    with pytest.raises(InvalidTotpSetupToken):
        kit.services.enrollment.confirm_totp_setup(change, tampered, code_now(kit, setup.secret))

    assert stored(kit, user_id).methods == ()
    assert failures_counted(kit, user_id) == 0


def test_a_setup_token_of_another_user_is_refused() -> None:
    kit = new_kit()
    ada = user_with(kit)
    bob = user_with(kit, email="bob@example.com")
    bobs_setup = kit.services.enrollment.begin_totp_setup(change_request(kit, bob))

    with pytest.raises(InvalidTotpSetupToken):
        kit.services.enrollment.confirm_totp_setup(
            change_request(kit, ada), bobs_setup.token, code_now(kit, bobs_setup.secret)
        )

    assert stored(kit, ada).methods == ()


def test_a_secret_sealed_for_another_user_does_not_open() -> None:
    kit = new_kit()
    ada = user_with(kit)
    bob = user_with(kit, email="bob@example.com")
    bobs_setup = kit.services.enrollment.begin_totp_setup(change_request(kit, bob))
    bobs_sealed = kit.services.tokens.verify_totp_setup(bobs_setup.token).sealed
    resigned_for_ada = kit.services.tokens.issue_totp_setup(ada, bobs_sealed).token

    with pytest.raises(InvalidTotpSetupToken):
        kit.services.enrollment.confirm_totp_setup(
            change_request(kit, ada), resigned_for_ada, code_now(kit, bobs_setup.secret)
        )

    assert stored(kit, ada).methods == ()


def test_a_setup_secret_altered_inside_a_validly_signed_token_is_refused() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    change = change_request(kit, user_id)
    setup = kit.services.enrollment.begin_totp_setup(change)
    sealed = kit.services.tokens.verify_totp_setup(setup.token).sealed
    head, _, ciphertext = sealed.rpartition(".")
    flipped = bytearray(base64.urlsafe_b64decode(ciphertext + "=" * (-len(ciphertext) % 4)))
    flipped[0] ^= 0x01
    altered = f"{head}.{base64.urlsafe_b64encode(bytes(flipped)).decode().rstrip('=')}"
    resigned = kit.services.tokens.issue_totp_setup(user_id, altered).token

    with pytest.raises(InvalidTotpSetupToken):
        kit.services.enrollment.confirm_totp_setup(change, resigned, code_now(kit, setup.secret))

    assert stored(kit, user_id).methods == ()
    assert failures_counted(kit, user_id) == 0


@pytest.mark.parametrize(
    "sealed_text",
    [
        None,  # not a sealed value at all
        "not json",
        "[]",
        '{"secret": "JBSWY3DPEHPK3PXP"}',
        '{"secret": "JBSWY3DPEHPK3PXP", "codes": 5}',
    ],
)
def test_an_undecryptable_or_malformed_setup_secret_is_refused(sealed_text: str | None) -> None:
    kit = new_kit()
    user_id = user_with(kit)
    if sealed_text is None:
        sealed = "kit-enc.bm9uY2Vub25jZTEy.Y2lwaGVydGV4dA"
    else:
        cipher = FieldCipher(kit.settings.encryption_keys)
        sealed = cipher.seal_text(sealed_text, sealed_context(user_id, "totp-setup"))
    token = kit.services.tokens.issue_totp_setup(user_id, sealed).token

    with pytest.raises(InvalidTotpSetupToken):
        kit.services.enrollment.confirm_totp_setup(change_request(kit, user_id), token, "123456")

    assert stored(kit, user_id).methods == ()


def test_an_expired_setup_token_is_refused() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    setup = kit.services.enrollment.begin_totp_setup(change_request(kit, user_id))
    kit.clock.advance(TOTP_SETUP_TOKEN_TTL)

    with pytest.raises(InvalidTotpSetupToken):
        kit.services.enrollment.confirm_totp_setup(
            change_request(kit, user_id), setup.token, code_now(kit, setup.secret)
        )

    assert stored(kit, user_id).methods == ()


def test_a_setup_token_just_before_it_expires_still_confirms() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    setup = kit.services.enrollment.begin_totp_setup(change_request(kit, user_id))
    kit.clock.advance(TOTP_SETUP_TOKEN_TTL - 10)

    after = kit.services.enrollment.confirm_totp_setup(
        change_request(kit, user_id), setup.token, code_now(kit, setup.secret)
    )

    assert after.methods == (TOTP,)


def test_confirm_totp_setup_when_totp_is_already_on_answers_not_modified() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    change = change_request(kit, user_id)
    setup = kit.services.enrollment.begin_totp_setup(change)
    kit.principals.update(user_id, methods=(TOTP,), totp=TotpState(setup.secret, 0, ()))

    with pytest.raises(TwoFactorMethodAlreadyEnabled):
        kit.services.enrollment.confirm_totp_setup(change, setup.token, code_now(kit, setup.secret))

    assert kit.principals.records[user_id].events == []


def test_confirm_totp_setup_racing_another_security_change_is_refused() -> None:
    kit = raced_kit()
    user_id = user_with(kit)
    change = change_request(kit, user_id)
    setup = kit.services.enrollment.begin_totp_setup(change)

    with pytest.raises(StepUpTokenInvalid):
        kit.services.enrollment.confirm_totp_setup(change, setup.token, code_now(kit, setup.secret))

    assert stored(kit, user_id).methods == ()
    assert kit.mail.alerts == []


def add_totp(kit: Kit, user_id: str, change: SecurityChangeRequest) -> None:
    setup = kit.services.enrollment.begin_totp_setup(change)
    kit.allowlist.broken = True
    kit.services.enrollment.confirm_totp_setup(change, setup.token, code_now(kit, setup.secret))


def add_email(kit: Kit, user_id: str, change: SecurityChangeRequest) -> None:
    code = mailed_code(kit, user_id)
    kit.allowlist.broken = True
    kit.services.enrollment.enable_email(change, code)


@pytest.mark.parametrize("add", [add_totp, add_email], ids=["totp", "email"])
def test_a_factor_is_never_left_on_beside_another_session_that_was_not_ended(
    add: Callable[[Kit, str, SecurityChangeRequest], None],
) -> None:
    kit = new_kit()
    user_id = user_with(kit)
    other = kit.services.tokens.verify_access(sign_in(kit, user_id))
    change = change_request(kit, user_id)

    with contextlib.suppress(ServiceError):
        add(kit, user_id, change)  # the allowlist fails during the request

    kit.allowlist.broken = False
    factor_on = stored(kit, user_id).methods != ()
    other_alive = kit.services.sessions.session(other.sid) is not None or kit.allowlist.contains(
        other.jti, user_id, other.sid
    )
    assert not (factor_on and other_alive)


# Email codes ---------------------------------------------------------------------------------


def test_enable_email_with_the_mailed_code_turns_email_on_and_verifies_the_address() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    assert not stored(kit, user_id).email_verified
    change = change_request(kit, user_id)

    after = kit.services.enrollment.enable_email(change, mailed_code(kit, user_id))

    assert after.methods == (EMAIL,)
    assert after.preferred_method is EMAIL
    assert after.email_verified
    assert kit.principals.records[user_id].factor_states[EMAIL].enabled_at == kit.clock.now()
    assert kit.principals.records[user_id].email_code is None  # the code is consumed


def test_enable_email_while_mail_is_off_answers_email_disabled_before_the_code() -> None:
    # A code mailed before mail was switched off would still match: never enable a factor
    # whose codes can no longer be sent.
    kit = new_kit(mail=False)
    user_id = user_with(kit)

    with pytest.raises(EmailDisabled):
        kit.services.enrollment.enable_email(change_request(kit, user_id), "123456")

    assert stored(kit, user_id).methods == ()
    assert failures_counted(kit, user_id) == 0


def test_enable_email_as_a_second_method_keeps_the_preferred_one() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP)

    after = kit.services.enrollment.enable_email(
        change_request(kit, user_id), mailed_code(kit, user_id)
    )

    assert after.methods == (TOTP, EMAIL)
    assert after.preferred_method is TOTP


def test_enable_email_records_the_change_sends_its_alert_and_ends_other_sessions() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    other = kit.services.tokens.verify_access(sign_in(kit, user_id))
    change = change_request(kit, user_id)

    kit.services.enrollment.enable_email(change, mailed_code(kit, user_id))

    [event] = kit.principals.records[user_id].events
    assert (event.kind, event.method) == (AlertKind.TWO_FACTOR_ADDED, EMAIL)
    assert [alert.method_label for alert in kit.mail.alerts] == ["Email codes"]
    assert kit.services.sessions.session(other.sid) is None


def test_with_added_alerts_switched_off_enabling_a_factor_queues_no_alert() -> None:
    kit = new_kit(security_alert_two_factor_added=False)
    user_id = user_with(kit)
    code = mailed_code(kit, user_id)
    kit.mail.refusing = True  # would fail the request if an alert were sent

    after = kit.services.enrollment.enable_email(change_request(kit, user_id), code)

    assert after.methods == (EMAIL,)
    assert len(kit.principals.records[user_id].events) == 1
    assert kit.principals.records[user_id].outbox == []


def test_enable_email_with_a_wrong_code_is_refused_and_counted() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    change = change_request(kit, user_id)
    right = mailed_code(kit, user_id)

    with pytest.raises(InvalidTwoFactorCode):
        kit.services.enrollment.enable_email(change, wrong_code(right))

    assert failures_counted(kit, user_id) == 1
    assert stored(kit, user_id).methods == ()
    assert not stored(kit, user_id).email_verified


def test_enable_email_without_a_mailed_code_is_refused() -> None:
    kit = new_kit()
    user_id = user_with(kit)

    with pytest.raises(InvalidTwoFactorCode):
        kit.services.enrollment.enable_email(change_request(kit, user_id), "123456")

    assert stored(kit, user_id).methods == ()


def test_enable_email_with_an_expired_code_is_refused() -> None:
    kit = new_kit()
    user_id = user_with(kit)
    code = mailed_code(kit, user_id)
    kit.clock.advance(10 * 60)

    with pytest.raises(InvalidTwoFactorCode):
        kit.services.enrollment.enable_email(change_request(kit, user_id), code)

    assert stored(kit, user_id).methods == ()


def test_enable_email_when_email_is_on_answers_not_modified_and_keeps_the_code() -> None:
    kit = new_kit()
    user_id = user_with(kit, EMAIL)
    mailed_code(kit, user_id)

    with pytest.raises(TwoFactorMethodAlreadyEnabled):
        kit.services.enrollment.enable_email(change_request(kit, user_id), kit.mail.codes[-1].code)

    assert kit.principals.records[user_id].email_code is not None


def test_enable_email_racing_another_security_change_is_refused() -> None:
    kit = raced_kit()
    user_id = user_with(kit)
    change = change_request(kit, user_id)

    with pytest.raises(StepUpTokenInvalid):
        kit.services.enrollment.enable_email(change, mailed_code(kit, user_id))

    assert stored(kit, user_id).methods == ()
    assert not stored(kit, user_id).email_verified


# Preferred method ----------------------------------------------------------------------------


def test_set_preferred_moves_the_preference_and_consumes_the_step_up_token() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)
    change = change_request(kit, user_id)
    generation = stored(kit, user_id).step_up_generation

    after = kit.services.enrollment.set_preferred(change, EMAIL)

    assert after.preferred_method is EMAIL
    assert after.methods == (TOTP, EMAIL)
    assert after.step_up_generation == generation + 1
    with pytest.raises(StepUpTokenInvalid):
        kit.services.enrollment.set_preferred(change, TOTP)


def test_set_preferred_records_the_change_without_an_alert() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)

    kit.services.enrollment.set_preferred(change_request(kit, user_id), EMAIL)

    [event] = kit.principals.records[user_id].events
    assert (event.kind, event.method) == (AlertKind.PREFERRED_METHOD_CHANGED, EMAIL)
    assert kit.principals.records[user_id].outbox == []
    assert kit.mail.alerts == []


def test_set_preferred_to_the_method_already_preferred_succeeds_and_keeps_it() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP, EMAIL)

    after = kit.services.enrollment.set_preferred(change_request(kit, user_id), TOTP)

    assert after.preferred_method is TOTP
    assert after.methods == (TOTP, EMAIL)


def test_set_preferred_to_a_method_that_is_off_is_refused() -> None:
    kit = new_kit()
    user_id = user_with(kit, TOTP)
    change = change_request(kit, user_id)
    before = account_state(kit, user_id)

    with pytest.raises(InvalidRequest):
        kit.services.enrollment.set_preferred(change, EMAIL)

    assert account_state(kit, user_id) == before
    assert kit.principals.records[user_id].events == []


def test_set_preferred_racing_another_security_change_is_refused() -> None:
    kit = raced_kit()
    user_id = user_with(kit, TOTP, EMAIL)

    with pytest.raises(StepUpTokenInvalid):
        kit.services.enrollment.set_preferred(change_request(kit, user_id), EMAIL)

    assert stored(kit, user_id).preferred_method is TOTP
    assert kit.principals.records[user_id].events == []
