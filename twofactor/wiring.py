"""The composition root: builds the store, the mailer and the domain services from ``Settings``.

It is the one place that knows every concrete adapter; the domain only sees its ports.
"""

from __future__ import annotations

from dataclasses import dataclass

from twofactor.clock import Clock
from twofactor.config import Settings
from twofactor.domain.accounts import AccountService
from twofactor.domain.alert_delivery import AlertDelivery
from twofactor.domain.alerts import AlertComposer, AlertPolicy
from twofactor.domain.authentication import AuthenticationService
from twofactor.domain.email_codes import EmailCodeService
from twofactor.domain.enrollment import EnrollmentService
from twofactor.domain.guard import SecurityChangeGuard
from twofactor.domain.second_factors import SecondFactorService
from twofactor.domain.services import Services
from twofactor.domain.sessions import SessionService
from twofactor.domain.throttle import MAX_FAILURES_PER_ADDRESS, Throttle
from twofactor.domain.two_factor_auth import TwoFactorAuthService
from twofactor.domain.verification import SecondFactorVerifier
from twofactor.mail.catalogs import available_locales
from twofactor.mail.mailer import mailer_for
from twofactor.mail.rendering import AlertRenderer, MailIdentity
from twofactor.security.crypto import EmailHasher, FieldCipher
from twofactor.security.passwords import PasswordHasher
from twofactor.security.tokens import TokenService
from twofactor.store.allowlist import AccessTokenAllowlist
from twofactor.store.database import Stores
from twofactor.store.outbox import AlertOutbox
from twofactor.store.principals import PrincipalStore
from twofactor.store.sessions import SessionStore
from twofactor.store.throttle import AttemptCounter


@dataclass(frozen=True)
class Runtime:
    """One process's service: its settings, its database connections and its use cases."""

    settings: Settings
    stores: Stores
    services: Services

    def open(self) -> None:
        """Fail the start-up, not the first request, when the database is unreachable."""
        self.stores.ping()
        self.stores.ensure_indexes()

    def close(self) -> None:
        self.stores.close()


def build_runtime(
    settings: Settings, clock: Clock, *, passwords: PasswordHasher | None = None
) -> Runtime:
    """Everything one process needs; ``passwords`` lets tests use cheap hashing parameters."""
    if settings.mongodb_uri is None or not settings.has_keys:
        raise ValueError("settings must name a database and carry keys (see twofactor.local_mode)")
    stores = Stores(settings.mongodb_uri, settings.mongodb_database, settings.allowlist_mongodb_uri)
    collections = stores.collections
    principals = PrincipalStore(collections.principals, FieldCipher(settings.encryption_keys))
    tokens = TokenService(
        settings.jwt_signing_keys,
        clock,
        access_ttl=settings.access_token_ttl,
        refresh_ttl=settings.refresh_token_ttl,
        step_up_ttl=settings.step_up_token_ttl,
    )
    passwords = passwords or PasswordHasher()
    email_hash = EmailHasher(settings.hash_key)
    counter = AttemptCounter(collections.attempts)
    throttle = Throttle(counter, clock)
    sessions = SessionService(
        SessionStore(collections.sessions),
        AccessTokenAllowlist(collections.allowlist),
        principals,
        tokens,
        clock,
    )
    accounts = AccountService(principals, sessions, passwords, email_hash, clock)
    guard = SecurityChangeGuard(principals, passwords)
    verifier = SecondFactorVerifier(principals, passwords, throttle, settings.hash_key, clock)
    mailer = mailer_for(settings)
    locales = available_locales()
    policy = AlertPolicy(
        email_enabled=mailer is not None,
        two_factor_removed=settings.security_alert_two_factor_removed,
        two_factor_added=settings.security_alert_two_factor_added,
    )
    composer = AlertComposer(policy, settings.default_locale, locales)
    renderer = AlertRenderer(
        MailIdentity(
            sender=settings.mail_from,
            security_settings_url=settings.security_settings_url,
            support_contact=settings.support_contact,
        )
    )
    alerts = AlertDelivery(
        AlertOutbox(collections.principals), principals, renderer, mailer, policy, clock
    )
    services = Services(
        readiness=stores,
        tokens=tokens,
        sessions=sessions,
        accounts=accounts,
        authentication=AuthenticationService(
            principals,
            accounts,
            sessions,
            passwords,
            email_hash,
            tokens,
            throttle,
            Throttle(counter, clock, max_failures=MAX_FAILURES_PER_ADDRESS),
        ),
        second_factors=SecondFactorService(principals, guard, sessions, clock, composer, alerts),
        enrollment=EnrollmentService(
            principals,
            guard,
            sessions,
            tokens,
            passwords,
            verifier,
            throttle,
            alerts,
            composer,
            clock,
        ),
        two_factor=TwoFactorAuthService(principals, sessions, tokens, verifier),
        email_codes=EmailCodeService(
            principals,
            mailer,
            renderer,
            clock,
            settings.hash_key,
            settings.default_locale,
            locales,
        ),
        alerts=alerts,
    )
    return Runtime(settings=settings, stores=stores, services=services)
