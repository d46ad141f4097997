"""The whole contract stage (``make contract``): both Schemathesis runs against openapi.yaml.

1. The in-process run: ``python -m pytest contract`` (the app through ASGI, fresh credentials for
   every generated case).
2. The live run: a SecantusDB, then the real server started as a user starts it
   (``twofactor-api serve``), a user registered and signed in over HTTP with TOTP and email
   seeded, then the Schemathesis CLI against ``http://127.0.0.1:PORT/api`` with that user's
   ``Authorization`` and ``X-Step-Up-Token`` headers.

Exits non-zero when either run fails or when the server log shows an unhandled error
(``Exception in ASGI application``, ``Traceback``): the CLI cannot see an error the server
raised after it had answered, which is exactly how a 304 with a body shows up.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contract.support import (
    CONFIG_FILE,
    EMAIL,
    PASSWORD,
    ROOT,
    SPECIFICATION,
    TOTP,
    Keys,
    Seeder,
    new_database_name,
    new_email,
)
from tests.support import responses_seen
from tests.support.secantus import SecantusServer, free_port
from tests.support.smtp import SmtpSink
from twofactor.config import Settings

BIN = Path(sys.executable).parent
SERVER_LOG = Path(__file__).resolve().parent / "live-server.log"
# The same seed and bound as the in-process run, passed on the command line for the log's reader.
_SHARED = tomllib.loads(CONFIG_FILE.read_text())
SEED: int = _SHARED["seed"]
MAX_EXAMPLES: int = _SHARED["generation"]["max-examples"]
STARTUP_TIMEOUT = 30.0
# Lines that mean the server raised after (or instead of) answering.
LOG_ALARMS = ("Exception in ASGI application", "Traceback")
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit))\b")
# Configuration variables (README "Configuration") this script decides; inherited values must not
# leak into the run.
_SERVICE_VARIABLES = (
    "MONGODB_URI",
    "MONGODB_DATABASE",
    "ALLOWLIST_MONGODB_URI",
    "DATA_DIR",
    "JWT_SIGNING_KEYS",
    "ENCRYPTION_KEYS",
    "HASH_KEY",
    "HOST",
    "PORT",
)
# Logging out ends the session the other operations are tested with, so it runs last, alone.
LOGOUT = "handlers.auth.logout"


@dataclass(frozen=True)
class Stage:
    name: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class SignedIn:
    principal_id: str
    access_token: str
    step_up_token: str


def main() -> int:
    started = time.monotonic()
    stages = [run_inprocess(), *run_live()]
    print_summary(stages, time.monotonic() - started)
    return 0 if all(stage.passed for stage in stages) else 1


# 1. In-process ------------------------------------------------------------------------------


def run_inprocess() -> Stage:
    banner("in-process run: pytest contract")
    command = [sys.executable, "-m", "pytest", "contract", "-q", "-p", "no:cacheprovider"]
    returncode = subprocess.call(command, cwd=ROOT)  # noqa: S603
    return Stage("in-process (pytest contract)", returncode == 0, f"exit code {returncode}")


# 2. Live ------------------------------------------------------------------------------------


def run_live(
    max_examples: int = MAX_EXAMPLES,
    settings: Mapping[str, str] | None = None,
    *,
    second_factors: bool = True,
) -> list[Stage]:
    """The live run; ``settings`` are configuration variables given to the server on top.
    ``second_factors``: the user whose tokens every request carries has TOTP and email on (a
    ``DELETE /auth/2fa/totp`` can answer 200), or none (its logins and step-ups answer tokens,
    so the stateful phase's links reach the TOTP setup)."""
    banner("live run: twofactor-api serve + schemathesis run")
    SERVER_LOG.unlink(missing_ok=True)
    try:
        stages = live_stages(max_examples, settings or {}, second_factors)
    except (RuntimeError, OSError, httpx.HTTPError) as error:
        stages = [Stage("live: set-up", False, f"{type(error).__name__}: {error}")]
    if SERVER_LOG.exists():
        responses_seen.record_log(SERVER_LOG)
    return [*stages, scan_server_log()]


def live_stages(
    max_examples: int, extra_settings: Mapping[str, str], second_factors: bool
) -> list[Stage]:
    keys = Keys.generate()
    database = SecantusServer().start()
    mail = SmtpSink().start()
    try:
        settings = keys.settings(database.uri, new_database_name(), mail.port)
        environment = {**server_environment(settings, keys), **extra_settings}
        port = free_port()
        with SERVER_LOG.open("w") as log, running_server(port, environment, log):
            base_url = f"http://127.0.0.1:{port}/api"
            user = sign_in(base_url)
            if second_factors:
                seed_second_factors(settings, user.principal_id)
            headers = {
                "Authorization": f"Bearer {user.access_token}",
                "X-Step-Up-Token": user.step_up_token,
            }
            return [
                run_cli(
                    "live: every operation but logout",
                    base_url,
                    headers,
                    max_examples,
                    exclude=LOGOUT,
                ),
                run_cli("live: logout", base_url, headers, max_examples, include=LOGOUT),
            ]
    finally:
        mail.stop()
        database.stop()


def server_environment(settings: Settings, keys: Keys) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k not in _SERVICE_VARIABLES}
    return {
        **inherited,
        **keys.environment(),
        "MONGODB_URI": str(settings.mongodb_uri),
        "MONGODB_DATABASE": settings.mongodb_database,
        "SMTP_HOST": str(settings.smtp_host),
        "SMTP_PORT": str(settings.smtp_port),
        "SMTP_TLS": settings.smtp_tls,
    }


