"""In-memory implementations of the domain's ports, for millisecond unit tests of the flows.

They keep the semantics the flows rely on, not just the signatures: a security change applies
only when the principal is still as the caller read it (compare-and-set on methods, kind and
step-up generation), a code is consumed once, an alert is claimed by one worker at a time.
A fake can also be told to fail, the way the real store fails (``DatabaseFailure``).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from twofactor.domain.alerts import QueuedAlert, SecurityEvent
from twofactor.domain.messages import AlertContent, CodeContent
from twofactor.domain.metrics import AlertEvent
from twofactor.domain.model import (
    ChangeCount,
    FactorState,
    Kind,
    ListedAccess,
    NewUser,
    Principal,
    SessionDevice,
    SessionRecord,
    StepUpAttempts,
    TotpState,
    TwoFactorMethod,
)
from twofactor.domain.outbox import ClaimedAlert, DeliveryOutcome, DeliveryStatus, DueWindow
from twofactor.domain.ports import Attempt, MailDeliveryError, UndeliverableAddress
from twofactor.errors import AllowlistReadingFailure, DatabaseFailure, EmailAlreadyRegistered

START = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def a_user(**changes: object) -> Principal:
    """A user principal as the flows read one: Ada (``ada@example.com``), a fresh id, created and
    last active at ``START``, generation 0, no second factor; ``changes`` set any other field."""
    ada = Principal(
        id=secrets.token_hex(12),
        kind=Kind.USER,
        roles=("user",),
        name="Ada",
        created_at=START,
        last_active=START,
        step_up_generation=0,
        email="ada@example.com",
    )
    return replace(ada, **changes)  # type: ignore[arg-type]


class FrozenClock:
    """Time stands still until a test moves it."""

    def __init__(self, now: datetime = START) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


class Breakable:
    """``broken = True`` makes every call fail as a stopped database does."""

    broken: bool = False

    def _check(self) -> None:
        if self.broken:
            raise DatabaseFailure()


@dataclass
class OutboxEntry:
    alert: QueuedAlert
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    claim: str | None = None
    claimed_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = None
    reason: str | None = None
    #: Set by a test to simulate an entry written by a broken or older version.
    raw_kind: str | None = None
    raw_method: str | None = None


@dataclass
class EmailCode:
    code_hash: str
    expires_at: datetime
    resend_at: datetime


@dataclass
class PrincipalRecord:
    principal: Principal
    email_hash: str | None = None
    events: list[SecurityEvent] = field(default_factory=list)
    outbox: list[OutboxEntry] = field(default_factory=list)
    email_code: EmailCode | None = None
    factor_states: dict[TwoFactorMethod, FactorState] = field(default_factory=dict)


class FakePrincipals(Breakable):
    """``PrincipalRepository`` in memory; ``records`` is open to the tests for seeding/reading."""

    def __init__(self) -> None:
        self.records: dict[str, PrincipalRecord] = {}
        self._lock = threading.Lock()

    # Seeding ----------------------------------------------------------------------------------

    def put(self, principal: Principal, email_hash: str | None = None) -> Principal:
        self.records[principal.id] = PrincipalRecord(principal, email_hash)
        return principal

    def add_user(self, **changes: object) -> str:
        """Store ``a_user(**changes)`` directly (no registration, no password); its id."""
        return self.put(a_user(**changes)).id

    def update(self, principal_id: str, **changes: object) -> Principal:
        """Change a stored principal behind the flows' back (another writer)."""
        record = self.records[principal_id]
        record.principal = replace(record.principal, **changes)  # type: ignore[arg-type]
        return record.principal

    # PrincipalRepository ----------------------------------------------------------------------

    def create_user(self, user: NewUser) -> str:
        self._check()
        with self._lock:
            if any(r.email_hash == user.email_hash for r in self.records.values()):
                raise EmailAlreadyRegistered()
            principal = Principal(
                id=secrets.token_hex(12),
                kind=Kind.USER,
                roles=("user",),
                name=user.name,
                created_at=user.created_at,
                last_active=user.created_at,
                step_up_generation=0,
                email=user.email,
                password_hash=user.password_hash,
            )
            self.records[principal.id] = PrincipalRecord(principal, user.email_hash)
        return principal.id

    def create_guest(self, name: str, created_at: datetime) -> str:
        self._check()
        principal = Principal(
            id=secrets.token_hex(12),
            kind=Kind.GUEST,
            roles=("guest",),
            name=name,
            created_at=created_at,
            last_active=created_at,
            step_up_generation=0,
        )
        self.records[principal.id] = PrincipalRecord(principal)
        return principal.id

    def get(self, principal_id: str) -> Principal | None:
        self._check()
        record = self.records.get(principal_id)
        return None if record is None else record.principal

    def find_by_email_hash(self, email_hash: str) -> Principal | None:
        self._check()
        for record in self.records.values():
            if record.email_hash == email_hash:
                return record.principal
        return None

    def touch(self, principal_id: str, now: datetime) -> None:
        self._check()
        if principal_id in self.records:
            self.update(principal_id, last_active=now)

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
    ) -> bool:
        changes: dict[str, object] = {
            "methods": (*principal.methods, method),
            "preferred_method": principal.preferred_method or method,
        }
        if isinstance(state, TotpState):
            changes["totp"] = state
        if mark_email_verified:
            changes["email_verified"] = True
        return self._change(principal, changes, event, alert, now, {method: state})

    def remove_method(
        self,
        principal: Principal,
        method: TwoFactorMethod,
        *,
        event: SecurityEvent,
        alert: QueuedAlert | None,
        now: datetime,
        counted: ChangeCount | None = None,
    ) -> bool:
        remaining = tuple(m for m in principal.methods if m is not method)
        preferred = principal.preferred_method
        if preferred is method or preferred is None:
            preferred = remaining[0] if remaining else None
        changes: dict[str, object] = {"methods": remaining, "preferred_method": preferred}
        if method is TwoFactorMethod.TOTP:
            changes["totp"] = None
        if counted is not None:
            changes["security_changes"] = counted
        return self._change(
            principal, changes, event, alert, now, {method: None}, counts=counted is not None
        )

    def set_preferred_method(
        self, principal: Principal, method: TwoFactorMethod, *, event: SecurityEvent, now: datetime
    ) -> bool:
        return self._change(principal, {"preferred_method": method}, event, None, now, {})

    def _change(
        self,
        seen: Principal,
        changes: dict[str, object],
        event: SecurityEvent,
        alert: QueuedAlert | None,
        now: datetime,
        states: dict[TwoFactorMethod, FactorState | None],
        *,
        counts: bool = False,
    ) -> Principal | None:
        self._check()
        with self._lock:
            record = self.records.get(seen.id)
            current = record.principal if record else None
            if (
                record is None
                or current is None
                or current.kind is not seen.kind
                or current.step_up_generation != seen.step_up_generation
                or current.methods != seen.methods
                or (counts and current.security_changes != seen.security_changes)
            ):
                return None
            record.principal = replace(
                current,
                step_up_generation=current.step_up_generation + 1,
                last_active=now,
                **changes,  # type: ignore[arg-type]
            )
            for method, state in states.items():
                if state is None:
                    record.factor_states.pop(method, None)
                else:
                    record.factor_states[method] = state
            record.events.append(event)
            if alert is not None and alert.claim is not None:
                record.outbox.append(
                    OutboxEntry(
                        alert,
                        status=DeliveryStatus.SENDING,
                        attempts=1,
                        next_attempt_at=alert.created_at,
                        claim=alert.claim,
                        claimed_at=alert.created_at,
                    )
                )
            elif alert is not None:
                record.outbox.append(OutboxEntry(alert, next_attempt_at=alert.created_at))
            return record.principal

    def use_totp_step(self, principal_id: str, step: int) -> bool:
        self._check()
        with self._lock:
            principal = self.records[principal_id].principal
            totp = principal.totp
            if TwoFactorMethod.TOTP not in principal.methods or totp is None:
                return False
            if totp.last_used_step >= step:
                return False
            self.update(principal_id, totp=replace(totp, last_used_step=step))
            return True

    def use_recovery_code(self, principal_id: str, code_hash: str) -> bool:
        self._check()
        with self._lock:
            totp = self.records[principal_id].principal.totp
            if totp is None or code_hash not in totp.recovery_code_hashes:
                return False
            remaining = tuple(h for h in totp.recovery_code_hashes if h != code_hash)
            self.update(principal_id, totp=replace(totp, recovery_code_hashes=remaining))
            return True

    def store_email_code(
        self,
        principal_id: str,
        code_hash: str,
        now: datetime,
        expires_at: datetime,
        resend_at: datetime,
    ) -> bool:
        self._check()
        with self._lock:
            record = self.records[principal_id]
            if record.email_code is not None and record.email_code.resend_at > now:
                return False
            record.email_code = EmailCode(code_hash, expires_at, resend_at)
            return True

    def withdraw_email_code(self, principal_id: str, code_hash: str) -> None:
        self._check()
        with self._lock:
            record = self.records[principal_id]
            if record.email_code is not None and record.email_code.code_hash == code_hash:
                record.email_code = None

    def email_code_resend_at(self, principal_id: str) -> datetime | None:
        self._check()
        code = self.records[principal_id].email_code
        return None if code is None else code.resend_at

    def use_email_code(self, principal_id: str, code_hash: str, now: datetime) -> bool:
        self._check()
        with self._lock:
            record = self.records[principal_id]
            code = record.email_code
            if code is None or code.code_hash != code_hash or code.expires_at <= now:
                return False
            record.email_code = None
            return True


