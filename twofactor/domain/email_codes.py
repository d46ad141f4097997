"""Emailed one-time codes: six digits from a CSPRNG, stored only as a keyed hash, valid ten
minutes, single use, and at most one mail a minute."""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import timedelta

from twofactor.clock import Clock
from twofactor.domain.locales import resolve_locale
from twofactor.domain.verification import email_code_hash
from twofactor.errors import EmailDisabled, ServiceUnavailable, TooManyAttempts, UserNotFound
from twofactor.mail.mailer import MailDeliveryError, Mailer
from twofactor.mail.rendering import AlertRenderer
from twofactor.security import otp
from twofactor.store.principals import PrincipalStore

CODE_LIFETIME = timedelta(minutes=10)
RESEND_COOLDOWN = timedelta(seconds=60)


class EmailCodeService:
    def __init__(
        self,
        principals: PrincipalStore,
        mailer: Mailer | None,
        renderer: AlertRenderer,
        clock: Clock,
        hash_key: bytes,
        default_locale: str,
        locales: Collection[str],
    ) -> None:
        self._principals = principals
        self._mailer = mailer
        self._renderer = renderer
        self._clock = clock
        self._hash_key = hash_key
        self._default_locale = default_locale
        self._locales = locales

    def send(self, principal_id: str, accept_language: str | None = None) -> int:
        """Mail a new code; the seconds to wait before another one may be asked for."""
        if self._mailer is None:
            raise EmailDisabled()
        principal = self._principals.get(principal_id)
        if principal is None or principal.email is None:
            raise UserNotFound()
        code = otp.new_email_code()
        now = self._clock.now()
        stored = self._principals.store_email_code(
            principal.id,
            email_code_hash(self._hash_key, principal.id, code),
            now,
            now + CODE_LIFETIME,
            now + RESEND_COOLDOWN,
        )
        if not stored:
            resend_at = self._principals.email_code_resend_at(principal.id) or now
            raise TooManyAttempts(
                "A code was sent a moment ago. Wait before asking for another one.",
                retry_after=math.ceil((resend_at - now).total_seconds()),
            )
        locale = resolve_locale(
            requested=None,
            stored=principal.locale,
            accept_language=accept_language,
            default=self._default_locale,
            available=self._locales,
        )
        message = self._renderer.render_code(
            principal.email, principal.name, code, int(CODE_LIFETIME.total_seconds() // 60), locale
        )
        try:
            self._mailer.send(message)
        except MailDeliveryError:
            raise ServiceUnavailable(
                "The code could not be sent right now. Try again later."
            ) from None
        return int(RESEND_COOLDOWN.total_seconds())
