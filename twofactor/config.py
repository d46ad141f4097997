"""Settings, read once from the environment at start-up.

Nothing else in the service reads ``os.environ``: every other module receives a ``Settings``.
A missing or invalid value stops the start-up with a message that names the variable.
"""

from __future__ import annotations

import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from babel import Locale, UnknownLocaleError

from twofactor.security.keys import NamedKey, decode_base64, encode_base64

SmtpTls = Literal["none", "starttls", "tls"]

_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_INTEGER = re.compile(r"-?[0-9]+")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    mongodb_uri: str | None = None
    mongodb_database: str = "twofactor"
    allowlist_mongodb_uri: str | None = None
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
    #: Set by local mode once it started its own database (``MONGODB_URI`` is then filled in).
    embedded_database: bool = False

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


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and check every variable of the contract; ``ConfigError`` names the first bad one."""
    reader = _Reader(environ)
    mongodb_uri = reader.optional("MONGODB_URI")
    smtp_tls: SmtpTls = reader.choice("SMTP_TLS", ("none", "starttls", "tls"), "starttls")  # type: ignore[assignment]
    settings = Settings(
        mongodb_uri=mongodb_uri,
        mongodb_database=reader.text("MONGODB_DATABASE", "twofactor"),
        allowlist_mongodb_uri=reader.optional("ALLOWLIST_MONGODB_URI"),
        data_dir=Path(reader.text("DATA_DIR", "data")),
        jwt_signing_keys=reader.named_keys("JWT_SIGNING_KEYS", min_length=32),
        encryption_keys=reader.named_keys("ENCRYPTION_KEYS", exact_length=32),
        hash_key=reader.secret("HASH_KEY", min_length=32),
        access_token_ttl=reader.integer("ACCESS_TOKEN_TTL", 900, minimum=30, maximum=86_400),
        step_up_token_ttl=reader.integer("STEP_UP_TOKEN_TTL", 300, minimum=30, maximum=3_600),
        refresh_token_ttl=reader.integer(
            "REFRESH_TOKEN_TTL", 30 * 24 * 3600, minimum=60, maximum=365 * 24 * 3600
        ),
        email_enabled=reader.boolean("EMAIL_ENABLED", True),
        smtp_host=reader.optional("SMTP_HOST"),
        smtp_port=reader.integer("SMTP_PORT", _default_smtp_port(smtp_tls), 1, 65_535),
        smtp_username=reader.optional("SMTP_USERNAME"),
        smtp_password=reader.raw("SMTP_PASSWORD"),
        smtp_tls=smtp_tls,
        mail_from=reader.text("MAIL_FROM", "twofactor-api <no-reply@localhost>"),
        security_alert_two_factor_removed=reader.boolean("SECURITY_ALERT_TWO_FACTOR_REMOVED", True),
        security_alert_two_factor_added=reader.boolean("SECURITY_ALERT_TWO_FACTOR_ADDED", True),
        default_locale=reader.locale("DEFAULT_LOCALE", "en"),
        cookie_secure=reader.boolean("COOKIE_SECURE", False),
        host=reader.text("HOST", "127.0.0.1"),
        port=reader.integer("PORT", 8000, minimum=0, maximum=65_535),
        security_settings_url=reader.text("SECURITY_SETTINGS_URL", "http://127.0.0.1:8000/api/ui/"),
        support_contact=reader.text("SUPPORT_CONTACT", "support@localhost"),
        alert_retry_interval=reader.integer("ALERT_RETRY_INTERVAL", 60, minimum=1, maximum=86_400),
        # Internal: how local mode tells its worker processes that the database is its own.
        embedded_database=reader.boolean("TWOFACTOR_EMBEDDED_DATABASE", False),
    )
    if not settings.local_mode:
        # Against a real deployment, generated keys would silently differ per process.
        for name, value in (
            ("JWT_SIGNING_KEYS", settings.jwt_signing_keys),
            ("ENCRYPTION_KEYS", settings.encryption_keys),
            ("HASH_KEY", settings.hash_key),
        ):
            if not value:
                raise ConfigError(f"{name} is required when MONGODB_URI is set")
    return settings


def settings_to_environ(settings: Settings) -> dict[str, str]:
    """The variables that reproduce ``settings`` in a worker process (keys included)."""
    environ = {
        "MONGODB_DATABASE": settings.mongodb_database,
        "DATA_DIR": str(settings.data_dir),
        "JWT_SIGNING_KEYS": _format_named_keys(settings.jwt_signing_keys),
        "ENCRYPTION_KEYS": _format_named_keys(settings.encryption_keys),
        "HASH_KEY": encode_base64(settings.hash_key),
        "ACCESS_TOKEN_TTL": str(settings.access_token_ttl),
        "STEP_UP_TOKEN_TTL": str(settings.step_up_token_ttl),
        "REFRESH_TOKEN_TTL": str(settings.refresh_token_ttl),
        "EMAIL_ENABLED": str(settings.email_enabled).lower(),
        "SMTP_PORT": str(settings.smtp_port),
        "SMTP_TLS": settings.smtp_tls,
        "MAIL_FROM": settings.mail_from,
        "SECURITY_ALERT_TWO_FACTOR_REMOVED": str(
            settings.security_alert_two_factor_removed
        ).lower(),
        "SECURITY_ALERT_TWO_FACTOR_ADDED": str(settings.security_alert_two_factor_added).lower(),
        "DEFAULT_LOCALE": settings.default_locale,
        "COOKIE_SECURE": str(settings.cookie_secure).lower(),
        "HOST": settings.host,
        "PORT": str(settings.port),
        "SECURITY_SETTINGS_URL": settings.security_settings_url,
        "SUPPORT_CONTACT": settings.support_contact,
        "ALERT_RETRY_INTERVAL": str(settings.alert_retry_interval),
        "TWOFACTOR_EMBEDDED_DATABASE": str(settings.embedded_database).lower(),
    }
    optional = {
        "MONGODB_URI": settings.mongodb_uri,
        "ALLOWLIST_MONGODB_URI": settings.allowlist_mongodb_uri,
        "SMTP_HOST": settings.smtp_host,
        "SMTP_USERNAME": settings.smtp_username,
        "SMTP_PASSWORD": settings.smtp_password,
    }
    environ.update({name: value for name, value in optional.items() if value is not None})
    return environ


def _format_named_keys(keys: tuple[NamedKey, ...]) -> str:
    return ",".join(f"{key.key_id}:{encode_base64(key.secret)}" for key in keys)


def _default_smtp_port(tls: str) -> int:
    return {"none": 25, "starttls": 587, "tls": 465}[tls]


class _Reader:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def optional(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def raw(self, name: str) -> str | None:
        """Untrimmed: a secret may legitimately start or end with a space."""
        value = self._environ.get(name, "")
        return value if value.strip() else None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = (self.optional(name) or default).lower()
        if value not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.optional(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ConfigError(f"{name} must be true or false")

    def integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        value = self.optional(name)
        if value is None:
            return default
        if not _INTEGER.fullmatch(value):
            raise ConfigError(f"{name} must be a whole number")
        number = int(value)
        if not minimum <= number <= maximum:
            raise ConfigError(f"{name} must be between {minimum} and {maximum}")
        return number

    def locale(self, name: str, default: str) -> str:
        value = self.text(name, default)
        try:
            return str(Locale.parse(value.replace("-", "_")))
        except (ValueError, UnknownLocaleError):
            raise ConfigError(f"{name} is not a known locale") from None

    def secret(self, name: str, min_length: int) -> bytes:
        value = self.optional(name)
        if value is None:
            return b""
        try:
            secret = decode_base64(value)
        except (binascii.Error, ValueError):
            raise ConfigError(f"{name} must be base64") from None
        if len(secret) < min_length:
            raise ConfigError(f"{name} must decode to at least {min_length} bytes")
        return secret

    def named_keys(
        self, name: str, min_length: int | None = None, exact_length: int | None = None
    ) -> tuple[NamedKey, ...]:
        value = self.optional(name)
        if value is None:
            return ()
        keys: list[NamedKey] = []
        for item in value.split(","):
            key_id, separator, encoded = item.strip().partition(":")
            if not separator or not _KEY_ID.fullmatch(key_id):
                raise ConfigError(f"{name} must be comma-separated keyid:base64 pairs")
            try:
                secret = decode_base64(encoded)
            except (binascii.Error, ValueError):
                raise ConfigError(f"{name}: the key {key_id!r} is not base64") from None
            if exact_length is not None and len(secret) != exact_length:
                raise ConfigError(
                    f"{name}: the key {key_id!r} must be exactly {exact_length} bytes"
                )
            if min_length is not None and len(secret) < min_length:
                raise ConfigError(f"{name}: the key {key_id!r} must be at least {min_length} bytes")
            if any(key.key_id == key_id for key in keys):
                raise ConfigError(f"{name}: the key id {key_id!r} appears twice")
            keys.append(NamedKey(key_id, secret))
        return tuple(keys)


def load_settings_from_environment() -> Settings:
    return load_settings(os.environ)


def export_to_environment(settings: Settings) -> None:
    """Hand resolved settings (local database address, generated keys) to worker processes."""
    os.environ.update(settings_to_environ(settings))