@contextmanager
def running_server(port: int, environment: Mapping[str, str], log: IO[str]) -> Iterator[None]:
    """``twofactor-api serve --port PORT``, as a user runs it; stopped (SIGTERM) on exit."""
    command = [str(BIN / "twofactor-api"), "serve", "--port", str(port)]
    process = subprocess.Popen(  # noqa: S603
        command, env=dict(environment), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/api/health", process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}; see {SERVER_LOG}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {url} within {STARTUP_TIMEOUT:.0f} s")


def sign_in(base_url: str) -> SignedIn:
    """Register, log in and step up through the public API, before any second factor exists
    (afterwards a step-up needs a second-factor proof, which has no HTTP flow yet)."""
    email = new_email()
    with httpx.Client(base_url=base_url, timeout=30) as http:
        registered = http.post(
            "/auth/register", json={"email": email, "password": PASSWORD, "name": "Contract"}
        )
        registered.raise_for_status()
        login = http.post("/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
        access_token: str = login.json()["accessToken"]
        step_up = http.post(
            "/auth/step-up",
            json={"password": PASSWORD},
            headers={"Authorization": f"Bearer {access_token}"},
        )
        step_up.raise_for_status()
    return SignedIn(
        principal_id=registered.json()["id"],
        access_token=access_token,
        step_up_token=step_up.json()["stepUpToken"],
    )


def seed_second_factors(settings: Settings, principal_id: str) -> None:
    """TOTP and email enabled, so the first valid DELETE /auth/2fa/totp answers 200."""
    seeder = Seeder(settings)
    try:
        seeder.set_methods(principal_id, (TOTP, EMAIL))
    finally:
        seeder.close()


def run_cli(
    name: str,
    base_url: str,
    headers: Mapping[str, str],
    max_examples: int,
    *,
    include: str | None = None,
    exclude: str | None = None,
) -> Stage:
    banner(name)
    command = [
        str(BIN / "schemathesis"),
        "--config-file",
        str(CONFIG_FILE),
        "run",
        str(SPECIFICATION),
        "--url",
        base_url,
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--checks",
        "all",
        "--max-examples",
        str(max_examples),
        "--no-color",
    ]
    for header, value in headers.items():
        command += ["-H", f"{header}: {value}"]
    if include is not None:
        # A single operation has no links to follow: no stateful phase for it.
        command += ["--include-operation-id", include, "--phases", "examples,coverage,fuzzing"]
    if exclude is not None:
        command += ["--exclude-operation-id", exclude]
    returncode = subprocess.call(command, cwd=ROOT)  # noqa: S603
    return Stage(name, returncode == 0, f"exit code {returncode}")


def scan_server_log() -> Stage:
    if not SERVER_LOG.exists():
        return Stage("live: server log", False, f"{SERVER_LOG} was not written")
    lines = SERVER_LOG.read_text(errors="replace").splitlines()
    alarms = [line for line in lines if any(alarm in line for alarm in LOG_ALARMS)]
    if not alarms:
        return Stage("live: server log", True, f"no unhandled errors in {len(lines)} lines")
    # The last line of each traceback names the exception.
    raised = Counter(match[1] for line in lines if (match := _EXCEPTION_LINE.match(line)))
    names = ", ".join(f"{name} x{count}" for name, count in raised.most_common())
    return Stage("live: server log", False, f"{len(alarms)} alarm line(s): {names or alarms[0]}")


# Output ---------------------------------------------------------------------------------------


def banner(title: str) -> None:
    print(f"\n===== contract: {title} =====", flush=True)


def print_summary(stages: list[Stage], seconds: float) -> None:
    banner(f"summary ({seconds:.0f} s)")
    for stage in stages:
        print(f"  {'PASS' if stage.passed else 'FAIL'}  {stage.name}: {stage.detail}")
    print(f"  server log: {SERVER_LOG}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
