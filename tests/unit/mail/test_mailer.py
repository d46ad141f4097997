"""Delivering email: .eml files in local mode, and SMTP against a real server that accepts,
refuses or is not there."""

from __future__ import annotations

import gc
import uuid
import warnings
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.secantus import free_port
from tests.support.smtp import SmtpSink
from twofactor.domain.ports import MailDeliveryError
from twofactor.mail.connections import SmtpConnections, tls_context
from twofactor.mail.mailer import FileMailer, SmtpMailer
from twofactor.security.addresses import EmailAddress, parse_email_address

PASSWORD = "correct-horse-battery-staple-7f3a"


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    # This module's own server: making it refuse must not disturb the shared one.
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def refusing_sink(sink: SmtpSink) -> Iterator[SmtpSink]:
    sink.refusing = True
    yield sink
    sink.refusing = False


def new_message(subject: str = "Two-factor authentication was removed") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "twofactor-api <no-reply@example.com>"
    message["To"] = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    message["Subject"] = subject
    message.set_content("Hello Ada,\n\nTOTP was removed from your account.\n")
    message.add_alternative("<p>Hello Ada, TOTP was removed. Zoë ✓</p>", subtype="html")
    return message


def addressed(message: EmailMessage) -> tuple[EmailMessage, EmailAddress]:
    """The message and its one recipient, as the postman hands them to a transport."""
    return message, parse_email_address(message["To"])


MailerFactory = Callable[..., SmtpMailer]


@pytest.fixture
def smtp_mailer() -> Iterator[MailerFactory]:
    """SMTP mailers (``port``, ``tls``, credentials), closed after the test: they keep their
    connection open between messages."""
    made: list[SmtpMailer] = []

    def make(port: int, tls: str = "none", **credentials: str) -> SmtpMailer:
        context = None if tls == "none" else tls_context()
        connections = SmtpConnections("127.0.0.1", port, tls, context, timeout=5, **credentials)
        made.append(SmtpMailer(connections))
        return made[-1]

    yield make
    for mailer in made:
        mailer.close()


@pytest.fixture
def plain_smtp(smtp_mailer: MailerFactory) -> Callable[..., SmtpMailer]:
    def make(sink: SmtpSink, **credentials: str) -> SmtpMailer:
        return smtp_mailer(sink.port, **credentials)

    return make


# Files -------------------------------------------------------------------------------------


