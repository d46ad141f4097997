"""Wires the domain together from ``Settings`` and the injected side effects."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.config import Settings
from handlers.mail.catalogs import available_locales
from handlers.mail.mailer import mailer_for
from handlers.mail.rendering import AlertRenderer, MailIdentity
from handlers.services.accounts import AccountService
from handlers.services.alert_delivery import AlertDelivery
from handlers.services.alerts import AlertComposer, AlertPolicy
from handlers.services.authentication import AuthenticationService
from handlers.services.clock import Clock
from handlers.services.crypto import EmailHasher, FieldCipher
from handlers.services.email_codes import EmailCodeService
from handlers.services.enrollment import EnrollmentService
from handlers.services.guard import SecurityChangeGuard
from handlers.services.passwords import PasswordHasher
from handlers.services.second_factors import SecondFactorService
from handlers.services.sessions import SessionService
from handlers.services.throttle import MAX_FAILURES_PER_ADDRESS, Throttle
from handlers.services.tokens import TokenService
from handlers.services.two_factor_auth import TwoFactorAuthService
from handlers.services.verification import SecondFactorVerifier
from handlers.store.allowlist import AccessTokenAllowlist
from handlers.store.database import Stores
from handlers.store.outbox import AlertOutbox
from handlers.store.principals import PrincipalStore
from handlers.store.sessions import SessionStore
from handlers.store.throttle import AttemptCounter


@dataclass(frozen=True)
class Services:
    settings: Settings
    clock: Clock
    stores: Stores
    tokens: TokenService
    sessions: SessionService
    accounts: AccountService
    authentication: AuthenticationService
    second_factors: SecondFactorService
    enrollment: EnrollmentService
    two_factor: TwoFactorAuthService
    email_codes: EmailCodeService
    alerts: AlertDelivery

    def readiness(self) -> bool:
        """True when every store answers a ping."""
        return self.stores.is_reachable()

    def close(self) -> None:
        self.stores.close()


def build_services(settings: Settings, clock: Clock) -> Services:
    if settings.mongodb_uri is None or not settings.has_keys:
        raise ValueError("settings must name a database and carry keys (see handlers.local_mode)")
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
    passwords = PasswordHasher()
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
    return Services(
        settings=settings,
        clock=clock,
        stores=stores,
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
