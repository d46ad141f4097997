"""Wires the domain together from ``Settings`` and the injected side effects."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.config import Settings
from handlers.mail.catalogs import available_locales
from handlers.mail.mailer import mailer_for
from handlers.mail.rendering import AlertRenderer, MailIdentity
from handlers.services.accounts import AccountService
from handlers.services.alert_delivery import AlertDelivery
from handlers.services.alerts import AlertPolicy
from handlers.services.authentication import AuthenticationService
from handlers.services.clock import Clock
from handlers.services.crypto import EmailHasher, FieldCipher
from handlers.services.guard import SecurityChangeGuard
from handlers.services.passwords import PasswordHasher
from handlers.services.second_factors import SecondFactorService
from handlers.services.sessions import SessionService
from handlers.services.tokens import TokenService
from handlers.store.allowlist import AccessTokenAllowlist
from handlers.store.database import Stores
from handlers.store.outbox import AlertOutbox
from handlers.store.principals import PrincipalStore
from handlers.store.sessions import SessionStore


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
    cipher = FieldCipher(settings.encryption_keys)
    principals = PrincipalStore(stores.collections.principals, cipher)
    tokens = TokenService(
        settings.jwt_signing_keys,
        clock,
        access_ttl=settings.access_token_ttl,
        refresh_ttl=settings.refresh_token_ttl,
        step_up_ttl=settings.step_up_token_ttl,
    )
    passwords = PasswordHasher()
    email_hash = EmailHasher(settings.hash_key)
    sessions = SessionService(
        SessionStore(stores.collections.sessions),
        AccessTokenAllowlist(stores.collections.allowlist),
        principals,
        tokens,
        clock,
    )
    accounts = AccountService(principals, sessions, passwords, email_hash, clock)
    guard = SecurityChangeGuard(principals, passwords)
    mailer = mailer_for(settings)
    policy = AlertPolicy(
        email_enabled=mailer is not None,
        two_factor_removed=settings.security_alert_two_factor_removed,
        two_factor_added=settings.security_alert_two_factor_added,
    )
    alerts = AlertDelivery(
        AlertOutbox(stores.collections.principals),
        principals,
        AlertRenderer(
            MailIdentity(
                sender=settings.mail_from,
                security_settings_url=settings.security_settings_url,
                support_contact=settings.support_contact,
            )
        ),
        mailer,
        policy,
        clock,
    )
    return Services(
        settings=settings,
        clock=clock,
        stores=stores,
        tokens=tokens,
        sessions=sessions,
        accounts=accounts,
        authentication=AuthenticationService(
            principals, accounts, sessions, passwords, email_hash, tokens
        ),
        second_factors=SecondFactorService(
            principals,
            guard,
            sessions,
            clock,
            policy,
            alerts,
            settings.default_locale,
            available_locales(),
        ),
        alerts=alerts,
    )
