"""Settings, read once from the environment at start-up.

Nothing else in the service reads ``os.environ``: every other module receives a ``Settings``.
A missing or invalid value stops the start-up with a message that names the variable.

Every variable is one row of ``VARIABLES``: its name, the ``Settings`` field it fills and its
``Kind`` (how the text is checked, parsed and written back: ``config.kinds``). The reader
(``load_settings``), the exporter to worker processes (``settings_to_environ``) and the tests
all walk this one table, so they cannot drift apart. An unset or blank variable keeps the
``Settings`` default, which is therefore the only place a default is written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, get_args

from twofactor.config.kinds import (
    Base64Secret,
    Boolean,
    BudgetKind,
    CertificateFile,
    Choice,
    ClaimName,
    ClaimNames,
    ConfigError,
    DirectoryPath,
    Integer,
    Kind,
    LocaleName,
    NamedKeys,
    Password,
    Text,
)
from twofactor.domain.throttle import Budget
from twofactor.security.keys import NamedKey

__all__ = [
    "VARIABLES",
    "Base64Secret",
    "Boolean",
    "BudgetKind",
    "CertificateFile",
    "Choice",
    "ClaimName",
    "ClaimNames",
    "ConfigError",
    "DirectoryPath",
    "Integer",
    "Kind",
    "LocaleName",
    "NamedKeys",
    "Password",
    "Settings",
    "Text",
    "Variable",
    "export_to_environment",
    "load_settings",
    "load_settings_from_environment",
    "settings_to_environ",
]

SmtpTls = Literal["none", "starttls", "tls"]
LogFormat = Literal["json", "text"]

#: The usual port of each TLS mode: the SMTP_PORT of an environment that does not set it.
_SMTP_PORTS: dict[SmtpTls, int] = {"none": 25, "starttls": 587, "tls": 465}


@dataclass(frozen=True)
class Settings:
    # A connection string may carry a database password: kept out of reprs and logs.
    mongodb_uri: str | None = field(default=None, repr=False)
    mongodb_database: str = "twofactor"
    allowlist_mongodb_uri: str | None = field(default=None, repr=False)
    data_dir: Path = Path("data")
    #: The first key signs, all verify. Empty only before local mode generated its keys.
    jwt_signing_keys: tuple[NamedKey, ...] = ()
    #: The first key encrypts, all decrypt.
    encryption_keys: tuple[NamedKey, ...] = ()
    hash_key: bytes = field(default=b"", repr=False)
    access_token_ttl: int = 900
    step_up_token_ttl: int = 300
    refresh_token_ttl: int = 30 * 24 * 3600
    email_enabled: bool = True
    smtp_host: str | None = None
    #: Read from the environment, an unset port follows ``smtp_tls`` (see ``_SMTP_PORTS``).
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_tls: SmtpTls = "starttls"
    mail_from: str = "twofactor-api <no-reply@localhost>"
    security_alert_two_factor_removed: bool = True
    security_alert_two_factor_added: bool = True
    default_locale: str = "en"
    cookie_secure: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    security_settings_url: str = "http://127.0.0.1:8000/api/ui/"
    support_contact: str = "support@localhost"
    alert_retry_interval: int = 60
    #: The largest request body accepted, in bytes (413 beyond it, before parsing).
    max_body_size: int = 64 * 1024
    #: The ``iss`` of every token issued, and the only one accepted.
    jwt_issuer: str = "twofactor-api"
    #: The first is the ``aud`` of every token issued; a token naming any of them is accepted.
    jwt_audience: tuple[str, ...] = ("twofactor-api",)
    #: Addresses (comma-separated IPs or CIDRs, ``*`` for any) of the reverse proxies whose
    #: ``X-Forwarded-For`` names the client; unset: the header is ignored, the peer is the client.
    trusted_proxies: str | None = None
    # Throttling budgets (see the README, "Throttling"): attempts per key per window.
    throttle_login_per_account: Budget = Budget(20, timedelta(minutes=15))
    throttle_login_per_account_address: Budget = Budget(5, timedelta(minutes=15))
    throttle_login_per_address: Budget = Budget(100, timedelta(minutes=15))
    throttle_step_up_per_user: Budget = Budget(5, timedelta(minutes=15))
    throttle_two_factor_codes_per_token: Budget = Budget(5, timedelta(minutes=15))
    throttle_two_factor_codes_per_user: Budget = Budget(5, timedelta(minutes=15))
    throttle_security_changes_per_user: Budget = Budget(20, timedelta(hours=1))
    throttle_register_per_address: Budget = Budget(20, timedelta(hours=1))
    throttle_guests_per_address: Budget = Budget(60, timedelta(hours=1))
    #: Seconds an idle connection stays open after a response (uvicorn's keep-alive timeout).
    keep_alive_timeout: int = 5
    #: Open connections (or requests in progress) per worker beyond which uvicorn answers 503.
    max_connections: int = 1000
    #: Seconds a database operation may take before it fails (``DATABASE_FAILURE``).
    mongodb_timeout: int = 5
    #: Seconds each exchange with the SMTP server may take before the send fails (and is retried).
    smtp_timeout: int = 10
    #: A PEM file of the CAs that sign the mail server's certificate (a private CA); unset: the
    #: system's CA store. Only these are trusted when it is set.
    smtp_ca_file: Path | None = None
    #: Seconds a request waits for its alert to be sent before answering 500
    #: ``POST_COMMIT_SIDE_EFFECT_FAILURE`` (the send goes on, the retry worker takes over).
    alert_send_wait: int = 5
    #: Set by local mode once it started its own database (``MONGODB_URI`` is then filled in).
    embedded_database: bool = False
    #: One JSON object per log line (for log collectors), or plain text for a terminal.
    log_format: LogFormat = "json"
    #: Serve ``GET /api/metrics`` (Prometheus text format).
    metrics_enabled: bool = True
    #: Where the worker processes of ``serve --workers N`` share their metrics (set by ``serve``).
    metrics_dir: Path | None = None

    @property
    def local_mode(self) -> bool:
        """No ``MONGODB_URI``: the service runs its own embedded database under ``DATA_DIR``."""
        return self.mongodb_uri is None

    @property
    def has_keys(self) -> bool:
        return bool(self.jwt_signing_keys and self.encryption_keys and self.hash_key)

    def with_keys(
        self, jwt_keys: tuple[NamedKey, ...], encryption_keys: tuple[NamedKey, ...], hash_key: bytes
    ) -> Settings:
        return replace(
            self, jwt_signing_keys=jwt_keys, encryption_keys=encryption_keys, hash_key=hash_key
        )

    def with_embedded_database(self, mongodb_uri: str) -> Settings:
        return replace(self, mongodb_uri=mongodb_uri, embedded_database=True)


# The table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """One environment variable: the ``Settings`` field it fills and how its text is read."""

    name: str
    field: str
    kind: Kind[Any]
    #: Required when ``MONGODB_URI`` is set. Local mode generates the keys, but against a real
    #: deployment generated keys would silently differ per process.
    required: bool = False
    #: Set by the service for its own worker processes, not by operators (not in the README).
    internal: bool = False


VARIABLES: tuple[Variable, ...] = (
    Variable("MONGODB_URI", "mongodb_uri", Text()),
    Variable("MONGODB_DATABASE", "mongodb_database", Text()),
    Variable("ALLOWLIST_MONGODB_URI", "allowlist_mongodb_uri", Text()),
    Variable("DATA_DIR", "data_dir", DirectoryPath()),
    Variable("JWT_SIGNING_KEYS", "jwt_signing_keys", NamedKeys(min_length=32), required=True),
    Variable("ENCRYPTION_KEYS", "encryption_keys", NamedKeys(exact_length=32), required=True),
    Variable("HASH_KEY", "hash_key", Base64Secret(min_length=32), required=True),
    Variable("ACCESS_TOKEN_TTL", "access_token_ttl", Integer(30, 86_400)),
    Variable("STEP_UP_TOKEN_TTL", "step_up_token_ttl", Integer(30, 3_600)),
    Variable("REFRESH_TOKEN_TTL", "refresh_token_ttl", Integer(60, 365 * 24 * 3600)),
    Variable("EMAIL_ENABLED", "email_enabled", Boolean()),
    Variable("SMTP_HOST", "smtp_host", Text()),
    Variable("SMTP_PORT", "smtp_port", Integer(1, 65_535)),
    Variable("SMTP_USERNAME", "smtp_username", Text()),
    Variable("SMTP_PASSWORD", "smtp_password", Password()),
    Variable("SMTP_TLS", "smtp_tls", Choice(get_args(SmtpTls))),
    Variable("MAIL_FROM", "mail_from", Text()),
    Variable("SECURITY_ALERT_TWO_FACTOR_REMOVED", "security_alert_two_factor_removed", Boolean()),
    Variable("SECURITY_ALERT_TWO_FACTOR_ADDED", "security_alert_two_factor_added", Boolean()),
    Variable("DEFAULT_LOCALE", "default_locale", LocaleName()),
    Variable("COOKIE_SECURE", "cookie_secure", Boolean()),
    Variable("HOST", "host", Text()),
    Variable("PORT", "port", Integer(0, 65_535)),
    Variable("SECURITY_SETTINGS_URL", "security_settings_url", Text()),
    Variable("SUPPORT_CONTACT", "support_contact", Text()),
    Variable("ALERT_RETRY_INTERVAL", "alert_retry_interval", Integer(1, 86_400)),
    Variable("MAX_BODY_SIZE", "max_body_size", Integer(1_024, 10 * 1024 * 1024)),
    Variable("JWT_ISSUER", "jwt_issuer", ClaimName()),
    Variable("JWT_AUDIENCE", "jwt_audience", ClaimNames()),
    Variable("TRUSTED_PROXIES", "trusted_proxies", Text()),
    Variable("THROTTLE_LOGIN_PER_ACCOUNT", "throttle_login_per_account", BudgetKind()),
    Variable(
        "THROTTLE_LOGIN_PER_ACCOUNT_ADDRESS", "throttle_login_per_account_address", BudgetKind()
    ),
    Variable("THROTTLE_LOGIN_PER_ADDRESS", "throttle_login_per_address", BudgetKind()),
    Variable("THROTTLE_STEP_UP_PER_USER", "throttle_step_up_per_user", BudgetKind()),
    Variable(
        "THROTTLE_TWO_FACTOR_CODES_PER_TOKEN", "throttle_two_factor_codes_per_token", BudgetKind()
    ),
    Variable(
        "THROTTLE_TWO_FACTOR_CODES_PER_USER", "throttle_two_factor_codes_per_user", BudgetKind()
    ),
    Variable(
        "THROTTLE_SECURITY_CHANGES_PER_USER", "throttle_security_changes_per_user", BudgetKind()
    ),
    Variable("THROTTLE_REGISTER_PER_ADDRESS", "throttle_register_per_address", BudgetKind()),
    Variable("THROTTLE_GUESTS_PER_ADDRESS", "throttle_guests_per_address", BudgetKind()),
    Variable("KEEP_ALIVE_TIMEOUT", "keep_alive_timeout", Integer(1, 600)),
    Variable("MAX_CONNECTIONS", "max_connections", Integer(1, 100_000)),
    Variable("MONGODB_TIMEOUT", "mongodb_timeout", Integer(1, 120)),
    Variable("SMTP_TIMEOUT", "smtp_timeout", Integer(1, 300)),
    Variable("SMTP_CA_FILE", "smtp_ca_file", CertificateFile()),
    Variable("ALERT_SEND_WAIT", "alert_send_wait", Integer(1, 60)),
    # How local mode tells its worker processes that the database is its own.
    Variable("TWOFACTOR_EMBEDDED_DATABASE", "embedded_database", Boolean(), internal=True),
    Variable("LOG_FORMAT", "log_format", Choice(get_args(LogFormat))),
    Variable("METRICS_ENABLED", "metrics_enabled", Boolean()),
    # prometheus-client reads this very name in each worker (its multiprocess mode): ``serve``
    # sets it to a fresh directory before the workers start.
    Variable("PROMETHEUS_MULTIPROC_DIR", "metrics_dir", DirectoryPath(), internal=True),
)


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and check every variable of the table; ``ConfigError`` names the first bad one."""
    values: dict[str, Any] = {}
    for variable in VARIABLES:
        text = environ.get(variable.name, "")
        if text.strip():
            text = text if variable.kind.secret else text.strip()
            values[variable.field] = variable.kind.parse(variable.name, text)
    settings = Settings(**values)
    if "smtp_port" not in values:  # the one default that depends on another variable
        settings = replace(settings, smtp_port=_SMTP_PORTS[settings.smtp_tls])
    if not settings.local_mode:
        for variable in VARIABLES:
            if variable.required and not getattr(settings, variable.field):
                raise ConfigError(f"{variable.name} is required when MONGODB_URI is set")
    return settings


def settings_to_environ(settings: Settings) -> dict[str, str]:
    """The variables that reproduce ``settings`` in a worker process (keys included)."""
    environ: dict[str, str] = {}
    for variable in VARIABLES:
        value = getattr(settings, variable.field)
        if value is not None:
            environ[variable.name] = variable.kind.format(value)
    return environ


def load_settings_from_environment() -> Settings:
    return load_settings(os.environ)


def export_to_environment(settings: Settings) -> None:
    """Hand resolved settings (local database address, generated keys) to worker processes."""
    os.environ.update(settings_to_environ(settings))
