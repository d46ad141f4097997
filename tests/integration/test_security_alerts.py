"""The security alert of DELETE /api/auth/2fa/totp, delivered to a real SMTP server: sent once
after the change, kept and retried when the mail server refuses or is down, never sent twice."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from tests.integration.test_disable_totp import assert_problem, disable, methods_in_store
from tests.support.api import Account, Api
from tests.support.smtp import SmtpSink
from twofactor.config import settings_to_environ
from twofactor.mail.catalogs import translations_for
from twofactor.wiring import build_runtime


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


@pytest.fixture
def own_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def alert_left_queued(
    start_api: Callable[..., Api], sink: SmtpSink, **settings: Any
) -> tuple[Api, Account]:
    """TOTP disabled while the SMTP server refused: the change committed, the alert queued."""
    api = start_api(smtp_port=sink.port, **settings)
    account = api.account(("totp", "email"))
    sink.refusing = True
    assert disable(api, account.headers()).status_code == 500
    sink.refusing = False
    return api, account


def test_disable_totp_sends_the_alert_to_the_user_once(api: Api, smtp_sink: SmtpSink) -> None:
    account = api.account(("totp", "email"))

    assert disable(api, account.headers()).status_code == 200

    [message] = smtp_sink.wait_for(account.email)
    assert message["Subject"] == "A two-factor method was removed from your account"
    assert message["Message-ID"]
    assert message["Date"]
    text, html = parts(message)
    assert "Authenticator app (TOTP) is no longer a second factor" in text
    assert account.email in text
    assert "127.0.0.1" in text
    assert api.settings.security_settings_url in html
    assert api.document(account.id)["alertOutbox"][0]["status"] == "sent"


@pytest.mark.parametrize(
    ("locale", "catalog"),
    [
        ("de", "de"),
        ("de-AT", "de"),
        ("fr-CA", "fr"),
        ("es", "es"),
        ("pt-BR", "pt_BR"),
        ("en", "en"),
    ],
)
def test_the_alert_is_written_in_the_requested_locale(
    api: Api, smtp_sink: SmtpSink, locale: str, catalog: str
) -> None:
    account = api.account(("totp", "email"))

    assert disable(api, account.headers(), locale=locale).status_code == 200

    [message] = smtp_sink.wait_for(account.email)
    gettext = translations_for(catalog).gettext
    assert message["Subject"] == gettext("A two-factor method was removed from your account")
    text, html = parts(message)
    assert gettext("Authenticator app (TOTP)") in text
    assert gettext("If this was you, there is nothing else to do.") in html
    assert api.document(account.id)["alertOutbox"][0]["locale"] == catalog


def test_without_locale_parameter_accept_language_decides(api: Api, smtp_sink: SmtpSink) -> None:
    account = api.account(("totp", "email"))

    response = disable(api, account.headers() | {"Accept-Language": "ja, es;q=0.8, en;q=0.5"})

    assert response.status_code == 200
    [message] = smtp_sink.wait_for(account.email)
    assert message["Subject"] == translations_for("es").gettext(
        "A two-factor method was removed from your account"
    )


def test_the_alert_shows_a_hostile_name_as_text(api: Api, smtp_sink: SmtpSink) -> None:
    account = api.account(("totp", "email"), name="<script>alert(1)</script>")

    assert disable(api, account.headers()).status_code == 200

    [message] = smtp_sink.wait_for(account.email)
    text, html = parts(message)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" in text


def test_the_alert_names_the_browser_and_system_of_the_session(
    api: Api, smtp_sink: SmtpSink
) -> None:
    principal_id, email = api.register()
    login = api.http.post(
        "/auth/login",
        json={
            "email": email,
            "password": "correct horse battery staple",
            "session": {"browser": "Firefox 140", "os": "Debian"},
        },
    ).json()
    step_up = api.step_up(login["accessToken"])
    api.enable_methods(principal_id, ("totp", "email"))

    response = disable(
        api, {"Authorization": f"Bearer {login['accessToken']}", "X-Step-Up-Token": step_up}
    )

    assert response.status_code == 200
    text, _ = parts(smtp_sink.wait_for(email)[0])
    assert "Firefox 140 / Debian" in text


def test_refused_alert_answers_500_post_commit_and_keeps_the_change_and_the_alert(
    start_api: Callable[..., Api], own_sink: SmtpSink
) -> None:
    api = start_api(smtp_port=own_sink.port)
    account = api.account(("totp", "email"))
    own_sink.refusing = True

    response = disable(api, account.headers())

    body = assert_problem(response, 500, "POST_COMMIT_SIDE_EFFECT_FAILURE")
    assert "saved" in body["detail"]
    assert "retried" in body["detail"]
    assert methods_in_store(api, account) == ["email"]
    [alert] = api.document(account.id)["alertOutbox"]
    assert alert["status"] == "pending"
    assert alert["attempts"] == 1
    assert alert["lastError"].startswith("SMTP")
    assert own_sink.messages_to(account.email) == []


def test_retrying_the_request_after_post_commit_failure_answers_304_without_a_second_alert(
    start_api: Callable[..., Api], own_sink: SmtpSink
) -> None:
    api, account = alert_left_queued(start_api, own_sink)
    fresh_step_up = api.http.post(
        "/auth/step-up",
        json={"password": account.password},
        headers={"Authorization": f"Bearer {account.access_token}"},
    )
    # Email is still on, so a fresh step-up needs the second factor: use the old token again.
    assert fresh_step_up.json()["twoFactorRequired"] is True

    reused = disable(api, account.headers())

    assert_problem(reused, 401, "STEP_UP_TOKEN_INVALID")
    assert len(api.document(account.id)["alertOutbox"]) == 1
    assert own_sink.messages_to(account.email) == []


def test_the_worker_sends_a_failed_alert_exactly_once_when_smtp_is_back(
    start_api: Callable[..., Api], own_sink: SmtpSink
) -> None:
    api, account = alert_left_queued(start_api, own_sink)
    workers = [build_runtime(api.settings, api.clock, passwords=api.passwords) for _ in range(4)]
    try:
        assert workers[0].services.alerts.deliver_due().sent == 0  # still backing off
        api.clock.advance(31)
        barrier = threading.Barrier(len(workers))

        def run(worker: Any) -> int:
            barrier.wait()
            sent: int = worker.services.alerts.deliver_due().sent
            return sent

        results: list[int] = []
        threads = [threading.Thread(target=lambda w=w: results.append(run(w))) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for worker in workers:
            worker.close()

    assert sum(results) == 1
    assert len(own_sink.wait_for(account.email)) == 1
    alert = api.document(account.id)["alertOutbox"][0]
    assert alert["status"] == "sent"
    assert alert["attempts"] == 2


def test_the_retry_command_sends_queued_alerts_once(
    start_api: Callable[..., Api], own_sink: SmtpSink
) -> None:
    api, account = alert_left_queued(start_api, own_sink)
    environ = {**os.environ, **settings_to_environ(api.settings)}

    def retry() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "twofactor", "alerts", "retry"],
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    first, second = retry(), retry()

    assert first.returncode == 0, first.stderr
    assert "1 sent" in first.stdout
    assert "0 sent" in second.stdout
    assert len(own_sink.messages_to(account.email)) == 1


def test_alert_kind_switched_off_after_queueing_is_dropped_and_recorded(
    start_api: Callable[..., Api], own_sink: SmtpSink
) -> None:
    api, account = alert_left_queued(start_api, own_sink)
    quiet = start_api(
        smtp_port=own_sink.port,
        security_alert_two_factor_removed=False,
        mongodb_database=api.settings.mongodb_database,
    )
    worker = build_runtime(quiet.settings, api.clock, passwords=api.passwords)
    try:
        report = worker.services.alerts.deliver_due(ignore_backoff=True)
    finally:
        worker.close()

    assert report.dropped == 1
    alert = api.document(account.id)["alertOutbox"][0]
    assert alert["status"] == "dropped"
    assert "switched off" in alert["reason"]
    assert own_sink.messages_to(account.email) == []


@pytest.mark.parametrize(
    "switched_off", [{"security_alert_two_factor_removed": False}, {"email_enabled": False}]
)
def test_no_alert_is_sent_when_switched_off(
    start_api: Callable[..., Api], own_sink: SmtpSink, switched_off: dict[str, bool]
) -> None:
    api = start_api(smtp_port=own_sink.port, **switched_off)
    account = api.account(("totp", "email"))

    assert disable(api, account.headers()).status_code == 200

    assert own_sink.wait_for(account.email, timeout=0.5) == []


def test_the_server_worker_retries_on_its_own(
    start_api: Callable[..., Api], own_sink: SmtpSink
) -> None:
    api, account = alert_left_queued(start_api, own_sink, alert_retry_interval=1)

    api.clock.advance(31)

    assert len(own_sink.wait_for(account.email, timeout=15)) == 1
    # The worker marks the alert sent just after the SMTP server accepted it.
    deadline = time.monotonic() + 10
    while api.document(account.id)["alertOutbox"][0]["status"] != "sent":
        assert time.monotonic() < deadline, api.document(account.id)["alertOutbox"]
        time.sleep(0.05)


def test_a_retry_with_a_fresh_step_up_answers_304_and_sends_no_second_alert(
    start_api: Callable[..., Api], own_sink: SmtpSink
) -> None:
    api, account = alert_left_queued(start_api, own_sink)
    # The committed change consumed the step-up token: prove the remaining factor again.
    challenge = api.http.post(
        "/auth/step-up",
        json={"password": account.password},
        headers={"Authorization": f"Bearer {account.access_token}"},
    ).json()
    pending = {"X-Two-Factor-Authentication-Token": challenge["twoFactorToken"]}
    assert api.http.post("/auth/2fa/email/send", headers=pending).status_code == 200
    [mailed] = own_sink.wait_for(account.email)
    code = next(word for word in parts(mailed)[0].split() if word.isdigit() and len(word) == 6)
    fresh = api.http.post(
        "/auth/2fa/step-up",
        json={"email": code},
        headers=pending | {"Authorization": f"Bearer {account.access_token}"},
    ).json()["stepUpToken"]

    retried = disable(
        api, {"Authorization": f"Bearer {account.access_token}", "X-Step-Up-Token": fresh}
    )

    assert retried.status_code == 304
    assert len(api.document(account.id)["alertOutbox"]) == 1
    subjects = [message["Subject"] for message in own_sink.messages_to(account.email)]
    assert "A two-factor method was removed from your account" not in subjects


def test_two_retry_commands_racing_send_the_alert_once(
    start_api: Callable[..., Api], own_sink: SmtpSink
) -> None:
    api, account = alert_left_queued(start_api, own_sink)
    environ = {**os.environ, **settings_to_environ(api.settings)}

    racers = [
        subprocess.Popen(
            [sys.executable, "-m", "twofactor", "alerts", "retry"],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [racer.communicate(timeout=60)[0] for racer in racers]

    assert all(racer.returncode == 0 for racer in racers)
    assert sorted(outputs) == [
        "alerts: 0 sent, 0 failed, 0 dropped\n",
        "alerts: 1 sent, 0 failed, 0 dropped\n",
    ]
    assert len(own_sink.messages_to(account.email)) == 1
