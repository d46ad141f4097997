"""The ports: what the domain needs from the outside world, as ``typing.Protocol``s.

The store (MongoDB) and the mail adapters implement them; the composition root plugs them in;
the unit tests plug in in-memory fakes that keep the same compare-and-set semantics. Every
method may raise the store's ``ServiceError``s (``DatabaseFailure`` and the document errors).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from twofactor.domain.alerts import QueuedAlert, SecurityEvent
from twofactor.domain.messages import AlertContent, CodeContent
from twofactor.domain.model import (
    ChangeCount,
    FactorState,
    ListedAccess,
    NewUser,
    Principal,
    SessionDevice,
    SessionRecord,
    TwoFactorMethod,
)
from twofactor.domain.outbox import ClaimedAlert, DeliveryOutcome, DueWindow


class PrincipalRepository(Protocol):
    """Users and guests. Every security change is one conditional write (see ``change``)."""

    def create_user(self, user: NewUser) -> str:
        """Store a new user; its id. ``EmailAlreadyRegistered`` when the email hash is taken."""
        ...

    def create_guest(self, name: str, created_at: datetime) -> str: ...

    def get(self, principal_id: str) -> Principal | None: ...

    def find_by_email_hash(self, email_hash: str) -> Principal | None: ...

    def touch(self, principal_id: str, now: datetime) -> None: ...

    def add_method(
        self,
        principal: Principal,
        method: TwoFactorMethod,
        state: FactorState,
        *,
        event: SecurityEvent,
        alert: QueuedAlert | None,
        now: datetime,
        mark_email_verified: bool = False,
    ) -> Principal | None:
        """Enable ``method`` if, and only if, the principal is still as ``principal`` saw it
        (same methods, same step-up generation). The write bumps the step-up generation,
        records ``event`` and queues ``alert``. The principal as written; ``None`` when nothing
        was written."""
        ...

    def remove_method(
        self,
        principal: Principal,
        method: TwoFactorMethod,
        *,
        event: SecurityEvent,
        alert: QueuedAlert | None,
        now: datetime,
        counted: ChangeCount | None = None,
    ) -> Principal | None:
        """Disable ``method`` (its state is erased) under the same condition as ``add_method``;
        the preferred method moves to a remaining one. With ``counted``, the same write stores
        it as the user's count of security changes, if the count is still the one read."""
        ...

    def set_preferred_method(
        self, principal: Principal, method: TwoFactorMethod, *, event: SecurityEvent, now: datetime
    ) -> Principal | None: ...

    def use_totp_step(self, principal_id: str, step: int) -> bool:
        """Accept a TOTP time step once: only if it is later than every step accepted before."""
        ...

    def use_recovery_code(self, principal_id: str, code_hash: str) -> bool:
        """Remove one recovery code hash; ``False`` when it was already used."""
        ...

    def store_email_code(
        self,
        principal_id: str,
        code_hash: str,
        now: datetime,
        expires_at: datetime,
        resend_at: datetime,
    ) -> bool:
        """Keep a new emailed code unless the previous one is still in its resend cooldown."""
        ...

    def withdraw_email_code(self, principal_id: str, code_hash: str) -> None:
        """Forget the stored code (and its cooldown) if it is still ``code_hash``."""
        ...

    def email_code_resend_at(self, principal_id: str) -> datetime | None: ...

    def use_email_code(self, principal_id: str, code_hash: str, now: datetime) -> bool:
        """Consume the emailed code if it matches and has not expired (single use)."""
        ...


class SessionRepository(Protocol):
    def insert(self, session: SessionRecord) -> None: ...

    def get(self, session_id: str) -> SessionRecord | None: ...

    def rotate_refresh(
        self, session_id: str, used_jti: str, new_jti: str, expires_at: datetime, now: datetime
    ) -> bool:
        """Swap the session's refresh token, only if ``used_jti`` is still the current one."""
        ...

    def delete(self, session_id: str) -> None: ...

    def delete_others(self, principal_id: str, keep_session_id: str) -> None: ...


