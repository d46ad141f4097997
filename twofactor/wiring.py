"""The composition root: builds the store, the mailer and the domain services from ``Settings``.

It is the one place that knows every concrete adapter; the domain only sees its ports.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from twofactor.clock import Clock
from twofactor.config import Settings
from twofactor.domain.accounts import AccountService
from twofactor.domain.alert_delivery import AlertDelivery
from twofactor.domain.alerts import AlertComposer, AlertPolicy
from twofactor.domain.authentication import AuthenticationService
from twofactor.domain.change_budget import ChangeBudget
from twofactor.domain.email_codes import EmailCodeService
from twofactor.domain.enrollment import EnrollmentService
from twofactor.domain.guard import SecurityChangeGuard
from twofactor.domain.metrics import NO_METRICS, Metrics
from twofactor.domain.ports import (
    AccessTokenAllowlist,
    AlertOutbox,
    AttemptCounter,
    PrincipalRepository,
    SecurityChangeCounter,
    SecurityMail,
    SessionRepository,
    StepUpAttemptCounter,
)
from twofactor.domain.readiness import ReadinessChecks
from twofactor.domain.second_factors import SecondFactorService
from twofactor.domain.security_change import ChangeRecorder
from twofactor.domain.services import Readiness, Services
from twofactor.domain.sessions import SessionService
from twofactor.domain.sign_in_throttle import SignInBudgets, SignInThrottle
from twofactor.domain.step_up_throttle import StepUpThrottle
from twofactor.domain.throttle import Budget, Throttle
from twofactor.domain.two_factor_auth import TwoFactorAuthService
from twofactor.domain.verification import SecondFactorVerifier
from twofactor.errors import TooManyAttempts, TooManyRequests
from twofactor.factors import registry as factor_registry
from twofactor.factors.email_codes import EmailCodeFactor
from twofactor.factors.totp import TotpSetupFlow
from twofactor.mail.catalogs import available_locales
from twofactor.mail.connections import SmtpConnections, tls_context
from twofactor.mail.mailer import FileMailer, Mailer, SmtpMailer
from twofactor.mail.postman import Postman
from twofactor.mail.probe import SmtpProbe
from twofactor.mail.rendering import AlertRenderer, MailIdentity
from twofactor.metrics import PrometheusMetrics
from twofactor.security.crypto import EmailHasher, FieldCipher
from twofactor.security.passwords import PasswordHasher
from twofactor.security.recovery_codes import RecoveryCodeHasher
from twofactor.security.tokens import TokenService
from twofactor.store.allowlist import AllowlistStore
from twofactor.store.change_counts import ChangeCountStore
from twofactor.store.database import CommandListeners, Stores
from twofactor.store.outbox import OutboxStore
from twofactor.store.principals import PrincipalStore
from twofactor.store.sessions import SessionStore
from twofactor.store.step_up_attempts import StepUpAttemptStore
from twofactor.store.throttle import AttemptStore

#: Alerts that requests send at once per process (each on its own thread and SMTP connection);
#: more wait their turn, within ``ALERT_SEND_WAIT``. A send mostly waits (for the mail server,
#: then for the write of its outcome): at 4, requests queued ~60 ms for a sender and the 200 path
#: stopped at about 4 sends per send duration (~100 a second on 2 cores, bench/README.md).
ALERT_SENDERS = 16


@dataclass(frozen=True)
class Runtime:
    """One process's service: its settings, its database connections and its use cases."""

    settings: Settings
    stores: Stores
    services: Services
    #: Called in this order by ``close``, before the database connections close.
    closers: tuple[Callable[[], None], ...] = ()

    def open(self, *, database_required: bool = True) -> bool:
        """Fail the start-up, not the first request, when the database is unreachable.

        Without ``database_required`` (a worker process that the server started, or restarted,
        after it checked the database itself) an outage is reported (False) instead: the worker
        serves, ``/ready`` answers 503 and requests 500 until the database is back.
        """
        return self.stores.open(required=database_required)

    def close(self) -> None:
        for close in self.closers:
            close()
        self.stores.close()


