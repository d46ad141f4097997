"""Finishing a sign-in or a step-up with the second factor, or with a recovery code."""

from __future__ import annotations

from twofactor.domain.model import ClientInfo, Principal, RequestInfo
from twofactor.domain.ports import PrincipalRepository
from twofactor.domain.sessions import SessionService, SessionTokens
from twofactor.domain.verification import Proof, SecondFactorVerifier
from twofactor.errors import TwoFactorTokenInvalid
from twofactor.security.tokens import AccessClaims, IssuedToken, TokenService, TwoFactorClaims


class TwoFactorAuthService:
    def __init__(
        self,
        principals: PrincipalRepository,
        sessions: SessionService,
        tokens: TokenService,
        verifier: SecondFactorVerifier,
    ) -> None:
        self._principals = principals
        self._sessions = sessions
        self._tokens = tokens
        self._verifier = verifier

    def sign_in(
        self, pending: TwoFactorClaims, proof: Proof, client: ClientInfo, request: RequestInfo
    ) -> SessionTokens:
        """Whichever enabled method the client proves (not only the preferred one)."""
        principal = self._pending_user(pending)
        self._verifier.prove(principal, proof, pending.jti)
        return self._sessions.start(principal, client, request)

    def step_up(self, access: AccessClaims, pending: TwoFactorClaims, proof: Proof) -> IssuedToken:
        if pending.sub != access.sub:
            raise TwoFactorTokenInvalid()
        principal = self._pending_user(pending)
        amr = self._verifier.prove(principal, proof, pending.jti)
        return self._tokens.issue_step_up(
            principal.id, access.sid, ("pwd", amr), principal.step_up_generation
        )

    def recover(
        self, pending: TwoFactorClaims, code: str, client: ClientInfo, request: RequestInfo
    ) -> tuple[SessionTokens, IssuedToken]:
        """A recovery code signs in and gives a step-up token, so a user who lost the device
        can remove TOTP right away."""
        principal = self._pending_user(pending)
        amr = self._verifier.use_recovery_code(principal, code, pending.jti)
        tokens = self._sessions.start(principal, client, request)
        step_up = self._tokens.issue_step_up(
            principal.id, tokens.session_id, ("pwd", amr), principal.step_up_generation
        )
        return tokens, step_up

    def _pending_user(self, pending: TwoFactorClaims) -> Principal:
        principal = self._principals.get(pending.sub)
        if principal is None or principal.is_guest:
            raise TwoFactorTokenInvalid()
        return principal
