"""How each variable's text is checked, parsed and written back (one ``Kind`` per shape).

A kind raises ``ConfigError`` with a message that names the variable, so a bad value stops the
start-up saying which variable and why.
"""

from __future__ import annotations

import binascii
import re
import ssl
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

from babel import Locale, UnknownLocaleError

from twofactor.domain.throttle import Budget
from twofactor.security.keys import NamedKey, decode_base64, encode_base64

T = TypeVar("T")

_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: A JWT ``iss`` or ``aud`` value: visible ASCII (no space, no control character), bounded.
_CLAIM_NAME = re.compile(r"[!-~]{1,255}")
_INTEGER = re.compile(r"-?[0-9]+")
_BUDGET = re.compile(r"([0-9]{1,9})\s*/\s*([0-9]{1,9})\s*([smhd]?)")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message names the variable."""


class Kind(ABC, Generic[T]):
    """How a variable's text becomes a value, and the value text again (``str`` by default)."""

    #: A secret is parsed untrimmed (a password may begin or end with a space) and is kept out
    #: of reprs and error messages.
    secret: ClassVar[bool] = False

    @abstractmethod
    def parse(self, name: str, text: str) -> T:
        """The value of non-blank ``text``; a ``ConfigError`` names ``name``, never a secret."""

    def format(self, value: T) -> str:
        return str(value)


class Text(Kind[str]):
    def parse(self, name: str, text: str) -> str:
        return text


class Password(Text):
    secret = True


class DirectoryPath(Kind[Path]):
    def parse(self, name: str, text: str) -> Path:
        return Path(text)


class CertificateFile(Kind[Path]):
    """A PEM file of CA certificates, read and parsed now: a missing, unreadable or malformed
    file stops the start-up instead of failing every TLS connection later."""

    def parse(self, name: str, text: str) -> Path:
        try:
            ssl.create_default_context(cafile=text)
        except ssl.SSLError:  # before OSError, of which it is a subclass
            raise ConfigError(f"{name} holds no PEM certificate") from None
        except OSError:
            raise ConfigError(f"{name} is not a readable file") from None
        return Path(text)


class Boolean(Kind[bool]):
    def parse(self, name: str, text: str) -> bool:
        if text.lower() not in _TRUE | _FALSE:
            raise ConfigError(f"{name} must be true or false")
        return text.lower() in _TRUE

    def format(self, value: bool) -> str:
        return "true" if value else "false"


@dataclass(frozen=True)
class Integer(Kind[int]):
    minimum: int
    maximum: int

    def parse(self, name: str, text: str) -> int:
        if not _INTEGER.fullmatch(text):
            raise ConfigError(f"{name} must be a whole number")
        number = int(text)
        if not self.minimum <= number <= self.maximum:
            raise ConfigError(f"{name} must be between {self.minimum} and {self.maximum}")
        return number


class BudgetKind(Kind[Budget]):
    """``COUNT/WINDOW``: at most COUNT attempts per key in WINDOW, whose unit is ``s``
    (the default), ``m``, ``h`` or ``d``: ``5/15m``, ``20/1h``, ``5/900``."""

    def parse(self, name: str, text: str) -> Budget:
        match = _BUDGET.fullmatch(text.lower())
        if match is None:
            raise ConfigError(f"{name} must be COUNT/WINDOW, such as 5/15m or 20/1h")
        count, amount, unit = int(match[1]), int(match[2]), match[3] or "s"
        seconds = amount * _UNIT_SECONDS[unit]
        if not 1 <= count <= 1_000_000:
            raise ConfigError(f"{name}: the count must be between 1 and 1000000")
        if not 1 <= seconds <= 7 * 86_400:
            raise ConfigError(f"{name}: the window must be between 1 second and 7 days")
        return Budget(count, timedelta(seconds=seconds))

    def format(self, value: Budget) -> str:
        seconds = int(value.window.total_seconds())
        unit = next(u for u in "dhms" if seconds % _UNIT_SECONDS[u] == 0)
        return f"{value.limit}/{seconds // _UNIT_SECONDS[unit]}{unit}"


@dataclass(frozen=True)
class Choice(Kind[str]):
    options: tuple[str, ...]

    def parse(self, name: str, text: str) -> str:
        if text.lower() not in self.options:
            raise ConfigError(f"{name} must be one of {', '.join(self.options)}")
        return text.lower()


class LocaleName(Kind[str]):
    def parse(self, name: str, text: str) -> str:
        try:
            return str(Locale.parse(text.replace("-", "_")))
        except (ValueError, UnknownLocaleError):
            raise ConfigError(f"{name} is not a known locale") from None


@dataclass(frozen=True)
class Base64Secret(Kind[bytes]):
    secret = True
    min_length: int

    def parse(self, name: str, text: str) -> bytes:
        try:
            secret = decode_base64(text)
        except (binascii.Error, ValueError):
            raise ConfigError(f"{name} must be base64") from None
        if len(secret) < self.min_length:
            raise ConfigError(f"{name} must decode to at least {self.min_length} bytes")
        return secret

    def format(self, value: bytes) -> str:
        return encode_base64(value)


@dataclass(frozen=True)
class NamedKeys(Kind[tuple[NamedKey, ...]]):
    """Comma-separated ``keyid:base64`` pairs, each key of ``exact_length`` or ``min_length``."""

    secret = True
    min_length: int | None = None
    exact_length: int | None = None

    def parse(self, name: str, text: str) -> tuple[NamedKey, ...]:
        keys: list[NamedKey] = []
        for item in text.split(","):
            key_id, separator, encoded = item.strip().partition(":")
            if not separator or not _KEY_ID.fullmatch(key_id):
                raise ConfigError(f"{name} must be comma-separated keyid:base64 pairs")
            try:
                secret = decode_base64(encoded)
            except (binascii.Error, ValueError):
                raise ConfigError(f"{name}: the key {key_id!r} is not base64") from None
            if self.exact_length is not None and len(secret) != self.exact_length:
                raise ConfigError(
                    f"{name}: the key {key_id!r} must be exactly {self.exact_length} bytes"
                )
            if self.min_length is not None and len(secret) < self.min_length:
                raise ConfigError(
                    f"{name}: the key {key_id!r} must be at least {self.min_length} bytes"
                )
            if any(key.key_id == key_id for key in keys):
                raise ConfigError(f"{name}: the key id {key_id!r} appears twice")
            keys.append(NamedKey(key_id, secret))
        return tuple(keys)

    def format(self, value: tuple[NamedKey, ...]) -> str:
        return ",".join(f"{key.key_id}:{encode_base64(key.secret)}" for key in value)


class ClaimName(Kind[str]):
    """A JWT ``iss``/``aud`` value: 1 to 255 visible ASCII characters."""

    def parse(self, name: str, text: str) -> str:
        if not _CLAIM_NAME.fullmatch(text):
            raise ConfigError(
                f"{name} must be 1 to 255 visible ASCII characters (no spaces or control "
                "characters)"
            )
        return text


class ClaimNames(Kind[tuple[str, ...]]):
    """Comma-separated ``ClaimName`` values, none of them twice; the order is kept."""

    def parse(self, name: str, text: str) -> tuple[str, ...]:
        names = tuple(ClaimName().parse(name, item.strip()) for item in text.split(","))
        if len(set(names)) != len(names):
            raise ConfigError(f"{name} names a value twice")
        return names

    def format(self, value: tuple[str, ...]) -> str:
        return ",".join(value)