class AccessTokenAllowlist(Protocol):
    def add(
        self,
        jti: str,
        principal_id: str,
        session_id: str,
        expires_at: datetime,
        device: SessionDevice | None = None,
    ) -> None: ...

    def lookup(self, jti: str, principal_id: str, session_id: str) -> ListedAccess | None:
        """The entry of a listed access token, ``None`` when it is not listed (one read);
        ``AllowlistReadingFailure`` when the allowlist cannot be read."""
        ...

    def revoke_session(self, session_id: str) -> None: ...

    def revoke_other_sessions(self, principal_id: str, keep_session_id: str) -> None: ...


@dataclass(frozen=True)
class Attempt:
    """One attempt to count on ``key``, whose budget is ``limit`` attempts per ``window``."""

    key: str
    limit: int
    window: timedelta


class AttemptCounter(Protocol):
    def record_within(self, attempts: Sequence[Attempt], now: datetime) -> list[bool]:
        """Count each attempt on its key, atomically, unless the key's window already holds its
        ``limit``: per attempt, whether it was counted (``False``: over its budget). One write
        for them all; a window opens at a key's first attempt."""
        ...

    def failures(self, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
        """The attempts counted on ``key`` in its current window, and when that window ends."""
        ...

    def release(self, key: str) -> None:
        """Give one counted attempt back."""
        ...

    def settle(self, forget: Sequence[str], release: Sequence[str]) -> None:
        """A success, in one write: the keys of ``forget`` count no failure any more, those of
        ``release`` each give one counted attempt back."""
        ...

    def clear(self, key: str) -> None: ...


class SecurityChangeCounter(Protocol):
    """Security changes counted per user in the principal document
    (``twofactor.domain.change_budget``)."""

    def count(self, principal_id: str, limit: int, window: timedelta, now: datetime) -> bool:
        """Count one change, atomically, unless the user's window already holds ``limit``
        (``False``: nothing counted); a window opens at the first change counted."""
        ...


class StepUpAttemptCounter(Protocol):
    """Password step-ups counted per user where the principal read sees them, so that a right
    password with no failure to forget writes nothing (``twofactor.domain.step_up_throttle``)."""

    def reserve(self, principal_id: str, limit: int, lease: timedelta, now: datetime) -> bool:
        """Count one attempt for ``lease``, atomically, unless failures and attempts counted
        together already reach ``limit``; ``False`` when nothing was counted."""
        ...

    def fail(self, principal_id: str, limit: int, window: timedelta, now: datetime) -> None:
        """The counted attempt was a failure: it counts until the failure window ends (a window
        opens at the first failure)."""
        ...

    def forget_failures(self, principal_id: str) -> None: ...


class AlertOutbox(Protocol):
    """The queued alerts, claimed atomically so that two workers never send one twice."""

    def claim(
        self, principal_id: str, alert_id: str, claim: str, now: datetime, window: DueWindow
    ) -> ClaimedAlert | None:
        """Take the alert for sending if it is due (or its last claim went stale)."""
        ...

    def finish(self, claimed: ClaimedAlert, outcome: DeliveryOutcome, now: datetime) -> None:
        """Record how the claimed attempt ended."""
        ...

    def due(self, window: DueWindow, limit: int) -> Sequence[tuple[str, str]]:
        """(principal id, alert id) pairs that a worker should try now."""
        ...


class MailDeliveryError(Exception):
    """The message was not accepted; the text is safe to store (no credentials)."""


class UndeliverableAddress(MailDeliveryError):
    """The recipient's address is refused by the address policy: no attempt, now or later, can
    reach it (an address stored before addresses were validated). Nothing was sent."""


class SecurityMail(Protocol):
    """Renders and delivers the service's two kinds of email, or raises ``MailDeliveryError``."""

    def send_alert(self, content: AlertContent) -> None: ...

    def send_code(self, content: CodeContent) -> None: ...
