"""The mail port of the domain: renders an alert or a code, then hands it to a transport.

The recipient is checked against the address policy here, whatever the caller checked before:
the ``To`` header and the SMTP envelope are only ever built from an address that passed it.
"""

from __future__ import annotations

from twofactor.domain.messages import AlertContent, CodeContent
from twofactor.domain.ports import UndeliverableAddress
from twofactor.mail.mailer import Mailer
from twofactor.mail.rendering import AlertRenderer
from twofactor.security.addresses import AddressRefused, EmailAddress, parse_email_address


class Postman:
    """Implements ``twofactor.domain.ports.SecurityMail``."""

    def __init__(self, renderer: AlertRenderer, transport: Mailer) -> None:
        self._renderer = renderer
        self._transport = transport

    @property
    def transport(self) -> Mailer:
        return self._transport

    def send_alert(self, content: AlertContent) -> None:
        recipient = _recipient(content.recipient_email)
        self._transport.send(self._renderer.render(content, recipient), recipient)

    def send_code(self, content: CodeContent) -> None:
        recipient = _recipient(content.recipient_email)
        self._transport.send(self._renderer.render_code(content, recipient), recipient)


def _recipient(stored: str) -> EmailAddress:
    try:
        return parse_email_address(stored)
    except AddressRefused as refused:
        # The reason names the policy rule only: the stored address itself is never logged.
        raise UndeliverableAddress(
            f"the recipient's address is not usable: {refused.problem.name.lower()}"
        ) from None