class FakeOutbox(Breakable):
    """``AlertOutbox`` over the entries ``FakePrincipals`` queued."""

    def __init__(self, principals: FakePrincipals) -> None:
        self._principals = principals
        self._lock = threading.Lock()

    def entry(self, principal_id: str, alert_id: str) -> OutboxEntry:
        return next(
            e for e in self._principals.records[principal_id].outbox if e.alert.id == alert_id
        )

    def claim(
        self, principal_id: str, alert_id: str, claim: str, now: datetime, window: DueWindow
    ) -> ClaimedAlert | None:
        self._check()
        with self._lock:
            entry = self.entry(principal_id, alert_id)
            if not _is_due(entry, window):
                return None
            entry.status = DeliveryStatus.SENDING
            entry.claim = claim
            entry.claimed_at = now
            entry.attempts += 1
            alert = entry.alert
            return ClaimedAlert(
                principal_id=principal_id,
                alert_id=alert.id,
                claim=claim,
                attempts=entry.attempts,
                kind=entry.raw_kind if entry.raw_kind is not None else alert.kind.value,
                method=entry.raw_method if entry.raw_method is not None else alert.method.value,
                locale=alert.locale,
                created_at=alert.created_at,
                origin=alert.origin,
            )

    def finish(self, claimed: ClaimedAlert, outcome: DeliveryOutcome, now: datetime) -> None:
        self._check()
        with self._lock:
            entry = self.entry(claimed.principal_id, claimed.alert_id)
            if entry.claim != claimed.claim:
                return  # another worker's claim: not ours to finish
            entry.status = outcome.status
            entry.claim = None
            if outcome.status is DeliveryStatus.SENT:
                entry.sent_at = now
            if outcome.next_attempt_at is not None:
                entry.next_attempt_at = outcome.next_attempt_at
            if outcome.last_error is not None:
                entry.last_error = outcome.last_error
            if outcome.reason is not None:
                entry.reason = outcome.reason

    def due(self, window: DueWindow, limit: int) -> list[tuple[str, str]]:
        self._check()
        pairs = [
            (principal_id, entry.alert.id)
            for principal_id, record in self._principals.records.items()
            for entry in record.outbox
            if _is_due(entry, window)
        ]
        return pairs[:limit]


