"""The SMTP readiness probe against a real SMTP server: connect, EHLO, NOOP, QUIT; the result
kept for a few seconds so that a flood of probes does not become a flood of connections."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.secantus import free_port
from tests.support.smtp import SmtpSink
from twofactor.mail.probe import SmtpProbe


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    running = SmtpSink().start()
    yield running
    running.stop()


def test_a_running_mail_server_is_reachable(sink: SmtpSink) -> None:
    assert SmtpProbe("127.0.0.1", sink.port, "none").reachable()


def test_a_closed_port_is_not_reachable() -> None:
    assert not SmtpProbe("127.0.0.1", free_port(), "none", timeout=1).reachable()


def test_a_tls_probe_of_a_server_that_speaks_no_tls_is_not_reachable(sink: SmtpSink) -> None:
    assert not SmtpProbe("127.0.0.1", sink.port, "tls", timeout=1).reachable()


def test_the_answer_is_kept_for_its_max_age_then_probed_again(sink: SmtpSink) -> None:
    ticks = Ticks()
    probe = SmtpProbe("127.0.0.1", sink.port, "none", max_age=5, monotonic=ticks)
    assert probe.reachable()

    sink.stop()
    ticks.now += 4.9
    assert probe.reachable()  # still the kept answer: no connection was made

    ticks.now += 0.2
    assert not probe.reachable()

    sink.start()
    ticks.now += 5
    assert probe.reachable()


def test_while_one_probe_waits_on_a_stalled_server_the_others_answer_at_once() -> None:
    # Accepts connections (the kernel's backlog) but never greets: each probe waits its timeout.
    with socket.socket() as stalled:
        stalled.bind(("127.0.0.1", 0))
        stalled.listen(8)
        ticks = Ticks()
        probe = SmtpProbe("127.0.0.1", stalled.getsockname()[1], "none", timeout=2, monotonic=ticks)
        assert not probe.reachable()  # the first answer: nothing to fall back on, so it waits
        ticks.now += 60
        waiting = threading.Thread(target=probe.reachable)
        waiting.start()
        time.sleep(0.3)  # the thread is now inside its probe

        started = time.monotonic()
        answer = probe.reachable()
        elapsed = time.monotonic() - started
        waiting.join()

    assert answer is False
    assert elapsed < 1