@dataclass(frozen=True)
class Adapters:
    """What the domain's ports are plugged into: MongoDB and SMTP here, fakes in unit tests."""

    principals: PrincipalRepository
    sessions: SessionRepository
    allowlist: AccessTokenAllowlist
    attempts: AttemptCounter
    step_up_attempts: StepUpAttemptCounter
    change_counts: SecurityChangeCounter
    outbox: AlertOutbox
    mail: SecurityMail | None
    readiness: Readiness
    metrics: Metrics = NO_METRICS
    #: Where requests send their alerts, so that they wait for it no longer than they should.
    alert_sender: Executor | None = None


def build_runtime(
    settings: Settings,
    clock: Clock,
    *,
    passwords: PasswordHasher | None = None,
    event_listeners: CommandListeners = (),
) -> Runtime:
    """Everything one process needs; ``passwords`` lets tests use cheap hashing parameters,
    ``event_listeners`` lets them count the database commands of a request."""
    if settings.mongodb_uri is None or not settings.has_keys:
        raise ValueError("settings must name a database and carry keys (see twofactor.local_mode)")
    stores = Stores(
        settings.mongodb_uri,
        settings.mongodb_database,
        settings.allowlist_mongodb_uri,
        timeout_seconds=settings.mongodb_timeout,
        event_listeners=event_listeners,
    )
    collections = stores.collections
    context = smtp_tls_context(settings)
    mail = mail_for(settings, context)
    sender = ThreadPoolExecutor(ALERT_SENDERS, thread_name_prefix="alert-send")
    adapters = Adapters(
        principals=PrincipalStore(collections.principals, FieldCipher(settings.encryption_keys)),
        sessions=SessionStore(collections.sessions),
        allowlist=AllowlistStore(collections.allowlist),
        attempts=AttemptStore(collections.attempts),
        step_up_attempts=StepUpAttemptStore(collections.principals),
        change_counts=ChangeCountStore(collections.principals),
        outbox=OutboxStore(collections.principals),
        mail=mail,
        readiness=readiness_for(settings, stores, context),
        metrics=PrometheusMetrics(),
        alert_sender=sender,
    )
    services = compose_services(settings, adapters, clock, passwords or PasswordHasher())
    # The sends in progress finish (and record their outcome in the database) before the
    # connections they use close; the ones not started stay queued for the retry worker.
    closers: list[Callable[[], None]] = [partial(sender.shutdown, wait=True, cancel_futures=True)]
    if mail is not None:
        closers.append(mail.transport.close)
    return Runtime(settings=settings, stores=stores, services=services, closers=tuple(closers))