def read_eml(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_the_file_mailer_writes_each_message_as_an_eml_file(tmp_path: Path) -> None:
    mailer = FileMailer(tmp_path)
    first, second = new_message("First"), new_message("Second")
    mailer.send(*addressed(first))
    mailer.send(*addressed(second))
    files = sorted(tmp_path.iterdir())
    assert len(files) == 2
    assert all(path.suffix == ".eml" for path in files)
    written = {message["Subject"]: message for message in map(read_eml, files)}
    assert set(written) == {"First", "Second"}
    assert written["First"]["To"] == first["To"]
    assert written["Second"]["To"] == second["To"]


def test_an_eml_file_parses_back_to_the_same_message(tmp_path: Path) -> None:
    sent = new_message()
    FileMailer(tmp_path).send(*addressed(sent))
    (path,) = tmp_path.iterdir()
    read = read_eml(path)
    for header in ("From", "To", "Subject"):
        assert read[header] == sent[header]
    text = read.get_body(("plain",))
    html = read.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "TOTP was removed from your account." in text.get_content()
    assert "Zoë ✓" in html.get_content()


def test_the_file_mailer_creates_its_directory(tmp_path: Path) -> None:
    directory = tmp_path / "data" / "mail"
    FileMailer(directory).send(*addressed(new_message()))
    assert len(list(directory.glob("*.eml"))) == 1


def test_the_file_mailer_never_overwrites_a_message(tmp_path: Path) -> None:
    mailer = FileMailer(tmp_path)
    for _ in range(20):
        mailer.send(*addressed(new_message()))
    assert len(list(tmp_path.glob("*.eml"))) == 20


def test_a_file_mailer_that_cannot_write_raises_a_delivery_error(tmp_path: Path) -> None:
    blocker = tmp_path / "mail"
    blocker.write_text("a file where the directory should be")
    with pytest.raises(MailDeliveryError):
        FileMailer(blocker).send(*addressed(new_message()))


# SMTP --------------------------------------------------------------------------------------


def test_smtp_delivers_the_message_to_the_server(
    sink: SmtpSink, plain_smtp: Callable[..., SmtpMailer]
) -> None:
    sent = new_message()
    plain_smtp(sink).send(*addressed(sent))
    (received,) = sink.wait_for(sent["To"])
    assert received["Subject"] == sent["Subject"]
    assert received["From"] == sent["From"]
    html = received.get_body(("html",))
    assert html is not None
    assert "Zoë ✓" in html.get_content()


def test_a_refused_message_raises_a_delivery_error_with_the_reply_code(
    refusing_sink: SmtpSink,
    plain_smtp: Callable[..., SmtpMailer],
) -> None:
    sent = new_message()
    with pytest.raises(MailDeliveryError) as caught:
        plain_smtp(refusing_sink).send(*addressed(sent))
    assert "451" in str(caught.value)
    # The server's reply may quote the recipient: only the class and the code are kept.
    assert sent["To"] not in str(caught.value)
    assert refusing_sink.messages_to(sent["To"]) == []


def test_a_server_that_is_not_there_raises_a_delivery_error(smtp_mailer: MailerFactory) -> None:
    mailer = smtp_mailer(free_port())
    with pytest.raises(MailDeliveryError, match="ConnectionRefusedError"):
        mailer.send(*addressed(new_message()))


def test_a_failed_login_raises_a_delivery_error_without_the_password(
    sink: SmtpSink, plain_smtp: Callable[..., SmtpMailer]
) -> None:
    # The sink offers no AUTH over a plain connection, so the login cannot succeed.
    sent = new_message()
    mailer = plain_smtp(sink, username="ada", password=PASSWORD)
    with pytest.raises(MailDeliveryError) as caught:
        mailer.send(*addressed(sent))
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in repr(caught.value)
    assert sink.messages_to(sent["To"]) == []


def test_credentials_are_not_sent_without_a_password(
    sink: SmtpSink, plain_smtp: Callable[..., SmtpMailer]
) -> None:
    # A username alone means no login: the message goes out as to an open relay.
    sent = new_message()
    plain_smtp(sink, username="ada").send(*addressed(sent))
    assert len(sink.wait_for(sent["To"])) == 1


def test_starttls_refused_by_the_server_raises_a_delivery_error_and_sends_nothing(
    sink: SmtpSink,
    smtp_mailer: MailerFactory,
) -> None:
    # Never fall back to clear text when TLS was asked for.
    sent = new_message()
    mailer = smtp_mailer(sink.port, "starttls", username="ada", password=PASSWORD)
    with warnings.catch_warnings():
        # The connection this leaves open is the subject of the next test, not of this one.
        warnings.simplefilter("ignore", ResourceWarning)
        with pytest.raises(MailDeliveryError) as caught:
            mailer.send(*addressed(sent))
        message = str(caught.value)
        del caught
        gc.collect()
    assert PASSWORD not in message
    assert sink.messages_to(sent["To"]) == []


def test_a_failed_starttls_closes_its_connection(
    sink: SmtpSink, smtp_mailer: MailerFactory
) -> None:
    mailer = smtp_mailer(sink.port, "starttls")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(MailDeliveryError) as caught:
            mailer.send(*addressed(new_message()))
        del caught
        gc.collect()
    leaks = [str(warning.message) for warning in seen if warning.category is ResourceWarning]
    assert leaks == []


def test_implicit_tls_against_a_plain_server_raises_a_delivery_error(
    sink: SmtpSink, smtp_mailer: MailerFactory
) -> None:
    sent = new_message()
    with pytest.raises(MailDeliveryError):
        smtp_mailer(sink.port, "tls").send(*addressed(sent))
    assert sink.messages_to(sent["To"]) == []
