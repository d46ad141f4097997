"""The application under test, reached over HTTP, with direct database access for seeding.

By default the HTTP client calls the app in-process (Connexion's test client: the real ASGI app,
its lifespan and its middleware, without a socket). ``Api(..., live=True)`` serves it with uvicorn
on a loopback port instead, for the tests where the wire matters (requests racing each other
through a real server). ``Api(..., workers=2)`` runs ``twofactor serve`` with that many worker
processes, as an operator does (the real password hasher and clock then). Either way the client
is an ``httpx2.Client`` that keeps no cookies.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pyotp
from bson import ObjectId
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.monitoring import CommandListener

from tests.support.clock import MovableClock
from tests.support.live_server import LiveServer
from tests.support.passwords import cheap_passwords
from tests.support.seeding import enabled_methods_update
from tests.support.served import Served, serve_with
from twofactor.app import create_app
from twofactor.config import Settings
from twofactor.domain.model import EmailCodeState, FactorState, TotpState, TwoFactorMethod
from twofactor.security.crypto import FieldCipher

BASE_PATH = "/api"
# What the app sees as the client's address in-process: a loopback client, as over the socket.
IN_PROCESS_CLIENT = ("127.0.0.1", 50000)

PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    """A registered user signed in over HTTP, with a fresh step-up token."""

    id: str
    email: str
    access_token: str
    session_id: str
    step_up_token: str
    refresh_token: str
    password: str = PASSWORD
    recovery_codes: list[str] = field(default_factory=list)

    def headers(self, *, step_up: bool = True) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.access_token}"}
        if step_up:
            headers["X-Step-Up-Token"] = self.step_up_token
        return headers


class Api:
    def __init__(
        self,
        settings: Settings,
        clock: MovableClock | None = None,
        *,
        live: bool = False,
        workers: int = 0,
        log_path: Path | None = None,
        event_listeners: Sequence[CommandListener] = (),
    ) -> None:
        self.settings = settings
        self.clock = clock or MovableClock()
        self.live = live
        self.workers = workers
        self.log_path = log_path
        self.event_listeners = event_listeners
        self.served: Served | None = None
        # Real argon2id with cheap parameters: the server hashes and verifies with it, and the
        # seeding below hashes recovery codes with it.
        self.passwords = cheap_passwords()
        self.http: httpx2.Client
        assert settings.mongodb_uri
        self._mongo: MongoClient[dict[str, Any]] = MongoClient(
            settings.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=2_000
        )
        self.db: Database[dict[str, Any]] = self._mongo[settings.mongodb_database]
        self.cipher = FieldCipher(settings.encryption_keys)
        self._running = ExitStack()

    def start(self) -> Api:
        try:
            self.http = self._running.enter_context(self._client())
        except BaseException:
            self.stop()
            raise
        # A client that sends only the credentials a test gives it: it keeps no cookies. httpx2
        # stores every Set-Cookie before the response hooks run; forget them at once.
        http = self.http
        http.event_hooks["response"] = [lambda _response: http.cookies.clear()]
        return self

    def _client(self) -> httpx2.Client:
        if self.workers:
            assert self.log_path is not None, "a served process needs a log file"
            self.served = serve_with(self.settings, self.workers, self.log_path)
            self._running.callback(self.served.stop)
            return httpx2.Client(base_url=self.served.url, timeout=30)
        app = create_app(
            self.settings,
            clock=self.clock,
            passwords=self.passwords,
            validate_responses=True,
            event_listeners=self.event_listeners,
        )
        if self.live:
            server = LiveServer(app).start()
            self._running.callback(server.stop)
            return httpx2.Client(base_url=server.url + BASE_PATH, timeout=30)
        # Entering this client runs the app's lifespan (stores opened, alert-retry worker started)
        # on an event loop thread of its own, until the client is closed.
        client: httpx2.Client = app.test_client(
            base_url="http://testserver" + BASE_PATH,
            client=IN_PROCESS_CLIENT,
            follow_redirects=False,
        )
        return client

    def stop(self) -> None:
        self._running.close()
        self._mongo.close()

    # Flows through the public API ------------------------------------------------------------

    def register(self, name: str = "Ada Lovelace") -> tuple[str, str]:
        email = f"user-{uuid.uuid4().hex[:12]}@example.com"
        response = self.http.post(
            "/auth/register", json={"email": email, "password": PASSWORD, "name": name}
        )
        assert response.status_code == 201, response.text
        return response.json()["id"], email

    def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        response = self.http.post("/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def step_up(self, access_token: str, password: str = PASSWORD) -> str:
        response = self.http.post(
            "/auth/step-up",
            json={"password": password},
            headers={"Authorization": f"Bearer {access_token}"},
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["stepUpToken"]
        return token

    def account(self, methods: tuple[str, ...] = (), name: str = "Ada Lovelace") -> Account:
        """Register, sign in and step up over HTTP, then enable ``methods`` in the store.

        Second factors are seeded through the database: their HTTP setup arrives with the
        second-factors issue. The seeding does not touch the step-up generation, so the step-up
        token taken before stays valid, as it would after a real setup followed by a step-up.
        """
        principal_id, email = self.register(name)
        login = self.login(email)
        step_up = self.step_up(login["accessToken"])
        account = Account(
            id=principal_id,
            email=email,
            access_token=login["accessToken"],
            session_id=login["sessionId"],
            step_up_token=step_up,
            refresh_token=login["refreshToken"],
        )
        if methods:
            self.enable_methods(principal_id, methods)
        return account

    # Seeding and inspecting the store --------------------------------------------------------

    def enable_methods(self, principal_id: str, methods: tuple[str, ...]) -> None:
        """Enable exactly ``methods`` in the store (see ``tests.support.seeding``)."""
        states: dict[TwoFactorMethod, FactorState] = {}
        for name in methods:
            method = TwoFactorMethod(name)
            if method is TwoFactorMethod.TOTP:
                hashes = tuple(self.passwords.hash(f"recovery-{n}") for n in range(2))
                states[method] = TotpState(pyotp.random_base32(), 0, hashes, self.clock.now())
            else:
                states[method] = EmailCodeState(enabled_at=self.clock.now())
        update = enabled_methods_update(principal_id, states, self.cipher)
        self.principals.update_one({"_id": ObjectId(principal_id)}, update)

    def document(self, principal_id: str) -> dict[str, Any]:
        found = self.principals.find_one({"_id": ObjectId(principal_id)})
        assert found is not None
        return found

    @property
    def principals(self) -> Any:
        return self.db["principals"]
