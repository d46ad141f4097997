"""Long-lived SMTP connections against real servers: reused across mails, replaced when the
server closed them, over STARTTLS and implicit TLS with a private CA, and never over a
certificate the configured CA did not sign."""

from __future__ import annotations

import smtplib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.smtp import SmtpSink
from tests.support.tls import Pki, make_pki
from twofactor.mail.connections import SmtpConnections, tls_context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def sinks() -> Iterator[Callable[..., SmtpSink]]:
    started: list[SmtpSink] = []

    def start(**options: object) -> SmtpSink:
        started.append(SmtpSink(**options).start())  # type: ignore[arg-type]
        return started[-1]

    yield start
    for sink in started:
        sink.stop()


@pytest.fixture
def pools() -> Iterator[Callable[..., SmtpConnections]]:
    made: list[SmtpConnections] = []

    def make(sink: SmtpSink, tls: str = "none", ca_file: Path | None = None) -> SmtpConnections:
        context = None if tls == "none" else tls_context(ca_file)
        made.append(SmtpConnections("127.0.0.1", sink.port, tls, context, timeout=5))
        return made[-1]

    yield make
    for pool in made:
        pool.close()


def mail() -> tuple[EmailMessage, str]:
    recipient = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    message = EmailMessage()
    message["From"] = "alerts@example.com"
    message["To"] = recipient
    message["Subject"] = "Two-factor authentication was removed"
    message.set_content("TOTP was removed from your account.")
    return message, recipient


def test_ten_mails_go_over_one_connection(
    sinks: Callable[..., SmtpSink], pools: Callable[..., SmtpConnections]
) -> None:
    sink = sinks()
    before = sink.connections()
    pool = pools(sink)
    recipients = []
    for _ in range(10):
        message, recipient = mail()
        pool.send(message, recipient)
        recipients.append(recipient)
    assert sink.connections() - before == 1
    assert pool.opened == 1
    assert all(len(sink.messages_to(recipient)) == 1 for recipient in recipients)


def test_the_sends_of_a_pool_share_one_thread_that_watches_their_deadlines(
    sinks: Callable[..., SmtpSink], pools: Callable[..., SmtpConnections]
) -> None:
    sink = sinks()
    pool = pools(sink)
    watchers: set[int | None] = set()
    for _ in range(10):
        message, recipient = mail()
        pool.send(message, recipient)
        watchers |= {
            thread.ident
            for thread in threading.enumerate()
            if thread.name == f"smtp-deadlines-127.0.0.1:{sink.port}"
        }
    assert len(watchers) == 1


def test_a_send_after_an_idle_spell_still_ends_at_its_deadline(
    sinks: Callable[..., SmtpSink],
) -> None:
    sink = sinks()
    pool = SmtpConnections("127.0.0.1", sink.port, "none", None, timeout=5, deadline=1)
    try:
        pool.send(*mail())
        # Past that send's deadline, with nothing else to watch: the watchdog waits for its
        # idle end (5 s), later than the next send's deadline, so that send must wake it.
        time.sleep(1.5)
        sink.data_delay = 3  # answers the next mail after its one-second deadline
        message, recipient = mail()
        with pytest.raises(smtplib.SMTPServerDisconnected):
            pool.send(message, recipient)
        assert pool.idle == 0
    finally:
        pool.close()


def test_a_connection_the_server_closed_while_idle_is_replaced_and_the_mail_sent_once(
    sinks: Callable[..., SmtpSink], pools: Callable[..., SmtpConnections]
) -> None:
    sink = sinks(idle_timeout=0.3)
    pool = pools(sink)
    first, first_to = mail()
    pool.send(first, first_to)
    time.sleep(1)  # the server says 421 and closes the idle connection
    second, second_to = mail()
    pool.send(second, second_to)
    assert pool.opened == 2
    assert len(sink.messages_to(first_to)) == 1
    assert len(sink.messages_to(second_to)) == 1


def test_mails_sent_at_once_each_get_a_connection_and_at_most_the_kept_number_stay_open(
    sinks: Callable[..., SmtpSink],
) -> None:
    sink = sinks()
    sink.data_delay = 0.3  # long enough for the sends to overlap
    pool = SmtpConnections("127.0.0.1", sink.port, "none", None, timeout=5, kept=2)
    try:
        sent = [mail() for _ in range(4)]
        threads = [threading.Thread(target=pool.send, args=item) for item in sent]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert pool.opened == 4
        assert pool.idle == 2
        assert all(len(sink.messages_to(recipient)) == 1 for _, recipient in sent)
    finally:
        pool.close()
    assert pool.idle == 0


def test_a_connection_on_which_a_mail_failed_is_not_kept(
    sinks: Callable[..., SmtpSink], pools: Callable[..., SmtpConnections]
) -> None:
    sink = sinks()
    pool = pools(sink)
    sink.refusing = True
    with pytest.raises(Exception, match="451"):
        pool.send(*mail())
    assert pool.idle == 0
    sink.refusing = False
    message, recipient = mail()
    pool.send(message, recipient)
    assert pool.opened == 2
    assert len(sink.messages_to(recipient)) == 1


def test_a_connection_given_back_after_close_is_closed(
    sinks: Callable[..., SmtpSink], pools: Callable[..., SmtpConnections]
) -> None:
    sink = sinks()
    pool = pools(sink)
    pool.close()
    message, recipient = mail()
    pool.send(message, recipient)  # a send still in progress at shutdown completes
    assert pool.idle == 0
    assert len(sink.messages_to(recipient)) == 1


@pytest.mark.parametrize("tls", ["starttls", "tls"])
def test_mail_goes_over_tls_to_a_server_signed_by_the_configured_private_ca(
    sinks: Callable[..., SmtpSink], pools: Callable[..., SmtpConnections], pki: Pki, tls: str
) -> None:
    sink = sinks(tls=tls, context=pki.server_context())
    pool = pools(sink, tls, pki.ca_file)
    sent = [mail() for _ in range(3)]
    for message, recipient in sent:
        pool.send(message, recipient)
    assert pool.opened == 1
    assert all(len(sink.messages_to(recipient)) == 1 for _, recipient in sent)


@pytest.mark.parametrize("tls", ["starttls", "tls"])
def test_a_server_certificate_the_configured_ca_did_not_sign_is_refused(
    sinks: Callable[..., SmtpSink],
    pools: Callable[..., SmtpConnections],
    pki: Pki,
    tmp_path: Path,
    tls: str,
) -> None:
    sink = sinks(tls=tls, context=pki.server_context())
    other_ca = make_pki(tmp_path / "other").ca_file
    pool = pools(sink, tls, other_ca)
    message, recipient = mail()
    with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
        pool.send(message, recipient)
    assert sink.messages_to(recipient) == []
    assert pool.idle == 0


def test_a_tls_mode_without_a_context_is_a_wiring_error() -> None:
    with pytest.raises(ValueError, match="TLS context"):
        SmtpConnections("127.0.0.1", 25, "starttls", None, timeout=5)
