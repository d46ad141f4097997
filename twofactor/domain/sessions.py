"""Sessions: starting one (access + refresh tokens), refreshing it, ending it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from twofactor.clock import Clock
from twofactor.domain.model import (
    ChangeOrigin,
    ClientInfo,
    Principal,
    RequestInfo,
    SessionDevice,
    SessionRecord,
)
from twofactor.domain.ports import AccessTokenAllowlist, PrincipalRepository, SessionRepository
from twofactor.errors import AccessTokenExpired, RefreshTokenInvalid
from twofactor.security.tokens import AccessClaims, IssuedToken, RefreshClaims, TokenService


@dataclass(frozen=True)
class SessionTokens:
    session_id: str
    access: IssuedToken
    refresh: IssuedToken


class SessionService:
    def __init__(
        self,
        sessions: SessionRepository,
        allowlist: AccessTokenAllowlist,
        principals: PrincipalRepository,
        tokens: TokenService,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._allowlist = allowlist
        self._principals = principals
        self._tokens = tokens
        self._clock = clock

    def start(
        self, principal: Principal, client: ClientInfo, request: RequestInfo
    ) -> SessionTokens:
        session_id = secrets.token_urlsafe(18)
        refresh = self._tokens.issue_refresh(principal.id, session_id)
        self._sessions.insert(
            SessionRecord(
                id=session_id,
                principal_id=principal.id,
                refresh_jti=refresh.jti,
                created_at=self._clock.now(),
                expires_at=refresh.expires_at,
                browser=client.browser,
                os=client.os,
                ip=request.ip,
                user_agent=request.user_agent,
            )
        )
        access = self._issue_access(principal, session_id, SessionDevice(client.browser, client.os))
        self._principals.touch(principal.id, self._clock.now())
        return SessionTokens(session_id=session_id, access=access, refresh=refresh)

    def require_listed(self, claims: AccessClaims) -> SessionDevice | None:
        """Step 2 of the check order: a decoded access token must still be on the allowlist.

        The session's device as its entry keeps it (``None`` for an older entry): a security
        change made with the token records it without reading the session.
        """
        listed = self._allowlist.lookup(claims.jti, claims.sub, claims.sid)
        if listed is None:
            raise AccessTokenExpired()
        return listed.device

    def refresh(self, claims: RefreshClaims) -> SessionTokens:
        """Single use: the refresh token is swapped atomically; presenting an old one again is
        treated as theft and ends the session (OWASP refresh-token rotation)."""
        session = self._sessions.get(claims.sid)
        if session is None or session.principal_id != claims.sub:
            raise RefreshTokenInvalid()
        principal = self._principals.get(claims.sub)
        if principal is None:
            raise RefreshTokenInvalid()
        refresh = self._tokens.issue_refresh(principal.id, session.id)
        if not self._sessions.rotate_refresh(
            session.id, claims.jti, refresh.jti, refresh.expires_at, self._clock.now()
        ):
            self.end(session.id)
            raise RefreshTokenInvalid()
        access = self._issue_access(
            principal, session.id, SessionDevice(session.browser, session.os)
        )
        return SessionTokens(session_id=session.id, access=access, refresh=refresh)

    def end(self, session_id: str) -> None:
        # The session first: while it exists its refresh token mints new access tokens, so
        # revoking them first and then failing to delete it would end nothing, and the client
        # could not even retry (its access token no longer passes). This way a failure leaves
        # either nothing changed, or the session gone and its access tokens still listed: a
        # retry with one of them passes and revokes them.
        self._sessions.delete(session_id)
        self._allowlist.revoke_session(session_id)

    def end_other_sessions(self, principal_id: str, keep_session_id: str) -> None:
        """After a second factor is added, sessions that never proved it are ended (ASVS 7.4.3)."""
        self._allowlist.revoke_other_sessions(principal_id, keep_session_id)
        self._sessions.delete_others(principal_id, keep_session_id)

    def change_origin(
        self, session_id: str, request: RequestInfo, device: SessionDevice | None = None
    ) -> ChangeOrigin:
        """Where a change made in this session came from: the ``device`` the access token's
        allowlist entry keeps, else the session's (read for it)."""
        if device is not None:
            return ChangeOrigin(session_id, request, browser=device.browser, os=device.os)
        session = self._sessions.get(session_id)
        return ChangeOrigin(
            session_id=session_id,
            request=request,
            browser=session.browser if session else None,
            os=session.os if session else None,
        )

    def session(self, session_id: str) -> SessionRecord | None:
        return self._sessions.get(session_id)

    def _issue_access(
        self, principal: Principal, session_id: str, device: SessionDevice
    ) -> IssuedToken:
        access = self._tokens.issue_access(principal.id, session_id, principal.roles)
        self._allowlist.add(access.jti, principal.id, session_id, access.expires_at, device)
        return access
