"""The alert of ``DELETE /api/auth/2fa/totp`` over kept SMTP connections: over STARTTLS and
implicit TLS to a mail server signed by a private CA (``SMTP_CA_FILE``), one connection for
many alerts, a new one when the server closed the kept one, and no mail at all to a server whose
certificate that CA did not sign."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.test_disable_totp import assert_problem, disable, methods_in_store
from tests.support.api import Api
from tests.support.smtp import SmtpSink
from tests.support.tls import Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("mail-pki"))


@pytest.fixture
def sinks() -> Iterator[Callable[..., SmtpSink]]:
    """Mail servers stopped after the test; asked for before ``start_api``, so that the service
    (and its kept connections) stops first."""
    started: list[SmtpSink] = []

    def start(**options: object) -> SmtpSink:
        started.append(SmtpSink(**options).start())  # type: ignore[arg-type]
        return started[-1]

    yield start
    for sink in started:
        sink.stop()


@pytest.mark.parametrize("tls", ["starttls", "tls"])
def test_alerts_arrive_over_tls_from_a_private_ca_through_one_connection(
    sinks: Callable[..., SmtpSink], start_api: Callable[..., Api], pki: Pki, tls: str
) -> None:
    sink = sinks(tls=tls, context=pki.server_context())
    api = start_api(smtp_port=sink.port, smtp_tls=tls, smtp_ca_file=pki.ca_file)
    accounts = [api.account(("totp", "email")) for _ in range(3)]
    before = sink.connections()

    for account in accounts:
        assert disable(api, account.headers()).status_code == 200

    for account in accounts:
        assert len(sink.messages_to(account.email)) == 1  # 200: the alert is already there
        assert api.document(account.id)["alertOutbox"][0]["status"] == "sent"
    assert sink.connections() - before == 1


@pytest.mark.parametrize("tls", ["starttls", "tls"])
def test_a_mail_server_the_configured_ca_did_not_sign_gets_nothing_and_the_alert_stays_queued(
    sinks: Callable[..., SmtpSink],
    start_api: Callable[..., Api],
    pki: Pki,
    tmp_path: Path,
    tls: str,
) -> None:
    sink = sinks(tls=tls, context=pki.server_context())
    other_ca = make_pki(tmp_path / "other-ca").ca_file
    api = start_api(smtp_port=sink.port, smtp_tls=tls, smtp_ca_file=other_ca)
    account = api.account(("totp", "email"))

    assert_problem(disable(api, account.headers()), 500, "POST_COMMIT_SIDE_EFFECT_FAILURE")

    assert methods_in_store(api, account) == ["email"]
    [alert] = api.document(account.id)["alertOutbox"]
    assert alert["status"] == "pending"
    assert "SSLCertVerificationError" in alert["lastError"]
    assert sink.message_count() == 0


def test_after_the_mail_server_closed_the_idle_connection_the_next_alert_opens_a_new_one(
    sinks: Callable[..., SmtpSink], start_api: Callable[..., Api]
) -> None:
    sink = sinks(idle_timeout=0.3)
    api = start_api(smtp_port=sink.port)
    first, second = api.account(("totp", "email")), api.account(("totp", "email"))
    before = sink.connections()

    assert disable(api, first.headers()).status_code == 200
    time.sleep(1)  # the server says 421 and closes the kept connection
    assert disable(api, second.headers()).status_code == 200

    assert len(sink.messages_to(first.email)) == 1
    assert len(sink.messages_to(second.email)) == 1
    assert sink.connections() - before == 2