def _is_due(entry: OutboxEntry, window: DueWindow) -> bool:
    if entry.status is DeliveryStatus.PENDING:
        return entry.next_attempt_at is None or entry.next_attempt_at <= window.due_by
    if entry.status is DeliveryStatus.SENDING:
        return entry.claimed_at is not None and entry.claimed_at <= window.stale_before
    return False


class FakeSessions(Breakable):
    """``SessionRepository`` in memory."""

    def __init__(self) -> None:
        self.records: dict[str, SessionRecord] = {}

    def insert(self, session: SessionRecord) -> None:
        self._check()
        self.records[session.id] = session

    def get(self, session_id: str) -> SessionRecord | None:
        self._check()
        return self.records.get(session_id)

    def rotate_refresh(
        self, session_id: str, used_jti: str, new_jti: str, expires_at: datetime, now: datetime
    ) -> bool:
        self._check()
        session = self.records.get(session_id)
        if session is None or session.refresh_jti != used_jti:
            return False
        self.records[session_id] = replace(session, refresh_jti=new_jti, expires_at=expires_at)
        return True

    def delete(self, session_id: str) -> None:
        self._check()
        self.records.pop(session_id, None)

    def delete_others(self, principal_id: str, keep_session_id: str) -> None:
        self._check()
        for session_id, session in list(self.records.items()):
            if session.principal_id == principal_id and session_id != keep_session_id:
                del self.records[session_id]