def compose_services(
    settings: Settings, adapters: Adapters, clock: Clock, passwords: PasswordHasher
) -> Services:
    """The domain services over ``adapters``, configured by ``settings``."""
    principals = adapters.principals
    tokens = TokenService(
        settings.jwt_signing_keys,
        clock,
        issuer=settings.jwt_issuer,
        audiences=settings.jwt_audience,
        access_ttl=settings.access_token_ttl,
        refresh_ttl=settings.refresh_token_ttl,
        step_up_ttl=settings.step_up_token_ttl,
    )
    email_hash = EmailHasher(settings.hash_key)

    def throttle(budget: Budget, refusal: type[TooManyRequests] = TooManyAttempts) -> Throttle:
        return Throttle(adapters.attempts, clock, budget, refusal, adapters.metrics)

    codes_per_user = throttle(settings.throttle_two_factor_codes_per_user)
    sessions = SessionService(adapters.sessions, adapters.allowlist, principals, tokens, clock)
    accounts = AccountService(
        principals,
        sessions,
        passwords,
        email_hash,
        clock,
        registrations=throttle(settings.throttle_register_per_address, TooManyRequests),
        guests=throttle(settings.throttle_guests_per_address, TooManyRequests),
    )
    guard = SecurityChangeGuard(
        principals,
        passwords,
        ChangeBudget(
            adapters.change_counts,
            principals,
            clock,
            settings.throttle_security_changes_per_user,
            adapters.metrics,
        ),
    )
    recovery_codes = RecoveryCodeHasher(settings.hash_key, passwords)
    factors = factor_registry(principals, recovery_codes, settings.hash_key)
    verifier = SecondFactorVerifier(
        factors,
        EmailCodeFactor(principals, settings.hash_key),
        throttle(settings.throttle_two_factor_codes_per_token),
        codes_per_user,
        clock,
    )
    sign_in = SignInThrottle(
        SignInBudgets(
            per_account=throttle(settings.throttle_login_per_account),
            per_account_address=throttle(settings.throttle_login_per_account_address),
            per_address=throttle(settings.throttle_login_per_address),
        )
    )
    locales = available_locales()
    policy = AlertPolicy(
        email_enabled=adapters.mail is not None,
        two_factor_removed=settings.security_alert_two_factor_removed,
        two_factor_added=settings.security_alert_two_factor_added,
    )
    recorder = ChangeRecorder(
        sessions, AlertComposer(policy, settings.default_locale, locales), clock
    )
    labels = {method: factors[method].label for method in factors}
    alerts = AlertDelivery(
        adapters.outbox,
        principals,
        adapters.mail,
        policy,
        labels,
        clock,
        adapters.metrics,
        sender=adapters.alert_sender,
        send_wait=settings.alert_send_wait,
    )
    return Services(
        readiness=adapters.readiness,
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
            sign_in,
            StepUpThrottle(
                adapters.step_up_attempts,
                principals,
                clock,
                settings.throttle_step_up_per_user,
                adapters.metrics,
            ),
        ),
        second_factors=SecondFactorService(principals, guard, recorder, clock, alerts),
        enrollment=EnrollmentService(
            principals,
            guard,
            sessions,
            recorder,
            TotpSetupFlow(tokens, FieldCipher(settings.encryption_keys), recovery_codes),
            verifier,
            codes_per_user,
            alerts,
            clock,
            email_enabled=adapters.mail is not None,
        ),
        two_factor=TwoFactorAuthService(principals, sessions, tokens, verifier),
        email_codes=EmailCodeService(
            principals, adapters.mail, clock, settings.hash_key, settings.default_locale, locales
        ),
        alerts=alerts,
    )


def readiness_for(
    settings: Settings, stores: Stores, context: ssl.SSLContext | None = None
) -> Readiness:
    """Checks of the database, the allowlist's own deployment if any, and the SMTP server when
    email goes through one (local mode's ``.eml`` files need no check)."""
    checks = {"database": stores.database_reachable}
    if stores.separate_allowlist:
        checks["allowlist"] = stores.allowlist_reachable
    if settings.email_enabled and settings.smtp_host:
        checks["mail"] = SmtpProbe(
            settings.smtp_host, settings.smtp_port, settings.smtp_tls, context=context
        ).reachable
    return ReadinessChecks(checks)


def smtp_tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The one TLS context of the process's SMTP connections; ``None`` for ``SMTP_TLS=none``
    or without an SMTP server to talk to.

    Built once: loading a CA store costs more than sending a mail over a kept connection."""
    if not (settings.email_enabled and settings.smtp_host) or settings.smtp_tls == "none":
        return None
    return tls_context(settings.smtp_ca_file)


def mail_for(settings: Settings, context: ssl.SSLContext | None = None) -> Postman | None:
    """The configured mail, or ``None`` when email is off or has nowhere to go; ``context`` is
    the TLS context of ``SMTP_TLS=starttls`` or ``tls``."""
    if not settings.email_enabled:
        return None
    transport: Mailer
    if settings.smtp_host:
        transport = SmtpMailer(
            SmtpConnections(
                settings.smtp_host,
                settings.smtp_port,
                settings.smtp_tls,
                context,
                settings.smtp_username,
                settings.smtp_password,
                timeout=settings.smtp_timeout,
            )
        )
    elif settings.embedded_database:
        transport = FileMailer(settings.data_dir / "mail")
    else:
        return None
    identity = MailIdentity(
        sender=settings.mail_from,
        security_settings_url=settings.security_settings_url,
        support_contact=settings.support_contact,
    )
    return Postman(AlertRenderer(identity), transport)
