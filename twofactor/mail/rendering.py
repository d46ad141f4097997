"""Security alert emails: subject, plain text and HTML, in the recipient's language.

Jinja2 autoescapes the HTML part, so a name like ``<script>`` is shown as text. Every
user-facing string goes through gettext; the locale is always passed in explicitly.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid
from functools import cache
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from twofactor.domain.alerts import AlertKind
from twofactor.domain.messages import AlertContent, CodeContent
from twofactor.mail.catalogs import translations_for
from twofactor.security.addresses import EmailAddress

Gettext = Callable[[str], str]


@dataclass(frozen=True)
class MailIdentity:
    sender: str
    security_settings_url: str
    support_contact: str

    def __post_init__(self) -> None:
        # The sender is configuration, not client input, but it becomes a header all the same:
        # one address (a display name is fine), no line break that could start another header.
        addresses = getaddresses([self.sender])
        one = len(addresses) == 1 and "@" in addresses[0][1]
        if not one or "\r" in self.sender or "\n" in self.sender:
            raise ValueError("MAIL_FROM must be one email address, optionally with a name")


class AlertRenderer:
    def __init__(self, identity: MailIdentity) -> None:
        self._identity = identity
        # Parsed once: a header is immutable, and the message takes it as it is.
        self._sender = _POLICY.header_factory("From", identity.sender)

    def render(self, content: AlertContent, recipient: EmailAddress) -> EmailMessage:
        environment = _environment(content.locale)
        gettext = translations_for(content.locale).gettext
        # The factor's label is an English message id: translated here, like every other string.
        method = gettext(content.method_label)
        values = {
            "name": content.recipient_name,
            "account": content.recipient_email,
            "headline": _headline(content.kind, gettext),
            "change": _change_sentence(content.kind, gettext) % {"method": method},
            "when": format_datetime(
                content.occurred_at,
                format="long",
                tzinfo=ZoneInfo(content.time_zone),
                locale=content.locale,
            ),
            "ip": content.ip or gettext("unknown"),
            "device": _device(content, gettext),
            "security_url": self._identity.security_settings_url,
            "support": self._identity.support_contact,
        }
        return self._message(
            values["headline"],
            recipient,
            content.locale,
            environment.get_template("security_alert.txt").render(values),
            environment.get_template("security_alert.html").render(values),
            content.occurred_at,
        )

    def render_code(self, content: CodeContent, recipient: EmailAddress) -> EmailMessage:
        """The email carrying a one-time code (second factor or address confirmation)."""
        environment = _environment(content.locale)
        subject = translations_for(content.locale).gettext("Your verification code")
        values = {
            "subject": subject,
            "name": content.recipient_name,
            "code": content.code,
            "minutes": content.valid_minutes,
            "security_url": self._identity.security_settings_url,
        }
        return self._message(
            subject,
            recipient,
            content.locale,
            environment.get_template("email_code.txt").render(values),
            environment.get_template("email_code.html").render(values),
            datetime.now(UTC),
        )

    def _message(
        self, subject: str, to: EmailAddress, locale: str, text: str, html: str, date: datetime
    ) -> EmailMessage:
        message = EmailMessage(policy=_POLICY)
        message["Subject"] = subject
        message["From"] = self._sender
        # One address that passed the policy, in ASCII form whenever it has one (an encoded
        # word is not allowed inside an address).
        message["To"] = to.envelope
        # A datetime, not its text: the header would parse the text back into one.
        message["Date"] = date
        message["Message-ID"] = make_msgid(idstring=uuid.uuid4().hex[:12], domain="twofactor-api")
        message.set_content(text)
        # A boundary of our own: left to the generator, it is checked against the text with a
        # regular expression compiled for each message. Quoted-printable and base64 never
        # write "=_", and 128 random bits cannot be guessed into a name shown in plain text.
        message.make_alternative(boundary=f"=_{secrets.token_hex(16)}")
        message.add_alternative(html, subtype="html")
        # After the parts: setting the content replaces every Content-* header.
        message["Content-Language"] = locale.replace("_", "-")
        return message


class _HeaderClasses(HeaderRegistry):
    """The standard header classes, each made once.

    ``HeaderRegistry`` makes a new class (``type(...)``) for every header it parses, about thirty
    per alert: a third of the time it took to build one.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            # Two threads may both make one; either serves.
            made = self._made[key] = super().__getitem__(name)
        return made


#: ``email.policy.default`` with the header classes made once.
_POLICY = policy.default.clone(header_factory=_HeaderClasses())


def _headline(kind: AlertKind, gettext: Gettext) -> str:
    if kind is AlertKind.TWO_FACTOR_REMOVED:
        return gettext("A two-factor method was removed from your account")
    return gettext("A two-factor method was added to your account")


def _change_sentence(kind: AlertKind, gettext: Gettext) -> str:
    if kind is AlertKind.TWO_FACTOR_REMOVED:
        return gettext("%(method)s is no longer a second factor of your account.")
    return gettext("%(method)s is now a second factor of your account.")


def _device(content: AlertContent, gettext: Gettext) -> str:
    parts = [part for part in (content.browser, content.os) if part]
    if parts:
        return " / ".join(parts)
    return content.user_agent or gettext("unknown")


@cache
def _environment(locale: str) -> Environment:
    # One environment per locale: installing translations mutates an environment, so sharing
    # one between threads rendering different languages would mix them.
    environment = Environment(
        loader=PackageLoader("twofactor.mail", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        keep_trailing_newline=True,
    )
    environment.install_gettext_translations(translations_for(locale), newstyle=True)  # type: ignore[attr-defined]
    return environment
