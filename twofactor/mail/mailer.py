"""Delivering email: SMTP in production, ``.eml`` files in local mode without a mail server."""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from twofactor.domain.ports import MailDeliveryError
from twofactor.security.addresses import EmailAddress

logger = logging.getLogger("twofactor.mail")


class Mailer(Protocol):
    def send(self, message: EmailMessage, recipient: EmailAddress) -> None:
        """Hand ``message`` over for delivery to ``recipient`` (its only envelope recipient) or
        raise ``MailDeliveryError``."""
        ...


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int,
        tls: str,
        username: str | None = None,
        password: str | None = None,
        *,
        timeout: float = 10,
    ) -> None:
        """``timeout`` bounds each step with the server (connecting, every reply): a request that
        sends mail waits at most that long for a server that accepts connections but stalls."""
        self._host = host
        self._port = port
        self._tls = tls
        self._username = username
        self._password = password
        self._timeout = timeout

    def send(self, message: EmailMessage, recipient: EmailAddress) -> None:
        try:
            with self._connect() as smtp:
                if self._username and self._password:
                    smtp.login(self._username, self._password)
                # The envelope is given, never derived from the headers: only ``recipient``.
                smtp.send_message(message, to_addrs=[recipient.envelope])
        except (smtplib.SMTPException, OSError) as error:
            # The class and reply code only: a server's reply may echo addresses or credentials.
            code = getattr(error, "smtp_code", None)
            raise MailDeliveryError(
                f"{type(error).__name__}{f' {code}' if code else ''}"
            ) from error

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self._tls == "tls":
            return smtplib.SMTP_SSL(self._host, self._port, timeout=self._timeout, context=context)
        smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        if self._tls == "starttls":
            try:
                smtp.starttls(context=context)
            except BaseException:
                smtp.close()  # the caller's ``with`` never got the connection
                raise
        return smtp


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
