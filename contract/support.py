"""What both contract runs share: throwaway keys, a seeded user and real credentials for it.

Second factors are written straight into the store (enabling them over HTTP for every generated
case would be slow), with the store's own builders: encrypted TOTP secret, hashed recovery
codes. Tokens are minted by the service's own ``TokenService`` and ``SessionService`` with the
keys the server under test runs with, so they are the real thing (signed, allowlisted, bound to
a session, carrying the principal's current step-up generation).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
from bson import ObjectId

from tests.support.passwords import cheap_passwords
from tests.support.seeding import enabled_methods_update
from twofactor.clock import SystemClock
from twofactor.config import Settings
from twofactor.domain.model import (
    ClientInfo,
    EmailCodeState,
    FactorState,
    RequestInfo,
    TotpState,
    TwoFactorMethod,
)
from twofactor.security.crypto import FieldCipher
from twofactor.security.keys import NamedKey
from twofactor.store.principals import PrincipalStore
from twofactor.wiring import Runtime, build_runtime

ROOT = Path(__file__).resolve().parent.parent
SPECIFICATION = ROOT / "openapi.yaml"
CONFIG_FILE = Path(__file__).resolve().parent / "schemathesis.toml"

# The spec's own example password: the explicit examples of login and step-up then really sign
# the seeded user in.
PASSWORD = "correct horse battery staple"
TOTP = TwoFactorMethod.TOTP.value
EMAIL = TwoFactorMethod.EMAIL.value
# Where a security change can go from each state: both -> 200, email only -> 304 (TOTP already
# disabled), TOTP only -> 400 (the only second factor).
METHOD_STATES: tuple[tuple[str, ...], ...] = ((TOTP, EMAIL), (EMAIL,), (TOTP,))
_CLIENT = ClientInfo(browser="schemathesis", os="contract")
_ORIGIN = RequestInfo(ip="127.0.0.1", user_agent="contract-seeder")


@dataclass(frozen=True)
class Keys:
    """Fresh random keys in the formats of the key variables (README "Configuration")."""

    jwt: NamedKey
    encryption: NamedKey
    hash_key: bytes

    @classmethod
    def generate(cls) -> Keys:
        return cls(
            jwt=NamedKey("contract-jwt", secrets.token_bytes(32)),
            encryption=NamedKey("contract-enc", secrets.token_bytes(32)),
            hash_key=secrets.token_bytes(32),
        )

    def environment(self) -> dict[str, str]:
        """The variables a server process needs to run with these keys."""
        return {
            "JWT_SIGNING_KEYS": f"{self.jwt.key_id}:{_b64(self.jwt.secret)}",
            "ENCRYPTION_KEYS": f"{self.encryption.key_id}:{_b64(self.encryption.secret)}",
            "HASH_KEY": _b64(self.hash_key),
        }

    def settings(self, mongodb_uri: str, database: str, smtp_port: int) -> Settings:
        return Settings(
            mongodb_uri=mongodb_uri,
            mongodb_database=database,
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_tls="none",
            jwt_signing_keys=(self.jwt,),
            encryption_keys=(self.encryption,),
            hash_key=self.hash_key,
        )


def new_database_name() -> str:
    return f"contract_{uuid.uuid4().hex[:10]}"


def new_email() -> str:
    return f"contract-{uuid.uuid4().hex[:12]}@example.com"


def _b64(secret: bytes) -> str:
    return base64.b64encode(secret).decode()


@dataclass(frozen=True)
class Tokens:
    """Real credentials of one session of the seeded user."""

    session_id: str
    access: str
    refresh: str
    step_up: str
    two_factor: str


class Seeder:
    """Direct access to the store of the server under test (same database, same keys)."""

    def __init__(self, settings: Settings) -> None:
        # Cheap argon2 parameters: the seeded hashes verify all the same under the server's own.
        self._runtime: Runtime = build_runtime(settings, SystemClock(), passwords=cheap_passwords())
        self._services = self._runtime.services
        self._collection = self._runtime.stores.collections.principals
        self._cipher = FieldCipher(settings.encryption_keys)
        self._principals = PrincipalStore(self._collection, self._cipher)
        hasher = cheap_passwords()
        # Hashed once: re-seeding happens for every generated case.
        self._recovery_hashes = [hasher.hash(f"contract-recovery-{n}") for n in range(2)]

    def close(self) -> None:
        self._runtime.close()

    def methods(self, principal_id: str) -> tuple[str, ...]:
        document = self._document(principal_id, {"twoFactor.methods": 1})
        return tuple(document.get("twoFactor", {}).get("methods", []))

    def set_methods(self, principal_id: str, methods: tuple[str, ...]) -> None:
        """Enable exactly ``methods`` (as a completed setup would), leaving the step-up generation
        alone so that outstanding step-up tokens keep their meaning."""
        states: dict[TwoFactorMethod, FactorState] = {}
        for name in methods:
            method = TwoFactorMethod(name)
            if method is TwoFactorMethod.TOTP:
                states[method] = TotpState(
                    secret=pyotp.random_base32(),
                    last_used_step=0,
                    recovery_code_hashes=tuple(self._recovery_hashes),
                )
            else:
                states[method] = EmailCodeState(enabled_at=SystemClock().now())
        update = enabled_methods_update(principal_id, states, self._cipher)
        self._collection.update_one({"_id": ObjectId(principal_id)}, update)

    def tokens(self, principal_id: str) -> Tokens:
        """A new session (allowlisted access token, refresh token) with a fresh step-up token
        for it and a 2FA-pending token."""
        principal = self._principals.get(principal_id)
        assert principal is not None, f"the seeded principal {principal_id} is gone"
        session = self._services.sessions.start(principal, _CLIENT, _ORIGIN)
        return Tokens(
            session_id=session.session_id,
            access=session.access.token,
            refresh=session.refresh.token,
            step_up=self.step_up(principal_id, session.session_id),
            two_factor=self._services.tokens.issue_two_factor(principal_id).token,
        )

    def step_up(self, principal_id: str, session_id: str) -> str:
        """A step-up token valid for the principal's current generation (i.e. not consumed)."""
        document = self._document(principal_id, {"stepUpGeneration": 1})
        generation = int(document.get("stepUpGeneration", 0))
        issued = self._services.tokens.issue_step_up(principal_id, session_id, ("pwd",), generation)
        return issued.token

    def _document(self, principal_id: str, projection: dict[str, int]) -> dict[str, Any]:
        found = self._collection.find_one({"_id": ObjectId(principal_id)}, projection)
        assert found is not None, f"the seeded principal {principal_id} is gone"
        return dict(found)
