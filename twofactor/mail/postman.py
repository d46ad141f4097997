"""The mail port of the domain: renders an alert or a code, then hands it to a transport."""

from __future__ import annotations

from twofactor.domain.messages import AlertContent, CodeContent
from twofactor.mail.mailer import Mailer
from twofactor.mail.rendering import AlertRenderer


class Postman:
    """Implements ``twofactor.domain.ports.SecurityMail``."""

    def __init__(self, renderer: AlertRenderer, transport: Mailer) -> None:
        self._renderer = renderer
        self._transport = transport

    @property
    def transport(self) -> Mailer:
        return self._transport

    def send_alert(self, content: AlertContent) -> None:
        self._transport.send(self._renderer.render(content))

    def send_code(self, content: CodeContent) -> None:
        self._transport.send(self._renderer.render_code(content))
