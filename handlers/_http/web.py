"""What the HTTP handlers share: the request's services, where it came from, and the verified
credentials the security functions left for it.

Reading credentials is in ``credentials``, cookies in ``cookies``, bodies in ``presenters``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connexion import request
from starlette.responses import JSONResponse

from twofactor.domain.guard import SecurityChangeRequest
from twofactor.domain.model import ClientInfo, RequestInfo, SessionDevice, TwoFactorMethod
from twofactor.domain.services import Services
from twofactor.domain.verification import Proof
from twofactor.security.tokens import AccessClaims, RefreshClaims, StepUpClaims, TwoFactorClaims

SERVICES_KEY = "twofactor.services"
REQUEST_ID_KEY = "twofactor.request_id"
COOKIE_SECURE_KEY = "twofactor.cookie_secure"
#: The metrics exposition of this app, or ``None`` when ``METRICS_ENABLED`` is off.
METRICS_KEY = "twofactor.metrics"


def services() -> Services:
    found: Services = request.scope[SERVICES_KEY]
    return found


def security_change(token_info: dict[str, Any], locale: str | None = None) -> SecurityChangeRequest:
    """The verified access and step-up proofs of the request, with where it came from."""
    verified = Verified.of(token_info)
    return SecurityChangeRequest(
        access=verified.require_access(),
        step_up=verified.require_step_up(),
        request=request_info(),
        locale=locale,
        accept_language=request.headers.get("accept-language"),
        device=verified.device,
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


@dataclass(frozen=True)
class Verified:
    """The verified credentials of the request, as the security functions left them in
    ``token_info``."""

    access: AccessClaims | None = None
    step_up: StepUpClaims | None = None
    two_factor: TwoFactorClaims | None = None
    refresh: RefreshClaims | None = None
    #: The session's device, as the access token's allowlist entry keeps it (if it does).
    device: SessionDevice | None = None

    @classmethod
    def of(cls, token_info: dict[str, Any] | None) -> Verified:
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

    def require_refresh(self) -> RefreshClaims:
        if self.refresh is None:
            raise RuntimeError("operation declared without a refresh credential")
        return self.refresh


_CREDENTIAL_FIELDS = {"access", "step_up", "two_factor", "refresh", "device"}


def json_response(body: object, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def second_factor_proof(body: dict[str, Any]) -> Proof:
    """The code of a ``SecondFactorProof``, keyed by its method's name.

    The body's keys are the values of ``TwoFactorMethod`` and the spec lets exactly one through,
    so a method added to the enum (and to the schema) needs no change here.
    """
    methods = [method for method in TwoFactorMethod if method.value in body]
    if len(methods) != 1:  # the spec's validation guarantees one; a spec error otherwise
        raise RuntimeError("SecondFactorProof declared without exactly one method")
    return Proof(method=methods[0], code=str(body[methods[0].value]))