@dataclass(frozen=True)
class AllowlistEntry:
    principal_id: str
    session_id: str
    expires_at: datetime
    device: SessionDevice | None = None


class FakeAllowlist(Breakable):
    """``AccessTokenAllowlist`` in memory."""

    def __init__(self) -> None:
        self.entries: dict[str, AllowlistEntry] = {}

    def add(
        self,
        jti: str,
        principal_id: str,
        session_id: str,
        expires_at: datetime,
        device: SessionDevice | None = None,
    ) -> None:
        self._check()
        self.entries[jti] = AllowlistEntry(principal_id, session_id, expires_at, device)

    def contains(self, jti: str, principal_id: str, session_id: str) -> bool:
        """For tests to look: is this token listed? (The service asks ``lookup``.)"""
        return self.lookup(jti, principal_id, session_id) is not None

    def lookup(self, jti: str, principal_id: str, session_id: str) -> ListedAccess | None:
        if self.broken:
            raise AllowlistReadingFailure()
        entry = self.entries.get(jti)
        if entry is None or entry.principal_id != principal_id or entry.session_id != session_id:
            return None
        return ListedAccess(entry.device)

    def revoke_session(self, session_id: str) -> None:
        self._check()
        for jti, entry in list(self.entries.items()):
            if entry.session_id == session_id:
                del self.entries[jti]

    def revoke_other_sessions(self, principal_id: str, keep_session_id: str) -> None:
        self._check()
        for jti, entry in list(self.entries.items()):
            if entry.principal_id == principal_id and entry.session_id != keep_session_id:
                del self.entries[jti]


