"""The application under test, reached over HTTP, with direct database access for seeding."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyotp
from bson import ObjectId
from pymongo import MongoClient
from pymongo.database import Database

from tests.support.clock import MovableClock
from tests.support.live_server import LiveServer
from twofactor.app import create_app
from twofactor.config import Settings
from twofactor.security.crypto import FieldCipher, sealed_context
from twofactor.security.passwords import PasswordHasher

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
    def __init__(self, settings: Settings, clock: MovableClock | None = None) -> None:
        self.settings = settings
        self.clock = clock or MovableClock()
        self.server = LiveServer(create_app(settings, clock=self.clock, validate_responses=True))
        self.http: httpx.Client
        assert settings.mongodb_uri
        self._mongo: MongoClient[dict[str, Any]] = MongoClient(
            settings.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=2_000
        )
        self.db: Database[dict[str, Any]] = self._mongo[settings.mongodb_database]
        self.cipher = FieldCipher(settings.encryption_keys)

    def start(self) -> Api:
        self.server.start()
        self.http = self.server.client()
        return self

    def stop(self) -> None:
        self.http.close()
        self.server.stop()
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
        update: dict[str, Any] = {
            "twoFactor.methods": list(methods),
            "twoFactor.preferred": methods[0],
        }
        if "totp" in methods:
            hasher = PasswordHasher()
            update["twoFactor.totp"] = {
                "secret": self.cipher.encrypt(
                    pyotp.random_base32(), sealed_context(principal_id, "totp.secret")
                ),
                "lastUsedStep": 0,
                "recoveryCodes": [hasher.hash(f"recovery-{n}") for n in range(2)],
            }
        if "email" in methods:
            update["twoFactor.email"] = {"enabledAt": self.clock.now()}
        self.principals.update_one({"_id": ObjectId(principal_id)}, {"$set": update})

    def document(self, principal_id: str) -> dict[str, Any]:
        found = self.principals.find_one({"_id": ObjectId(principal_id)})
        assert found is not None
        return found

    @property
    def principals(self) -> Any:
        return self.db["principals"]
