"""Delivering email: SMTP in production, ``.eml`` files in local mode without a mail server."""

from __future__ import annotations

import logging
import smtplib
import uuid
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from twofactor.domain.ports import MailDeliveryError
from twofactor.mail.connections import SmtpConnections
from twofactor.security.addresses import EmailAddress

logger = logging.getLogger("twofactor.mail")


class Mailer(Protocol):
    def send(self, message: EmailMessage, recipient: EmailAddress) -> None:
        """Hand ``message`` over for delivery to ``recipient`` (its only envelope recipient) or
        raise ``MailDeliveryError``."""
        ...

    def close(self) -> None:
        """Let go of what the transport holds open (at shutdown)."""
        ...


class SmtpMailer:
    """Sends over long-lived connections (see ``twofactor.mail.connections``)."""

    def __init__(self, connections: SmtpConnections) -> None:
        self._connections = connections

    def send(self, message: EmailMessage, recipient: EmailAddress) -> None:
        try:
            # The envelope is given, never derived from the headers: only ``recipient``.
            self._connections.send(message, recipient.envelope)
        except (smtplib.SMTPException, OSError) as error:
            # The class and reply code only: a server's reply may echo addresses or credentials.
            code = getattr(error, "smtp_code", None)
            raise MailDeliveryError(
                f"{type(error).__name__}{f' {code}' if code else ''}"
            ) from error

    def close(self) -> None:
        self._connections.close()


class FileMailer:
    """Local mode without SMTP: each message becomes an ``.eml`` file a newcomer can open."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def send(self, message: EmailMessage, recipient: EmailAddress) -> None:
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            path = self._directory / f"{uuid.uuid4().hex}.eml"
            # UTF-8 headers, as an SMTPUTF8 server would get them (an internationalized
            # recipient cannot be written as an encoded word).
            path.write_bytes(message.as_bytes(policy=policy.SMTPUTF8))
        except OSError as error:
            raise MailDeliveryError(type(error).__name__) from error
        logger.info("email written to %s", path)

    def close(self) -> None:
        """Nothing is held open between messages."""