class FakeAttemptCounter(Breakable):
    """``AttemptCounter`` in memory: a fixed window per key, counted atomically."""

    def __init__(self) -> None:
        self.windows: dict[str, tuple[int, datetime]] = {}
        self._lock = threading.Lock()

    def record_within(self, attempts: Sequence[Attempt], now: datetime) -> list[bool]:
        self._check()
        counted = []
        with self._lock:
            for attempt in attempts:
                count, started = self._window(attempt.key, now, attempt.window)
                counted.append(count < attempt.limit)
                if counted[-1]:
                    self.windows[attempt.key] = (count + 1, started)
        return counted

    def failures(self, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
        self._check()
        with self._lock:
            count, started = self._window(key, now, window)
        return count, started + window

    def _window(self, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
        count, started = self.windows.get(key, (0, now))
        return (0, now) if started + window <= now else (count, started)

    def release(self, key: str) -> None:
        self._check()
        with self._lock:
            if key in self.windows and self.windows[key][0] > 0:
                count, started = self.windows[key]
                self.windows[key] = (count - 1, started)

    def clear(self, key: str) -> None:
        self._check()
        self.windows.pop(key, None)

    def settle(self, forget: Sequence[str], release: Sequence[str]) -> None:
        self._check()
        with self._lock:
            for key in forget:
                self.windows.pop(key, None)
            for key in release:
                if key in self.windows and self.windows[key][0] > 0:
                    count, started = self.windows[key]
                    self.windows[key] = (count - 1, started)


@dataclass
class StepUpCounts:
    failures: int = 0
    failures_end: datetime = START
    leased: int = 0
    lease_end: datetime = START
    blocked_until: datetime | None = None


class FakeStepUpAttempts(Breakable):
    """``StepUpAttemptCounter`` over a ``FakePrincipals``: like the store, it keeps the counts
    with the principal, so that reading the principal shows them."""

    def __init__(self, principals: FakePrincipals) -> None:
        self.principals = principals
        self.counts: dict[str, StepUpCounts] = {}
        self._lock = threading.Lock()

    def reserve(self, principal_id: str, limit: int, lease: timedelta, now: datetime) -> bool:
        self._check()
        with self._lock:
            if principal_id not in self.principals.records:
                return False
            counts = self.counts.setdefault(principal_id, StepUpCounts())
            if counts.blocked_until is not None and counts.blocked_until > now:
                return False
            if counts.failures_end <= now:
                counts.failures, counts.failures_end = 0, now
            if counts.lease_end > now:
                counts.leased += 1
            else:
                counts.leased, counts.lease_end = 1, now + lease
            self._block(principal_id, counts, limit)
        return True

    def fail(self, principal_id: str, limit: int, window: timedelta, now: datetime) -> None:
        self._check()
        with self._lock:
            counts = self.counts.setdefault(principal_id, StepUpCounts())
            if counts.failures_end > now:
                counts.failures += 1
            else:
                counts.failures, counts.failures_end = 1, now + window
            if counts.lease_end > now:
                counts.leased = max(0, counts.leased - 1)
            else:
                counts.leased, counts.lease_end = 0, now
            self._block(principal_id, counts, limit)

    def forget_failures(self, principal_id: str) -> None:
        self._check()
        with self._lock:
            counts = self.counts.setdefault(principal_id, StepUpCounts())
            counts.failures, counts.blocked_until = 0, None
            self._show(principal_id, counts)

    def _block(self, principal_id: str, counts: StepUpCounts, limit: int) -> None:
        counts.blocked_until = None
        if counts.failures + counts.leased >= limit:
            blocked_by_failures = counts.failures >= limit
            counts.blocked_until = counts.failures_end if blocked_by_failures else counts.lease_end
        self._show(principal_id, counts)

    def _show(self, principal_id: str, counts: StepUpCounts) -> None:
        if principal_id in self.principals.records:
            shown = StepUpAttempts(counts.failures, counts.failures_end, counts.blocked_until)
            self.principals.update(principal_id, step_up_attempts=shown)


class FakeChangeCounts(Breakable):
    """``SecurityChangeCounter`` over a ``FakePrincipals``: like the store, it keeps the count
    in the principal, where a change that counts itself pins it."""

    def __init__(self, principals: FakePrincipals) -> None:
        self.principals = principals

    def count(self, principal_id: str, limit: int, window: timedelta, now: datetime) -> bool:
        self._check()
        principals = self.principals
        with principals._lock:
            record = principals.records.get(principal_id)
            if record is None:
                return False
            counted = record.principal.security_changes
            if counted and counted.blocked_until and counted.blocked_until > now:
                return False
            if counted is not None and counted.window_end > now:
                count, end = counted.count + 1, counted.window_end
            else:
                count, end = 1, now + window
            blocked = end if count >= limit else None
            record.principal = replace(
                record.principal, security_changes=ChangeCount(count, end, blocked)
            )
        return True


class FakeMail:
    """``SecurityMail`` that keeps what it is given, or refuses like a mail server that is down."""

    def __init__(self) -> None:
        self.alerts: list[AlertContent] = []
        self.codes: list[CodeContent] = []
        self.refusing = False
        #: Refuse every recipient as the real postman refuses an address the policy refuses.
        self.undeliverable = False

    def send_alert(self, content: AlertContent) -> None:
        self._check()
        self.alerts.append(content)

    def send_code(self, content: CodeContent) -> None:
        self._check()
        self.codes.append(content)

    def _check(self) -> None:
        if self.undeliverable:
            raise UndeliverableAddress("the recipient's address is not usable: syntax")
        if self.refusing:
            raise MailDeliveryError("SMTPRecipientsRefused 451")


class RecordingMetrics:
    """``Metrics`` that keeps every event, in order, as the Prometheus adapter would count it."""

    def __init__(self) -> None:
        self.throttled_budgets: list[str] = []
        self.alert_events: list[AlertEvent] = []

    def throttled(self, budget: str) -> None:
        self.throttled_budgets.append(budget)

    def alert(self, event: AlertEvent) -> None:
        self.alert_events.append(event)


if TYPE_CHECKING:
    # mypy checks that every fake still implements its port.
    from twofactor.domain import ports
    from twofactor.domain.metrics import Metrics

    _principals: ports.PrincipalRepository = FakePrincipals()
    _outbox: ports.AlertOutbox = FakeOutbox(FakePrincipals())
    _sessions: ports.SessionRepository = FakeSessions()
    _allowlist: ports.AccessTokenAllowlist = FakeAllowlist()
    _counter: ports.AttemptCounter = FakeAttemptCounter()
    _mail: ports.SecurityMail = FakeMail()
    _metrics: Metrics = RecordingMetrics()
