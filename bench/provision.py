"""Users for the scenarios, made over the public API, and seeded where the API is slow on purpose.

Passwords are hashed with argon2id at RFC 9106's parameters (about 0.3 to 0.7 s of CPU per hash
on a small machine), so each user made over HTTP costs several seconds: register, login and
step-up are one hash each, and confirming a TOTP setup hashes ten recovery codes. Hence:

* the **pool** (the users of the 304, login and step-up scenarios, TOTP off) is made over the API
  alone: register, login, password step-up;
* of the users of the **200** scenario (TOTP and email on, one fresh step-up each, consumed by
  the request), a few go through the whole public flow: TOTP setup (``GET`` then ``POST
  /auth/2fa/totp/setup``, the code computed with pyotp), a 2FA step-up with TOTP, email codes
  enabled with a code read at the SMTP sink, and a last 2FA step-up with TOTP. The rest are
  **seeded**: registered, signed in and stepped up by the service's own services in this process
  (the same documents, sessions, allowlist entries and tokens the API makes, with argon2's cheap
  parameters; the DELETE path only parses the password hash), then TOTP and email are enabled by
  the store's own update builder, as the test suite seeds factors.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import pyotp
from bson import ObjectId

from bench.http import Connection, Request, Response
from bench.sink import Mailbox
from tests.support.passwords import cheap_passwords
from tests.support.seeding import enabled_methods_update
from twofactor.clock import SystemClock
from twofactor.config import Settings
from twofactor.domain.accounts import Registration
from twofactor.domain.model import ClientInfo, EmailCodeState, RequestInfo, TotpState
from twofactor.domain.model import TwoFactorMethod as Method
from twofactor.security.crypto import FieldCipher
from twofactor.wiring import build_runtime

PASSWORD = "correct horse battery staple"
CODE_SUBJECT = "Your verification code"
T = TypeVar("T")


@dataclass(frozen=True)
class User:
    id: str
    email: str
    access: str
    step_up: str
    how: str  # "api" or "seeded"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}", "X-Step-Up-Token": self.step_up}


class ProvisioningError(RuntimeError):
    pass


class Progress:
    """A one-line progress bar on stderr (twenty lines here rather than one more dependency)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        if total:
            self._draw()

    def advance(self) -> None:
        self.done += 1
        self._draw()
        if self.done == self.total:
            sys.stderr.write("\n")

    def _draw(self) -> None:
        filled = 30 * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (30 - filled)
        sys.stderr.write(f"\r  {self.label:<34} [{bar}] {self.done}/{self.total}")
        sys.stderr.flush()


async def in_parallel(
    label: str, count: int, parallel: int, make: Callable[[Connection], Awaitable[T]], port: int
) -> list[T]:
    """``make`` run ``count`` times over ``parallel`` connections, with a progress bar."""
    if not count:
        return []
    progress = Progress(label, count)
    made: list[T] = []
    remaining = list(range(count))

    async def worker() -> None:
        connection = Connection("127.0.0.1", port)
        try:
            while remaining:
                remaining.pop()
                made.append(await make(connection))
                progress.advance()
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(min(parallel, count))))
    return made


async def _call(
    connection: Connection,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    expected: int = 200,
) -> Response:
    if body is None:
        request = Request(method, "/api" + path, tuple((headers or {}).items()))
    else:
        request = Request.json(method, "/api" + path, body, headers)
    response = await connection.send(request)
    if response.status != expected:
        raise ProvisioningError(f"{method} {path}: {response.status} {response.body[:300]!r}")
    return response


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def pool_user(connection: Connection) -> User:
    """Register, login and a password step-up, over HTTP: a user with TOTP off."""
    email = f"pool-{uuid.uuid4().hex[:12]}@example.com"
    registered = await _call(
        connection,
        "POST",
        "/auth/register",
        {"email": email, "password": PASSWORD, "name": "Pool User"},
        expected=201,
    )
    login = (
        await _call(connection, "POST", "/auth/login", {"email": email, "password": PASSWORD})
    ).json()
    step_up = await _call(
        connection, "POST", "/auth/step-up", {"password": PASSWORD}, _bearer(login["accessToken"])
    )
    return User(
        registered.json()["id"], email, login["accessToken"], step_up.json()["stepUpToken"], "api"
    )


class _TotpCodes:
    """Codes of successive time steps: the service accepts a step once, within one step of now."""

    def __init__(self, secret: str) -> None:
        self._totp = pyotp.TOTP(secret)
        self._last = -(10**9)

    async def next(self) -> str:
        while True:
            now = int(time.time()) // 30
            step = max(now - 1, self._last + 1)
            if step <= now + 1:
                self._last = step
                return str(self._totp.at(step * 30))
            await asyncio.sleep(1)


