"""The checks every security change runs first, in the contract's order (steps 3 to 5).

Steps 1 and 2 (the access token and its allowlist entry) ran in the security layer already.
Once the step-up proof is known good (and only then, so that nobody without the user's
credentials can spend it) the request is counted on the user's budget of security changes:
here for most operations, or, by a flow that asks for ``change_count`` itself, only once a change
is about to be written, and by that write (removing a second factor: an answer that changes
nothing costs nothing, and a change costs no write of the budget's own).
"""

from __future__ import annotations

from dataclasses import dataclass

from twofactor.domain.alerts import LocaleRequest
from twofactor.domain.change_budget import ChangeBudget
from twofactor.domain.model import ChangeCount, Principal, RequestInfo, SessionDevice
from twofactor.domain.ports import PrincipalRepository
from twofactor.domain.step_up import require_step_up_for, require_unused_step_up
from twofactor.errors import NoPasswordProvider, UserNotFound
from twofactor.security.passwords import PasswordHasher
from twofactor.security.tokens import AccessClaims, StepUpClaims


@dataclass(frozen=True)
class SecurityChangeRequest:
    access: AccessClaims
    step_up: StepUpClaims
    request: RequestInfo
    locale: str | None = None
    accept_language: str | None = None
    #: The session's device as the access token's allowlist entry keeps it, when it does.
    device: SessionDevice | None = None

    @property
    def language(self) -> LocaleRequest:
        return LocaleRequest(requested=self.locale, accept_language=self.accept_language)


class SecurityChangeGuard:
    def __init__(
        self, principals: PrincipalRepository, passwords: PasswordHasher, budget: ChangeBudget
    ) -> None:
        self._principals = principals
        self._passwords = passwords
        self._budget = budget

    def check(self, change: SecurityChangeRequest, *, count: bool = True) -> Principal:
        """The principal the change applies to, once the step-up proof and the account allow it.

        ``count=False`` for a flow that counts the change itself (``change_count``), with its
        write.
        """
        require_step_up_for(change.access, change.step_up)
        principal = self.load_user(change.access.sub)
        require_unused_step_up(principal, change.step_up)
        if count:
            self._budget.spend(principal)
        if principal.password_hash is None:
            raise NoPasswordProvider()
        self._passwords.ensure_parseable(principal.password_hash)
        return principal

    def change_count(self, principal: Principal) -> ChangeCount:
        """The user's count of security changes with this one, to write with the change itself
        (the change's own write spends the unit), or refuse (429)."""
        return self._budget.next_count(principal)

    def load_user(self, principal_id: str) -> Principal:
        principal = self._principals.get(principal_id)
        if principal is None or principal.is_guest:
            raise UserNotFound()
        return principal
