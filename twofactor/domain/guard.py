"""The checks every security change runs first, in the contract's order (steps 3 to 5).

Steps 1 and 2 (the access token and its allowlist entry) ran in the security layer already.
Once the step-up proof is known good (and only then, so that nobody without the user's
credentials can spend it) the request is counted on the user's budget of security changes:
here for most operations, or, by a flow that calls ``count_change`` itself, only once a change
is about to be written (removing a second factor: an answer that changes nothing costs
nothing, not even the budget's write).
"""

from __future__ import annotations

from dataclasses import dataclass

from twofactor.domain.alerts import LocaleRequest
from twofactor.domain.model import Principal, RequestInfo, SessionDevice
from twofactor.domain.ports import PrincipalRepository
from twofactor.domain.step_up import require_step_up_for, require_unused_step_up
from twofactor.domain.throttle import Throttle
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
        self, principals: PrincipalRepository, passwords: PasswordHasher, budget: Throttle
    ) -> None:
        self._principals = principals
        self._passwords = passwords
        self._budget = budget

    def check(self, change: SecurityChangeRequest, *, count: bool = True) -> Principal:
        """The principal the change applies to, once the step-up proof and the account allow it.

        ``count=False`` when the same request checks again (a write that lost a race): one
        request spends one unit of the user's budget.
        """
        require_step_up_for(change.access, change.step_up)
        principal = self.load_user(change.access.sub)
        require_unused_step_up(principal, change.step_up)
        if count:
            self.count_change(principal)
        if principal.password_hash is None:
            raise NoPasswordProvider()
        self._passwords.ensure_parseable(principal.password_hash)
        return principal

    def count_change(self, principal: Principal) -> None:
        """Spend one unit of the user's budget of security changes, or refuse (429)."""
        self._budget.reserve(f"security-changes:{principal.id}")

    def load_user(self, principal_id: str) -> Principal:
        principal = self._principals.get(principal_id)
        if principal is None or principal.is_guest:
            raise UserNotFound()
        return principal
