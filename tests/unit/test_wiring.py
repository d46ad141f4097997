"""The composition root: which mail the settings choose (SMTP, .eml files, or none)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.smtp import SmtpSink
from twofactor.config import Settings
from twofactor.domain.messages import CodeContent
from twofactor.mail.mailer import FileMailer, SmtpMailer
from twofactor.mail.postman import Postman
from twofactor.wiring import mail_for, smtp_tls_context


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def code_for(address: str) -> CodeContent:
    return CodeContent(
        recipient_email=address, recipient_name="Ada", code="123456", valid_minutes=10, locale="en"
    )


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param(Settings(email_enabled=False), id="local"),
        pytest.param(Settings(email_enabled=False, smtp_host="127.0.0.1"), id="smtp-host"),
        pytest.param(
            Settings(email_enabled=False, mongodb_uri="mongodb://x", embedded_database=True),
            id="embedded",
        ),
    ],
)
def test_no_mailer_when_email_is_disabled(settings: Settings) -> None:
    assert mail_for(settings) is None


def test_an_smtp_host_gives_an_smtp_mailer_that_delivers_there(sink: SmtpSink) -> None:
    settings = Settings(
        mongodb_uri="mongodb://db.example.com",
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        smtp_tls="none",
    )
    mail = mail_for(settings, smtp_tls_context(settings))
    assert isinstance(mail, Postman)
    assert isinstance(mail.transport, SmtpMailer)
    try:
        mail.send_code(code_for("ada-smtp@example.com"))
    finally:
        mail.transport.close()
    assert len(sink.wait_for("ada-smtp@example.com")) == 1


def test_an_smtp_host_wins_over_the_local_file_mailer(tmp_path: Path) -> None:
    settings = Settings(
        mongodb_uri="mongodb://127.0.0.1:27017",
        embedded_database=True,
        data_dir=tmp_path,
        smtp_host="127.0.0.1",
    )
    mail = mail_for(settings, smtp_tls_context(settings))
    assert isinstance(mail, Postman)
    assert isinstance(mail.transport, SmtpMailer)


def test_the_embedded_database_without_smtp_writes_mail_under_the_data_directory(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path).with_embedded_database("mongodb://127.0.0.1:27017")
    mail = mail_for(settings)
    assert isinstance(mail, Postman)
    assert isinstance(mail.transport, FileMailer)
    mail.send_code(code_for("ada@example.com"))
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1


def test_a_real_database_without_smtp_has_no_mailer(tmp_path: Path) -> None:
    # A deployment must not silently write users' mail to its disk.
    settings = Settings(mongodb_uri="mongodb://db.example.com", data_dir=tmp_path)
    assert mail_for(settings) is None
    assert not (tmp_path / "mail").exists()


def test_local_mode_before_its_database_started_has_no_mailer() -> None:
    assert mail_for(Settings()) is None


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param(Settings(smtp_host="smtp.example", smtp_tls="none"), id="tls-none"),
        pytest.param(Settings(smtp_tls="starttls"), id="no-smtp-host"),
        pytest.param(
            Settings(email_enabled=False, smtp_host="smtp.example", smtp_tls="tls"),
            id="email-off",
        ),
    ],
)
def test_no_tls_context_is_built_when_no_tls_connection_can_be_made(settings: Settings) -> None:
    assert smtp_tls_context(settings) is None


def test_a_tls_mode_builds_one_context_that_checks_certificates_and_host_names() -> None:
    context = smtp_tls_context(Settings(smtp_host="smtp.example", smtp_tls="starttls"))
    assert context is not None
    assert context.check_hostname is True
