"""How a security change is recorded (``ChangeRecorder``): its history entry says what changed,
when, and from where (the request, and the browser and OS its session signed in with); its alert
is composed with it, in the language the change asks for."""

from __future__ import annotations

from tests.support.domain_kit import Kit, build_kit
from tests.support.fakes import a_user
from twofactor.domain.alerts import AlertComposer, AlertKind, AlertPolicy
from twofactor.domain.guard import SecurityChangeRequest
from twofactor.domain.model import ClientInfo, Principal, RequestInfo, TwoFactorMethod
from twofactor.domain.security_change import ChangeRecorder
from twofactor.mail.catalogs import available_locales

CLIENT = ClientInfo(browser="Firefox", os="Ubuntu")
SIGN_IN = RequestInfo(ip="203.0.113.1", user_agent="Firefox at sign-in")
CHANGE = RequestInfo(ip="203.0.113.99", user_agent="Firefox at the change")
ALL_ON = AlertPolicy(email_enabled=True, two_factor_removed=True, two_factor_added=True)


def recorder(kit: Kit, policy: AlertPolicy = ALL_ON) -> ChangeRecorder:
    composer = AlertComposer(policy, kit.settings.default_locale, available_locales())
    return ChangeRecorder(kit.services.sessions, composer, kit.clock)


def signed_in(kit: Kit) -> tuple[Principal, SecurityChangeRequest]:
    """A user in a session started with ``CLIENT``, asking for a change from ``CHANGE``."""
    now = kit.clock.now()
    principal = kit.principals.put(a_user(created_at=now, last_active=now))
    tokens = kit.services.sessions.start(principal, CLIENT, SIGN_IN)
    access = kit.services.tokens.verify_access(tokens.access.token)
    step_up = kit.services.tokens.verify_step_up(
        kit.services.tokens.issue_step_up(principal.id, access.sid, ("pwd",), 0).token
    )
    return principal, SecurityChangeRequest(access=access, step_up=step_up, request=CHANGE)


def test_the_event_says_what_changed_and_when() -> None:
    kit = build_kit()
    principal, change = signed_in(kit)
    kit.clock.advance(42)

    record = recorder(kit).record(
        AlertKind.TWO_FACTOR_ADDED, TwoFactorMethod.EMAIL, change, principal
    )

    assert record.event.kind is AlertKind.TWO_FACTOR_ADDED
    assert record.event.method is TwoFactorMethod.EMAIL
    assert record.event.at == kit.clock.now()


def test_the_origin_is_the_request_and_the_browser_and_os_of_its_session() -> None:
    kit = build_kit()
    principal, change = signed_in(kit)

    record = recorder(kit).record(
        AlertKind.TWO_FACTOR_REMOVED, TwoFactorMethod.TOTP, change, principal
    )

    origin = record.event.origin
    assert origin.session_id == change.access.sid
    assert origin.request == CHANGE
    assert (origin.browser, origin.os) == ("Firefox", "Ubuntu")


def test_a_session_that_has_ended_leaves_browser_and_os_unknown() -> None:
    kit = build_kit()
    principal, change = signed_in(kit)
    kit.services.sessions.end(change.access.sid)

    record = recorder(kit).record(
        AlertKind.TWO_FACTOR_REMOVED, TwoFactorMethod.TOTP, change, principal
    )

    assert record.event.origin.request == CHANGE
    assert (record.event.origin.browser, record.event.origin.os) == (None, None)


def test_the_alert_is_composed_from_the_event_in_the_requested_language() -> None:
    kit = build_kit()
    principal, change = signed_in(kit)
    german = SecurityChangeRequest(
        access=change.access, step_up=change.step_up, request=CHANGE, accept_language="de-CH"
    )

    record = recorder(kit).record(
        AlertKind.TWO_FACTOR_REMOVED, TwoFactorMethod.TOTP, german, principal
    )

    assert record.alert is not None
    assert record.alert.locale == "de"
    assert record.alert.origin == record.event.origin
    assert record.alert.created_at == record.event.at
    assert (record.alert.kind, record.alert.method) == (
        AlertKind.TWO_FACTOR_REMOVED,
        TwoFactorMethod.TOTP,
    )


def test_a_change_whose_alerts_are_off_is_recorded_without_an_alert() -> None:
    kit = build_kit()
    principal, change = signed_in(kit)
    policy = AlertPolicy(email_enabled=True, two_factor_removed=False, two_factor_added=True)

    record = recorder(kit, policy).record(
        AlertKind.TWO_FACTOR_REMOVED, TwoFactorMethod.TOTP, change, principal
    )

    assert record.alert is None
    assert record.event.kind is AlertKind.TWO_FACTOR_REMOVED
