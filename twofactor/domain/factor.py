"""The one interface every second factor implements, and the registry the flows look them up in.

A factor knows how to prove a code (check it and consume it, so it is accepted once), how it is
named (``amr`` in step-up tokens, a label in emails) and, through its own enrollment object, how
it is set up. The flows (sign-in, step-up, enrollment, removal, alerts) only talk to this
interface, so a new factor is a new module in ``twofactor.factors`` plus one registry entry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from twofactor.domain.model import Principal, TotpState, TwoFactorMethod


class SecondFactor(Protocol):
    #: RFC 8176 ``amr`` value carried by a step-up token proven with this factor.
    @property
    def amr(self) -> str: ...

    #: The factor's name in emails: an English message id, translated by the mail adapter.
    @property
    def label(self) -> str: ...

    def prove(self, principal: Principal, code: str, now: datetime) -> bool:
        """Whether ``code`` proves this factor for ``principal``; a proving code is consumed
        atomically, so a second use of it is refused, whichever endpoint saw it first."""
        ...


@dataclass(frozen=True)
class TotpSetup:
    """A TOTP secret on offer: shown once, and sealed into ``token`` until a code confirms it."""

    secret: str
    uri: str
    qr_code: str
    recovery_codes: list[str]
    token: str


@dataclass(frozen=True)
class PendingTotp:
    """The secret and recovery codes a setup token carries, opened for its principal."""

    secret: str
    recovery_codes: tuple[str, ...]


class TotpEnrollment(Protocol):
    def offer(self, principal: Principal) -> TotpSetup:
        """A new secret and recovery codes; nothing is stored."""
        ...

    def open(self, principal: Principal, token: str) -> PendingTotp:
        """``InvalidTotpSetupToken`` unless ``token`` is a live, intact setup token of
        ``principal``."""
        ...

    def confirm(self, pending: PendingTotp, code: str, now: datetime) -> TotpState | None:
        """The state to store when ``code`` proves the pending secret, else ``None``."""
        ...


@dataclass(frozen=True)
class FactorRegistry:
    """The factors a user can enable, by method, and the recovery codes that stand in for them."""

    methods: Mapping[TwoFactorMethod, SecondFactor]
    recovery: SecondFactor

    def __getitem__(self, method: TwoFactorMethod) -> SecondFactor:
        return self.methods[method]

    def __iter__(self) -> Iterator[TwoFactorMethod]:
        return iter(self.methods)
