"""The mail server down (refusing connections), stalling (accepting them, never answering) or
slow at the moment of ``DELETE /api/auth/2fa/totp``: the change commits, the answer is 500
``POST_COMMIT_SIDE_EFFECT_FAILURE`` within ``SMTP_TIMEOUT`` or ``ALERT_SEND_WAIT`` (whichever
ends first), and the alert is delivered exactly once: by the retry once a mail server is back on
that address, or by the send still in progress, which the retry then leaves alone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from tests.integration.test_disable_totp import assert_problem, disable, methods_in_store
from tests.integration.test_second_factors import code_in
from tests.support.api import Api
from tests.support.secantus import free_port
from tests.support.smtp import SmtpSink
from twofactor.config import settings_to_environ

SMTP_TIMEOUT = 1
ALERT_SEND_WAIT = 1


@pytest.fixture
def mail_port() -> int:
    return free_port()


def stalling_server(port: int) -> socket.socket:
    """A socket that listens and never accepts: the kernel completes each connection, and the
    client then waits for a greeting that never comes (a hung or stopped mail server)."""
    return socket.create_server(("127.0.0.1", port), backlog=16)


def alert_status(api: Api, principal_id: str) -> str:
    status: str = api.document(principal_id)["alertOutbox"][0]["status"]
    return status


def wait_for_status(api: Api, principal_id: str, status: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while alert_status(api, principal_id) != status and time.monotonic() < deadline:
        time.sleep(0.05)
    return alert_status(api, principal_id)


def retry_alerts(api: Api) -> str:
    finished = subprocess.run(
        [sys.executable, "-m", "twofactor", "alerts", "retry"],
        env={**os.environ, **settings_to_environ(api.settings)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return finished.stdout


@pytest.mark.parametrize("outage", ["refusing connections", "stalling"])
def test_mail_server_out_at_disable_time_keeps_the_alert_and_the_retry_sends_it_once(
    start_api: Callable[..., Api], mail_port: int, outage: str
) -> None:
    api = start_api(smtp_port=mail_port, smtp_timeout=SMTP_TIMEOUT)
    account = api.account(("totp", "email"))
    # Refusing: nothing listens on the port.
    stall = stalling_server(mail_port) if outage == "stalling" else None
    try:
        started = time.monotonic()
        response = disable(api, account.headers())
        seconds = time.monotonic() - started
    finally:
        if stall is not None:
            stall.close()

    assert_problem(response, 500, "POST_COMMIT_SIDE_EFFECT_FAILURE")
    assert seconds < SMTP_TIMEOUT + 3
    assert methods_in_store(api, account) == ["email"]
    [alert] = api.document(account.id)["alertOutbox"]
    assert alert["status"] == "pending"

    sink = SmtpSink(port=mail_port).start()  # a working mail server at the same address
    try:
        first, second = retry_alerts(api), retry_alerts(api)
    finally:
        sink.stop()

    assert "1 sent" in first
    assert "0 sent" in second
    assert len(sink.messages_to(account.email)) == 1
    assert api.document(account.id)["alertOutbox"][0]["status"] == "sent"


def test_a_stalled_mail_server_costs_the_request_only_the_bounded_wait_and_the_retry_sends_once(
    start_api: Callable[..., Api], mail_port: int
) -> None:
    # SMTP_TIMEOUT far above the wait: what bounds the answer is ALERT_SEND_WAIT.
    api = start_api(smtp_port=mail_port, smtp_timeout=60, alert_send_wait=ALERT_SEND_WAIT)
    account = api.account(("totp", "email"))
    stall = stalling_server(mail_port)
    try:
        started = time.monotonic()
        response = disable(api, account.headers())
        seconds = time.monotonic() - started
        assert_problem(response, 500, "POST_COMMIT_SIDE_EFFECT_FAILURE")
        assert seconds < ALERT_SEND_WAIT + 2
        assert methods_in_store(api, account) == ["email"]
        # The send goes on and holds the alert's claim: a retry pass leaves it alone.
        assert alert_status(api, account.id) == "sending"
        assert "0 sent, 0 failed" in retry_alerts(api)
    finally:
        stall.close()  # the waiting connection is reset: the send in progress fails

    assert wait_for_status(api, account.id, "pending") == "pending"
    sink = SmtpSink(port=mail_port).start()
    try:
        first, second = retry_alerts(api), retry_alerts(api)
    finally:
        sink.stop()
    assert "1 sent" in first
    assert "0 sent" in second
    assert len(sink.messages_to(account.email)) == 1


def test_a_mail_server_slower_than_the_wait_gets_the_alert_once_from_the_send_in_progress(
    start_api: Callable[..., Api], mail_port: int
) -> None:
    sink = SmtpSink(port=mail_port).start()
    try:
        sink.data_delay = ALERT_SEND_WAIT + 1.5  # answers DATA, but after the wait
        api = start_api(smtp_port=mail_port, alert_send_wait=ALERT_SEND_WAIT)
        account = api.account(("totp", "email"))

        started = time.monotonic()
        response = disable(api, account.headers())
        seconds = time.monotonic() - started

        assert_problem(response, 500, "POST_COMMIT_SIDE_EFFECT_FAILURE")
        assert seconds < ALERT_SEND_WAIT + 1.5
        assert wait_for_status(api, account.id, "sent") == "sent"
        assert "0 sent" in retry_alerts(api)
        assert len(sink.messages_to(account.email)) == 1
        api.stop()  # before the sink: the service says QUIT on its kept connection
    finally:
        sink.stop()


@pytest.mark.parametrize("change", ["enable", "disable"])
def test_mail_server_refusing_when_email_codes_are_turned_on_or_off_keeps_the_alert_for_the_retry(
    start_api: Callable[..., Api], mail_port: int, change: str
) -> None:
    sink = SmtpSink(port=mail_port).start()
    try:
        api = start_api(smtp_port=mail_port, smtp_timeout=SMTP_TIMEOUT)
        account = api.account(("totp",) if change == "enable" else ("totp", "email"))
        if change == "enable":
            sent = api.http.post("/auth/2fa/email/send", headers=account.headers(step_up=False))
            assert sent.status_code == 200, sent.text
            code = code_in(sink.wait_for(account.email)[-1])
        sink.refusing = True  # a mail server that answers every message "try again later"

        if change == "enable":
            response = api.http.post(
                "/auth/2fa/email/enable", headers=account.headers(), json={"code": code}
            )
        else:
            response = api.http.delete("/auth/2fa/email", headers=account.headers())

        assert response.status_code == 500, response.text
        assert response.json()["code"] == "POST_COMMIT_SIDE_EFFECT_FAILURE"
        # Committed, and the alert kept for the retry.
        expected = ["totp", "email"] if change == "enable" else ["totp"]
        assert methods_in_store(api, account) == expected
        assert alert_status(api, account.id) == "pending"
        sink.refusing = False
        mailed = len(sink.messages_to(account.email))
        first, second = retry_alerts(api), retry_alerts(api)
    finally:
        sink.stop()

    assert "1 sent" in first
    assert "0 sent" in second
    assert len(sink.messages_to(account.email)) == mailed + 1
