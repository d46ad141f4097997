"""The whole public flow through a TypeScript client generated from openapi.yaml, against the live
server.

Every run generates the types anew with openapi-typescript (never committed, never patched),
compiles ``typescript/flow.ts`` with them under ``tsc --strict`` (a type error fails the test:
the spec must stay usable from a strictly typed client) and runs it with Node. The flow uses only
the generated types, openapi-fetch's documented options and the README's configuration; it asks
this harness, one JSON line at a time, for what a person would type in (a TOTP code, a mailed
code) and to wait out a cooldown (the server's clock is moved instead of sleeping).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pyotp
import pytest

from tests.support.api import PASSWORD, Api
from tests.support.smtp import SmtpSink

PROJECT = Path(__file__).resolve().parent / "typescript"
ROOT = PROJECT.parents[3]
README = ROOT / "README.md"
CODE_SUBJECT = "Your verification code"
# The flow takes about a second; a call that never answers must fail the test, not hang make test.
FLOW_DEADLINE_S = 120
# npm ci fetches from the registry on a fresh clone only; generate and build take seconds.
NPM_TIMEOUT_S = 600


def npm(*arguments: str) -> subprocess.CompletedProcess[str]:
    npm_binary = shutil.which("npm")
    assert npm_binary, "npm (Node.js) is needed to test the TypeScript client"
    return subprocess.run(
        [npm_binary, *arguments],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
        timeout=NPM_TIMEOUT_S,
    )


@pytest.fixture(scope="module")
def compiled_flow() -> Path:
    """``flow.ts`` compiled against types generated from today's openapi.yaml."""
    installed = PROJECT / "node_modules" / ".package-lock.json"
    lock = PROJECT / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        done = npm("ci", "--no-audit", "--no-fund")
        assert done.returncode == 0, done.stdout + done.stderr
    shutil.rmtree(PROJECT / "generated", ignore_errors=True)
    shutil.rmtree(PROJECT / "build", ignore_errors=True)
    for script in ("generate", "build"):
        done = npm("run", "--silent", script)
        assert done.returncode == 0, f"npm run {script}:\n{done.stdout}{done.stderr}"
    return PROJECT / "build" / "flow.js"


def mailed_codes(sink: SmtpSink, address: str) -> list[str]:
    codes = []
    for message in sink.messages_to(address):
        if message["Subject"] == CODE_SUBJECT:
            text = message.get_body(preferencelist=("plain",)).get_content()
            found = re.search(r"\b(\d{6})\b", text)
            assert found, text
            codes.append(found.group(1))
    return codes


class Harness:
    """Answers the flow's questions: TOTP codes at the server's clock, mailed codes, waits."""

    def __init__(self, live: Api, sink: SmtpSink) -> None:
        self.live, self.sink = live, sink

    def answer(self, question: dict[str, Any]) -> str:
        if "totp" in question:
            # Each code is single use: the next one is a time step later.
            self.live.clock.advance(30)
            return str(pyotp.TOTP(question["totp"]).at(self.live.clock.now().timestamp()))
        if "emailCode" in question:
            address, count = question["emailCode"], int(question["count"])
            self.sink.wait_for(address, count)
            codes = mailed_codes(self.sink, address)
            assert len(codes) == count, codes
            return codes[-1]
        if "wait" in question:
            self.live.clock.advance(int(question["wait"]))
            return "waited"
        raise AssertionError(f"an unknown question: {question}")


def converse(process: subprocess.Popen[str], harness: Harness) -> tuple[list[str], dict[str, Any]]:
    """Reads the flow's lines until it ends; the steps it went through and its final report."""
    assert process.stdin
    assert process.stdout
    steps: list[str] = []
    done: dict[str, Any] = {}
    for line in _lines(process.stdout):
        said = json.loads(line)
        if "ask" in said:
            process.stdin.write(harness.answer(said["ask"]) + "\n")
            process.stdin.flush()
        elif "step" in said:
            steps.append(said["step"])
        elif "done" in said:
            done = said["done"]
    return steps, done


def _lines(stream: IO[str]) -> Iterator[str]:
    yield from (line for line in iter(stream.readline, "") if line.strip())


def test_the_whole_public_flow_through_the_generated_typescript_client(
    compiled_flow: Path, live_api: Api, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed to run the TypeScript client"
    environment = {
        **os.environ,
        "TWOFACTOR_API_URL": str(live_api.http.base_url).rstrip("/"),
        "TWOFACTOR_PASSWORD": PASSWORD,
    }
    # Its errors go to a file: a pipe nobody reads while the flow talks could fill and block it.
    errors = tmp_path / "flow.stderr"
    with (
        errors.open("w") as stderr,
        subprocess.Popen(
            [node, str(compiled_flow)],
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        ) as process,
    ):
        # Killing the flow closes its stdout, which ends the conversation below.
        deadline = threading.Timer(FLOW_DEADLINE_S, process.kill)
        deadline.start()
        try:
            steps, done = converse(process, Harness(live_api, smtp_sink))
            status = process.wait()
        finally:
            deadline.cancel()
            process.kill()
    killed = f" (killed after {FLOW_DEADLINE_S} s)" if status == -signal.SIGKILL else ""
    assert status == 0, f"exit status {status}{killed} after {steps}:\n{errors.read_text()}"
    assert steps == [
        "register",
        "login",
        "TOTP setup",
        "2FA login",
        "email codes",
        "recovery",
        "the core operation",
        "a guest",
        "logout",
    ]
    # The 200 the client saw is in the database, and its alert reached the user in German.
    assert live_api.document(done["id"])["twoFactor"]["methods"] == ["email"]
    subjects = [str(message["Subject"]) for message in smtp_sink.messages_to(done["email"])]
    assert "Zwei-Faktor-Methode von Ihrem Konto entfernt" in subjects, subjects


def test_the_readme_snippet_is_the_one_the_flow_runs() -> None:
    section = README.read_text().split("## Generated clients", 1)[1]
    snippet = re.search(r"```ts\n(.*?)```", section, re.S)
    assert snippet, "README: no ts snippet under 'Generated clients'"
    flow = (PROJECT / "flow.ts").read_text()
    for line in snippet.group(1).strip().splitlines():
        assert line.strip() in flow, f"README line not in flow.ts: {line}"
