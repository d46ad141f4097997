"""Rendering an alert: both parts, escaping, the locale's own words and date format."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from babel.dates import format_datetime

from twofactor.domain.alerts import AlertKind
from twofactor.domain.messages import AlertContent
from twofactor.factors.email_codes import EmailCodeFactor
from twofactor.factors.totp import TotpFactor
from twofactor.mail.catalogs import translations_for
from twofactor.mail.rendering import AlertRenderer, MailIdentity
from twofactor.security.addresses import parse_email_address

RENDERER = AlertRenderer(
    MailIdentity(
        sender="twofactor-api <alerts@example.com>",
        security_settings_url="https://example.com/security?tab=2fa&x=1",
        support_contact="help@example.com",
    )
)
WHEN = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)
ADA = parse_email_address("ada@example.com")


def render(alert: AlertContent) -> EmailMessage:
    return RENDERER.render(alert, ADA)


def content(locale: str = "en", **changes: object) -> AlertContent:
    values: dict[str, object] = {
        "kind": AlertKind.TWO_FACTOR_REMOVED,
        "method_label": TotpFactor.label,
        "recipient_email": "ada@example.com",
        "recipient_name": "Ada",
        "occurred_at": WHEN,
        "locale": locale,
        "ip": "203.0.113.7",
        "browser": "Firefox",
        "os": "Linux",
    }
    return AlertContent(**(values | changes))  # type: ignore[arg-type]


def bodies(message: object) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined]
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[attr-defined]
    return text, html


@pytest.mark.parametrize("locale", ["en", "de", "fr", "es", "pt_BR"])
def test_alert_is_written_in_the_locale_of(locale: str) -> None:
    gettext = translations_for(locale).gettext

    message = render(content(locale))

    text, html = bodies(message)
    assert message["Subject"] == gettext("A two-factor method was removed from your account")
    assert gettext("Authenticator app (TOTP)") in text
    assert gettext("If this was you, there is nothing else to do.") in text
    assert format_datetime(WHEN, format="long", tzinfo=UTC, locale=locale) in text
    assert message["Content-Language"] == locale.replace("_", "-")
    assert "203.0.113.7" in html


def test_added_alert_has_its_own_subject() -> None:
    message = render(content(kind=AlertKind.TWO_FACTOR_ADDED, method_label=EmailCodeFactor.label))

    assert message["Subject"] == "A two-factor method was added to your account"
    assert "Email codes is now a second factor" in bodies(message)[0]


def test_html_part_escapes_names_and_the_link() -> None:
    message = render(content(recipient_name='<img src=x onerror="steal()">'))

    text, html = bodies(message)
    assert "<img" not in html
    assert "&lt;img" in html
    assert "tab=2fa&amp;x=1" in html
    assert '<img src=x onerror="steal()">' in text


def test_unknown_origin_is_said_plainly() -> None:
    message = render(content(ip=None, browser=None, os=None, user_agent=None))

    assert bodies(message)[0].count("unknown") == 2


def test_headers_identify_the_message() -> None:
    message = render(content())

    assert message["From"] == "twofactor-api <alerts@example.com>"
    assert message["To"] == "ada@example.com"
    assert message["Message-ID"].endswith("@twofactor-api>")
    assert message["Date"] == "Sat, 28 Nov 2026 12:30:00 +0000"


def test_an_alert_read_back_from_its_bytes_has_both_parts_whatever_the_name() -> None:
    # A name that looks like a part boundary, in an alert whose text stays plain ASCII.
    name = "--=_0123456789abcdef0123456789abcdef--"
    sent = render(content("en", recipient_name=name))

    read = message_from_bytes(sent.as_bytes(), policy=policy.default)

    assert isinstance(read, EmailMessage)
    assert [part.get_content_type() for part in read.iter_parts()] == ["text/plain", "text/html"]
    text, html = bodies(read)
    assert name in text
    assert name in html
    assert read.get_boundary() != render(content("en")).get_boundary()