async def api_user(connection: Connection, mailbox: Mailbox) -> User:
    """A user with TOTP and email on and a fresh step-up, through the public API alone."""
    base = await pool_user(connection)
    access = _bearer(base.access)
    setup = (await _call(connection, "GET", "/auth/2fa/totp/setup", headers=base.headers())).json()
    codes = _TotpCodes(setup["secret"])
    await _call(
        connection,
        "POST",
        "/auth/2fa/totp/setup",
        {"token": setup["token"], "code": await codes.next()},
        base.headers(),
    )
    step_up = await _totp_step_up(connection, access, codes)
    await _call(connection, "POST", "/auth/2fa/email/send", headers=access)
    mails = await asyncio.to_thread(mailbox.wait_for, base.email, 1, CODE_SUBJECT)
    if not mails:
        raise ProvisioningError(f"no email code reached the sink for {base.email}")
    code = _code_in(mails[-1])
    enabled = await _call(
        connection,
        "POST",
        "/auth/2fa/email/enable",
        {"code": code},
        access | {"X-Step-Up-Token": step_up},
    )
    if enabled.json()["twoFactorMethods"] != ["totp", "email"]:
        raise ProvisioningError(f"email was not enabled: {enabled.body!r}")
    step_up = await _totp_step_up(connection, access, codes)
    return User(base.id, base.email, base.access, step_up, "api")


async def _totp_step_up(connection: Connection, access: dict[str, str], codes: _TotpCodes) -> str:
    challenge = (
        await _call(connection, "POST", "/auth/step-up", {"password": PASSWORD}, access)
    ).json()
    if not challenge.get("twoFactorRequired"):
        raise ProvisioningError(f"a step-up without 2FA for a user with TOTP: {challenge}")
    proof = await _call(
        connection,
        "POST",
        "/auth/2fa/step-up",
        {"totp": await codes.next()},
        access | {"X-Two-Factor-Authentication-Token": challenge["twoFactorToken"]},
    )
    token: str = proof.json()["stepUpToken"]
    return token


def _code_in(message: Any) -> str:
    found = re.search(r"\b(\d{6})\b", message.get_body(preferencelist=("plain",)).get_content())
    if found is None:
        raise ProvisioningError("no six-digit code in the email")
    return found.group(1)


def seeded_users(settings: Settings, count: int) -> list[User]:
    """``count`` users with TOTP and email on and a fresh step-up, made in this process."""
    if not count:
        return []
    progress = Progress("seeding (TOTP + email users)", count)
    runtime = build_runtime(
        replace(settings, mongodb_uri=_without_retryable_writes(settings)),
        SystemClock(),
        passwords=cheap_passwords(),
    )
    services, clock = runtime.services, SystemClock()
    cipher = FieldCipher(settings.encryption_keys)
    principals = runtime.stores.collections.principals
    # The recovery-code hashes are never checked by a DELETE: one pair serves every user.
    recovery = tuple(cheap_passwords().hash(f"recovery-{n}") for n in range(2))
    # No client address: seeding is not a client, so no per-address budget applies.
    origin = RequestInfo(ip=None, user_agent="bench")
    users: list[User] = []
    try:
        for _ in range(count):
            email = f"seeded-{uuid.uuid4().hex[:12]}@example.com"
            principal = services.accounts.register(
                Registration(email, PASSWORD, "Seeded User"), origin
            )
            signed_in = services.authentication.sign_in(email, PASSWORD, ClientInfo(), origin)
            assert signed_in.tokens is not None
            access = signed_in.tokens.access.token
            step_up = services.authentication.step_up(
                services.tokens.verify_access(access), PASSWORD
            )
            assert step_up.step_up is not None
            states = {
                Method.TOTP: TotpState(pyotp.random_base32(), 0, recovery, clock.now()),
                Method.EMAIL: EmailCodeState(enabled_at=clock.now()),
            }
            update = enabled_methods_update(principal.id, states, cipher)
            principals.update_one({"_id": ObjectId(principal.id)}, update)
            users.append(User(principal.id, email, access, step_up.step_up.token, "seeded"))
            progress.advance()
    finally:
        runtime.close()
    return users


def _without_retryable_writes(settings: Settings) -> str:
    """The database address for seeding, with retryable writes off.

    SecantusDB keeps a record of every retryable write for 30 minutes (up to 10,000) and scans
    all of them at each retryable write: the ten or so writes that seed each user would
    otherwise make every measured write pay for the seeding. Nothing here needs a retry: a
    failed seeding fails the run.
    """
    uri = settings.mongodb_uri
    assert uri is not None
    if "retryWrites=false" in uri:
        return uri
    return uri + ("&" if "?" in uri else "?") + "retryWrites=false"
