"""Emailed one-time codes: six digits from a CSPRNG, stored only as a keyed hash, valid ten
minutes, single use, and at most one mail a minute."""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import timedelta

from twofactor.clock import Clock
from twofactor.domain.locales import resolve_locale
from twofactor.domain.messages import CodeContent
from twofactor.domain.ports import (
    MailDeliveryError,
    PrincipalRepository,
    SecurityMail,
    UndeliverableAddress,
)
from twofactor.errors import (
    EmailAddressUnusable,
    EmailDisabled,
    ServiceUnavailable,
    TooManyAttempts,
    UserNotFound,
)
from twofactor.security import otp
from twofactor.security.addresses import usable_email_address
from twofactor.security.otp import email_code_hash

CODE_LIFETIME = timedelta(minutes=10)
RESEND_COOLDOWN = timedelta(seconds=60)


class EmailCodeService:
    def __init__(
        self,
        principals: PrincipalRepository,
        mail: SecurityMail | None,
        clock: Clock,
        hash_key: bytes,
        default_locale: str,
        locales: Collection[str],
    ) -> None:
        self._principals = principals
        self._mail = mail
        self._clock = clock
        self._hash_key = hash_key
        self._default_locale = default_locale
        self._locales = locales

    def send(self, principal_id: str, accept_language: str | None = None) -> int:
        """Mail a new code; the seconds to wait before another one may be asked for."""
        if self._mail is None:
            raise EmailDisabled()
        principal = self._principals.get(principal_id)
        if principal is None or principal.email is None:
            raise UserNotFound()
        if usable_email_address(principal.email) is None:
            # An address stored before addresses were validated: refused before a code or a
            # cooldown is stored, so nothing changes.
            raise EmailAddressUnusable()
        code = otp.new_email_code()
        now = self._clock.now()
        code_hash = email_code_hash(self._hash_key, principal.id, code)
        stored = self._principals.store_email_code(
            principal.id,
            code_hash,
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
        content = CodeContent(
            recipient_email=principal.email,
            recipient_name=principal.name,
            code=code,
            valid_minutes=int(CODE_LIFETIME.total_seconds() // 60),
            locale=locale,
        )
        try:
            self._mail.send_code(content)
        except UndeliverableAddress:
            self._principals.withdraw_email_code(principal.id, code_hash)
            raise EmailAddressUnusable() from None
        except MailDeliveryError:
            # Nothing reached the user: the code is withdrawn, so neither it nor its cooldown
            # stands in the way of asking again.
            self._principals.withdraw_email_code(principal.id, code_hash)
            raise ServiceUnavailable(
                "The code could not be sent right now. Try again later."
            ) from None
        return int(RESEND_COOLDOWN.total_seconds())
