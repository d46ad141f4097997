"""The domain services composed over in-memory fakes by the real composition root
(``twofactor.wiring.compose_services``): a unit test gets the real flows, no server behind them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any

import pyotp

from tests.support.fakes import (
    FakeAllowlist,
    FakeAttemptCounter,
    FakeChangeCounts,
    FakeMail,
    FakeOutbox,
    FakePrincipals,
    FakeSessions,
    FakeStepUpAttempts,
    FrozenClock,
)
from tests.support.passwords import cheap_passwords
from twofactor.config import Settings
from twofactor.domain.accounts import Registration
from twofactor.domain.model import ClientInfo, RequestInfo, TotpState, TwoFactorMethod
from twofactor.domain.services import Services
from twofactor.security.keys import NamedKey
from twofactor.security.passwords import PasswordHasher
from twofactor.wiring import Adapters, compose_services

PASSWORD = "correct horse battery staple"
#: What a typical client says about itself and where it comes from, for the flows' origins.
CLIENT = ClientInfo(browser="Firefox", os="Linux")
REQUEST = RequestInfo(ip="203.0.113.7", user_agent="Mozilla/5.0 (X11; Linux x86_64)")
#: Real argon2id with argon2's cheapest parameters, built once: every kit shares it.
CHEAP_PASSWORDS = cheap_passwords()

SETTINGS = Settings(
    mongodb_uri="mongodb://unused.invalid",
    jwt_signing_keys=(NamedKey("kit-jwt", secrets.token_bytes(32)),),
    encryption_keys=(NamedKey("kit-enc", secrets.token_bytes(32)),),
    hash_key=secrets.token_bytes(32),
)


class AlwaysReady:
    def check(self) -> dict[str, bool]:
        return {}


@dataclass
class Kit:
    settings: Settings
    clock: FrozenClock
    principals: FakePrincipals
    outbox: FakeOutbox
    sessions: FakeSessions
    allowlist: FakeAllowlist
    attempts: FakeAttemptCounter
    step_ups: FakeStepUpAttempts
    mail: FakeMail
    passwords: PasswordHasher
    services: Services

    def register(self, email: str = "ada@example.com", name: str = "Ada") -> str:
        registration = Registration(email=email, password=PASSWORD, name=name)
        return self.services.accounts.register(registration, REQUEST).id


def build_kit(
    *, passwords: PasswordHasher | None = None, mail: bool = True, **settings: Any
) -> Kit:
    """Fresh fakes and services; ``settings`` override fields of ``Settings`` (alerts, TTLs).

    Passwords are hashed with cheap argon2 parameters unless ``passwords`` says otherwise.
    """
    configured = replace(SETTINGS, **settings)
    clock = FrozenClock()
    principals = FakePrincipals()
    kit = Kit(
        settings=configured,
        clock=clock,
        principals=principals,
        outbox=FakeOutbox(principals),
        sessions=FakeSessions(),
        allowlist=FakeAllowlist(),
        attempts=FakeAttemptCounter(),
        step_ups=FakeStepUpAttempts(principals),
        mail=FakeMail(),
        passwords=passwords or CHEAP_PASSWORDS,
        services=None,  # type: ignore[arg-type]  # composed below, over the fakes above
    )
    adapters = Adapters(
        principals=principals,
        sessions=kit.sessions,
        allowlist=kit.allowlist,
        attempts=kit.attempts,
        step_up_attempts=kit.step_ups,
        change_counts=FakeChangeCounts(principals),
        outbox=kit.outbox,
        mail=kit.mail if mail else None,
        readiness=AlwaysReady(),
    )
    kit.services = compose_services(configured, adapters, clock, kit.passwords)
    return kit


def over_principals(kit: Kit, principals: FakePrincipals) -> Kit:
    """``kit`` with its services composed again over ``principals`` (a fake that also plays
    another writer) and an outbox over them; the clock, sessions, mail and the rest stay."""
    outbox = FakeOutbox(principals)
    step_ups = FakeStepUpAttempts(principals)
    adapters = Adapters(
        principals=principals,
        sessions=kit.sessions,
        allowlist=kit.allowlist,
        attempts=kit.attempts,
        step_up_attempts=step_ups,
        change_counts=FakeChangeCounts(principals),
        outbox=outbox,
        mail=kit.mail,
        readiness=AlwaysReady(),
    )
    services = compose_services(kit.settings, adapters, kit.clock, kit.passwords)
    return replace(kit, principals=principals, outbox=outbox, step_ups=step_ups, services=services)


def user_with(kit: Kit, *methods: TwoFactorMethod, email: str = "ada@example.com") -> str:
    """A registered user with ``methods`` on (the first one preferred)."""
    user_id = kit.register(email=email)
    totp = TotpState(pyotp.random_base32(32), 0, ()) if TwoFactorMethod.TOTP in methods else None
    kit.principals.update(
        user_id, methods=methods, preferred_method=methods[0] if methods else None, totp=totp
    )
    return user_id
