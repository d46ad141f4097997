"""Which alerts are wanted (``AlertPolicy``) and how an alert is composed from its event
(``AlertComposer``): its locale, its facts, and nothing at all when its kind is off."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.fakes import a_user
from twofactor.domain.alerts import (
    AlertComposer,
    AlertKind,
    AlertPolicy,
    LocaleRequest,
    SecurityEvent,
)
from twofactor.domain.model import ChangeOrigin, Principal, RequestInfo, TwoFactorMethod

AVAILABLE = frozenset({"en", "de", "fr", "es", "pt_BR"})
AT = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
ORIGIN = ChangeOrigin("session-1", RequestInfo("192.0.2.1", "curl/8"), "Firefox", "Linux")
ALL_ON = AlertPolicy(email_enabled=True, two_factor_removed=True, two_factor_added=True)


def principal(locale: str | None = None) -> Principal:
    return a_user(id="a" * 24, created_at=AT, last_active=AT, step_up_generation=3, locale=locale)


def event(kind: AlertKind = AlertKind.TWO_FACTOR_REMOVED) -> SecurityEvent:
    return SecurityEvent(kind=kind, method=TwoFactorMethod.TOTP, origin=ORIGIN, at=AT)


# AlertPolicy -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "wanted"),
    [
        (ALL_ON, {AlertKind.TWO_FACTOR_REMOVED, AlertKind.TWO_FACTOR_ADDED}),
        (
            AlertPolicy(email_enabled=True, two_factor_removed=False, two_factor_added=True),
            {AlertKind.TWO_FACTOR_ADDED},
        ),
        (
            AlertPolicy(email_enabled=True, two_factor_removed=True, two_factor_added=False),
            {AlertKind.TWO_FACTOR_REMOVED},
        ),
        (AlertPolicy(email_enabled=False, two_factor_removed=True, two_factor_added=True), set()),
    ],
)
def test_the_policy_wants_the_kinds_switched_on_while_email_is_on(
    policy: AlertPolicy, wanted: set[AlertKind]
) -> None:
    assert {kind for kind in AlertKind if policy.wants(kind)} == wanted


def test_a_change_of_the_preferred_method_never_sends_an_alert() -> None:
    assert not ALL_ON.wants(AlertKind.PREFERRED_METHOD_CHANGED)


# AlertComposer -----------------------------------------------------------------------------


def test_the_alert_carries_the_facts_of_its_event() -> None:
    composer = AlertComposer(ALL_ON, "en", AVAILABLE)

    alert = composer.compose(event(), principal(), LocaleRequest())

    assert alert is not None
    assert (alert.kind, alert.method) == (AlertKind.TWO_FACTOR_REMOVED, TwoFactorMethod.TOTP)
    assert alert.origin == ORIGIN
    assert alert.created_at == AT
    assert len(alert.id) == 32


def test_every_alert_has_its_own_id() -> None:
    composer = AlertComposer(ALL_ON, "en", AVAILABLE)

    alerts = [composer.compose(event(), principal(), LocaleRequest()) for _ in range(3)]

    assert len({alert.id for alert in alerts if alert is not None}) == 3


@pytest.mark.parametrize(
    "policy",
    [
        AlertPolicy(email_enabled=True, two_factor_removed=False, two_factor_added=True),
        AlertPolicy(email_enabled=False, two_factor_removed=True, two_factor_added=True),
    ],
)
def test_no_alert_is_composed_when_its_kind_is_not_sent(policy: AlertPolicy) -> None:
    composer = AlertComposer(policy, "en", AVAILABLE)

    assert composer.compose(event(), principal(), LocaleRequest()) is None


def test_no_alert_is_composed_for_a_change_of_the_preferred_method() -> None:
    composer = AlertComposer(ALL_ON, "en", AVAILABLE)

    composed = composer.compose(
        event(AlertKind.PREFERRED_METHOD_CHANGED), principal(), LocaleRequest()
    )

    assert composed is None


@pytest.mark.parametrize(
    ("requested", "stored", "accept_language", "expected"),
    [
        ("es", "fr", "de", "es"),  # the request's locale parameter first
        (None, "fr", "de", "fr"),  # then the user's stored locale
        (None, None, "de-AT,fr;q=0.5", "de"),  # then Accept-Language, region to language
        (None, None, "pt-BR", "pt_BR"),
        ("ja", "ko", "fr;q=0.2, it;q=0.9", "fr"),  # the first candidate a catalog serves
        (None, None, None, "en"),  # then the default
        ("not a locale", None, "*", "en"),
    ],
)
def test_the_alert_is_written_in_the_first_locale_a_catalog_serves(
    requested: str | None, stored: str | None, accept_language: str | None, expected: str
) -> None:
    composer = AlertComposer(ALL_ON, "en", AVAILABLE)

    alert = composer.compose(event(), principal(stored), LocaleRequest(requested, accept_language))

    assert alert is not None
    assert alert.locale == expected


def test_the_configured_default_locale_is_the_last_resort() -> None:
    composer = AlertComposer(ALL_ON, "fr", AVAILABLE)

    alert = composer.compose(event(), principal(), LocaleRequest(accept_language="ja"))

    assert alert is not None
    assert alert.locale == "fr"
