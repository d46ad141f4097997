"""Proving who you are: password sign-in and password step-up.

Both answer with a two-factor challenge instead of tokens when the user has a second factor:
the tokens are only issued once that factor is proven (``POST /auth/2fa/login`` and
``POST /auth/2fa/step-up``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from twofactor.domain.accounts import AccountService
from twofactor.domain.model import ClientInfo, Principal, RequestInfo, TwoFactorMethod
from twofactor.domain.ports import PrincipalRepository
from twofactor.domain.sessions import SessionService, SessionTokens
from twofactor.domain.sign_in_throttle import SignInThrottle
from twofactor.domain.step_up import require_step_up_for, require_unused_step_up
from twofactor.domain.step_up_throttle import StepUpThrottle
from twofactor.errors import (
    InvalidCredentials,
    InvalidRequest,
    NoPasswordProvider,
    StepUpTokenExpired,
    StepUpTokenInvalid,
)
from twofactor.security.addresses import usable_email_address
from twofactor.security.crypto import EmailHasher
from twofactor.security.passwords import PasswordHasher
from twofactor.security.tokens import AccessClaims, IssuedToken, TokenService


@dataclass(frozen=True)
class TwoFactorChallenge:
    token: IssuedToken
    methods: tuple[TwoFactorMethod, ...]
    preferred: TwoFactorMethod | None


@dataclass(frozen=True)
class SignInResult:
    tokens: SessionTokens | None = None
    challenge: TwoFactorChallenge | None = None


@dataclass(frozen=True)
class StepUpResult:
    step_up: IssuedToken | None = None
    challenge: TwoFactorChallenge | None = None


class AuthenticationService:
    def __init__(
        self,
        principals: PrincipalRepository,
        accounts: AccountService,
        sessions: SessionService,
        passwords: PasswordHasher,
        email_hash: EmailHasher,
        tokens: TokenService,
        sign_in_throttle: SignInThrottle,
        step_up_throttle: StepUpThrottle,
    ) -> None:
        self._principals = principals
        self._accounts = accounts
        self._sessions = sessions
        self._passwords = passwords
        self._email_hash = email_hash
        self._tokens = tokens
        self._sign_in_throttle = sign_in_throttle
        self._step_up_throttle = step_up_throttle

    def sign_in(
        self, email: str, password: str, client: ClientInfo, request: RequestInfo
    ) -> SignInResult:
        address = usable_email_address(email)
        if address is None:
            # No account can have this address, whatever the password: the same answer as a
            # wrong one, decided from the text alone (no lookup, no password hash, no budget
            # spent), so it tells nothing about any account.
            raise InvalidCredentials()
        email_hash = self._email_hash(address)
        attempt = self._sign_in_throttle.admit(f"login-account:{email_hash}", request.ip)
        principal = self._principals.find_by_email_hash(email_hash)
        valid = False
        if principal is None or principal.password_hash is None:
            self._passwords.verify_decoy(password)
        else:
            valid = self._passwords.verify(principal.password_hash, password)
        if principal is None or not valid:
            raise attempt.failed() or InvalidCredentials()  # the attempt stays counted
        attempt.succeeded()
        if principal.two_factor_enabled:
            return SignInResult(challenge=self._challenge(principal))
        return SignInResult(tokens=self._sessions.start(principal, client, request))

    def step_up(self, access: AccessClaims, password: str | None) -> StepUpResult:
        principal = self._accounts.require(access.sub)
        if principal.is_guest:
            # A guest has no credential beyond its session: the step-up proves nothing more,
            # which its empty ``amr`` says.
            return StepUpResult(step_up=self._step_up_token(principal, access, ()))
        if principal.password_hash is None:
            raise NoPasswordProvider()
        if password is None:
            raise InvalidRequest("The password is required.")
        attempt = self._step_up_throttle.admit(principal)
        if not self._passwords.verify(principal.password_hash, password):
            attempt.failed()
            raise InvalidCredentials("The password is not correct.")
        attempt.succeeded()
        if principal.two_factor_enabled:
            return StepUpResult(challenge=self._challenge(principal))
        return StepUpResult(step_up=self._step_up_token(principal, access, ("pwd",)))

    def status(self, access: AccessClaims, step_up_token: str | None) -> StatusReport:
        principal = self._accounts.require(access.sub)
        expires_at = None
        if step_up_token:
            try:
                claims = self._tokens.verify_step_up(step_up_token)
                require_step_up_for(access, claims)
                require_unused_step_up(principal, claims)
                expires_at = claims.expires_at
            except (StepUpTokenInvalid, StepUpTokenExpired):
                expires_at = None
        return StatusReport(principal=principal, step_up_expires_at=expires_at)

    def _step_up_token(
        self, principal: Principal, access: AccessClaims, amr: tuple[str, ...]
    ) -> IssuedToken:
        return self._tokens.issue_step_up(
            principal.id, access.sid, amr, principal.step_up_generation
        )

    def _challenge(self, principal: Principal) -> TwoFactorChallenge:
        return TwoFactorChallenge(
            token=self._tokens.issue_two_factor(principal.id),
            methods=principal.methods,
            preferred=principal.preferred_method,
        )


@dataclass(frozen=True)
class StatusReport:
    principal: Principal
    #: When the request's step-up token stops being usable; ``None`` when it has none usable.
    step_up_expires_at: datetime | None
