"""What the HTTP handlers share: the request's services and origin, credentials, cookies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connexion import request
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse, Response

from twofactor.domain.guard import SecurityChangeRequest
from twofactor.domain.model import ClientInfo, RequestInfo
from twofactor.domain.services import Services
from twofactor.security.tokens import (
    AccessClaims,
    IssuedToken,
    RefreshClaims,
    StepUpClaims,
    TwoFactorClaims,
)

SERVICES_KEY = "twofactor.services"
REQUEST_ID_KEY = "twofactor.request_id"
COOKIE_SECURE_KEY = "twofactor.cookie_secure"

ACCESS_COOKIE = "access_token"
REFRESH_COOKIE = "refresh_token"
STEP_UP_COOKIE = "step_up_token"
TWO_FACTOR_COOKIE = "two_factor_authentication_token"
STEP_UP_HEADER = "X-Step-Up-Token"
TWO_FACTOR_HEADER = "X-Two-Factor-Authentication-Token"


def services() -> Services:
    found: Services = request.scope[SERVICES_KEY]
    return found


def security_change(token_info: dict[str, Any], locale: str | None = None) -> SecurityChangeRequest:
    """The verified access and step-up proofs of the request, with where it came from."""
    credentials = Credentials.of(token_info)
    return SecurityChangeRequest(
        access=credentials.require_access(),
        step_up=credentials.require_step_up(),
        request=request_info(),
        locale=locale,
        accept_language=request.headers.get("accept-language"),
    )


def client_info(session: dict[str, Any] | None) -> ClientInfo:
    """What the client says about itself at sign-in (``session`` of the login body)."""
    session = session or {}
    return ClientInfo(browser=session.get("browser"), os=session.get("os"))


def request_info() -> RequestInfo:
    client = request.scope.get("client")
    user_agent = request.headers.get("user-agent")
    return RequestInfo(
        ip=client[0] if client else None,
        # Stored in the security history and shown in alerts: keep a client from bloating them.
        user_agent=user_agent[:_USER_AGENT_LIMIT] if user_agent else None,
    )


_USER_AGENT_LIMIT = 300


def cookie(headers: Any, name: str) -> str | None:
    """A cookie's value, parsed leniently: one malformed cookie does not hide the others."""
    value = cookie_parser(headers.get("cookie", "")).get(name)
    return value or None


def step_up_credential() -> str | None:
    """The raw step-up token of the current request, the header winning over the cookie."""
    header = request.headers.get(STEP_UP_HEADER)
    return header.strip() if header is not None else cookie(request.headers, STEP_UP_COOKIE)


@dataclass(frozen=True)
class Credentials:
    """The verified credentials of the request, as the security functions left them."""

    access: AccessClaims | None = None
    step_up: StepUpClaims | None = None
    two_factor: TwoFactorClaims | None = None
    refresh: RefreshClaims | None = None

    @classmethod
    def of(cls, token_info: dict[str, Any] | None) -> Credentials:
        # One scheme: ``token_info`` is that scheme's result; several AND-ed schemes: it maps each
        # scheme name to its result.
        found: dict[str, Any] = {}
        for part in [token_info or {}, *(token_info or {}).values()]:
            if isinstance(part, dict):
                found.update({k: v for k, v in part.items() if k in _CREDENTIAL_FIELDS})
        return cls(**found)

    def require_access(self) -> AccessClaims:
        if self.access is None:  # the spec's security list guarantees it; a spec error otherwise
            raise RuntimeError("operation declared without an access credential")
        return self.access

    def require_step_up(self) -> StepUpClaims:
        if self.step_up is None:
            raise RuntimeError("operation declared without a step-up credential")
        return self.step_up

    def require_two_factor(self) -> TwoFactorClaims:
        if self.two_factor is None:
            raise RuntimeError("operation declared without a two-factor credential")
        return self.two_factor


_CREDENTIAL_FIELDS = {"access", "step_up", "two_factor", "refresh"}


def json_response(body: object, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def set_token_cookie(response: Response, name: str, token: IssuedToken) -> None:
    response.set_cookie(
        name,
        token.token,
        max_age=token.lifetime,
        path="/",
        secure=bool(request.scope[COOKIE_SECURE_KEY]),
        httponly=True,
        samesite="strict",
    )


def clear_cookies(response: Response, *names: str) -> None:
    for name in names:
        response.delete_cookie(
            name,
            path="/",
            secure=bool(request.scope[COOKIE_SECURE_KEY]),
            httponly=True,
            samesite="strict",
        )


def set_session_cookies(response: Response, access: IssuedToken, refresh: IssuedToken) -> None:
    set_token_cookie(response, ACCESS_COOKIE, access)
    set_token_cookie(response, REFRESH_COOKIE, refresh)
