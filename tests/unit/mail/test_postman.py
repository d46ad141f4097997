"""The postman re-checks every recipient against the address policy and builds ``To`` and the
SMTP envelope from the checked address only, against a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.smtp import SmtpSink
from twofactor.domain.alerts import AlertKind
from twofactor.domain.messages import AlertContent, CodeContent
from twofactor.domain.ports import UndeliverableAddress
from twofactor.mail.connections import SmtpConnections
from twofactor.mail.mailer import FileMailer, SmtpMailer
from twofactor.mail.postman import Postman
from twofactor.mail.rendering import AlertRenderer, MailIdentity
from twofactor.security.addresses import parse_email_address

IDENTITY = MailIdentity(
    sender="twofactor-api <alerts@example.com>",
    security_settings_url="https://example.com/security",
    support_contact="help@example.com",
)
IVAN_AT_PRIMER_RF = "\u0438\u0432\u0430\u043d@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444"


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def transport(sink: SmtpSink) -> Iterator[SmtpMailer]:
    # One mailer for the module: it keeps its connection to the sink between messages.
    mailer = SmtpMailer(SmtpConnections("127.0.0.1", sink.port, "none", None, timeout=5))
    yield mailer
    mailer.close()


def smtp_postman(transport: SmtpMailer) -> Postman:
    return Postman(AlertRenderer(IDENTITY), transport)


def code_for(address: str) -> CodeContent:
    return CodeContent(
        recipient_email=address, recipient_name="Ada", code="123456", valid_minutes=10, locale="en"
    )


def alert_for(address: str) -> AlertContent:
    return AlertContent(
        kind=AlertKind.TWO_FACTOR_REMOVED,
        method_label="Email codes",
        recipient_email=address,
        recipient_name="Ada",
        occurred_at=datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
        locale="en",
    )


UNUSABLE = [
    "ada@example.com, eve@elsewhere.example",
    "Eve <eve@elsewhere.example>",
    "ada@example.com\r\nBcc: eve@elsewhere.example",
    "ada@example.com\nSubject: forged",
    "ada\u200b@example.com",
]


@pytest.mark.parametrize("stored", UNUSABLE)
def test_a_code_to_an_unusable_address_is_undeliverable_and_nothing_reaches_the_server(
    sink: SmtpSink, transport: SmtpMailer, stored: str
) -> None:
    before = sink.message_count()

    with pytest.raises(UndeliverableAddress, match="not usable"):
        smtp_postman(transport).send_code(code_for(stored))

    assert sink.message_count() == before


@pytest.mark.parametrize("stored", UNUSABLE)
def test_an_alert_to_an_unusable_address_is_undeliverable_and_names_no_address(
    sink: SmtpSink, transport: SmtpMailer, stored: str
) -> None:
    before = sink.message_count()

    with pytest.raises(UndeliverableAddress) as refused:
        smtp_postman(transport).send_alert(alert_for(stored))

    assert "@" not in str(refused.value)
    assert sink.message_count() == before


def test_a_code_goes_to_the_normalized_address_only(sink: SmtpSink, transport: SmtpMailer) -> None:
    smtp_postman(transport).send_code(code_for("  Ada.Smtp@EXAMPLE.com "))

    [message] = sink.messages_to("Ada.Smtp@example.com")
    assert sink.envelope_recipients()[-1] == "Ada.Smtp@example.com"
    assert message["From"] == "twofactor-api <alerts@example.com>"


def test_an_internationalized_domain_is_mailed_in_its_ascii_form(
    sink: SmtpSink, transport: SmtpMailer
) -> None:
    smtp_postman(transport).send_alert(alert_for("ada@b\u00fccher.de"))

    assert sink.envelope_recipients()[-1] == "ada@xn--bcher-kva.de"
    assert len(sink.messages_to("ada@xn--bcher-kva.de")) == 1


def test_the_envelope_is_the_recipient_given_never_the_headers(
    sink: SmtpSink, transport: SmtpMailer
) -> None:
    # A message whose headers name other people: the transport must not ask the server to
    # deliver to them (smtplib would, if the recipients were taken from the headers).
    message = EmailMessage()
    message["From"] = "alerts@example.com"
    message["To"] = "ada-envelope@example.com, eve@elsewhere.example"
    message["Cc"] = "mallory@elsewhere.example"
    message["Subject"] = "Hello"
    message.set_content("Hello")

    transport.send(message, parse_email_address("ada-envelope@example.com"))

    assert sink.envelope_recipients()[-1:] == ["ada-envelope@example.com"]
    assert "eve@elsewhere.example" not in sink.envelope_recipients()
    assert "mallory@elsewhere.example" not in sink.envelope_recipients()


def test_an_internationalized_local_part_is_written_as_utf8_in_local_mode(tmp_path: Path) -> None:
    postman = Postman(AlertRenderer(IDENTITY), FileMailer(tmp_path))

    postman.send_code(code_for(IVAN_AT_PRIMER_RF))

    [path] = tmp_path.glob("*.eml")
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == IVAN_AT_PRIMER_RF


@pytest.mark.parametrize(
    "sender",
    [
        "alerts@example.com, eve@elsewhere.example",
        "alerts@example.com\r\nBcc: eve@elsewhere.example",
        "twofactor-api",
        "",
    ],
)
def test_mail_from_must_be_one_address_without_line_breaks(sender: str) -> None:
    with pytest.raises(ValueError, match="MAIL_FROM"):
        MailIdentity(sender=sender, security_settings_url="x", support_contact="y")


def test_mail_from_may_carry_a_display_name() -> None:
    identity = MailIdentity(
        sender="twofactor-api <no-reply@localhost>", security_settings_url="x", support_contact="y"
    )
    assert identity.sender == "twofactor-api <no-reply@localhost>"
