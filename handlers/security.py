"""Connexion security functions: find a credential in the request and verify it.

``openapi.yaml`` names these functions (``x-bearerInfoFunc`` / ``x-apikeyInfoFunc``) and decides
which operation needs which credential. Connexion calls them on the event loop, so they only
decode; the one read they need (the access-token allowlist) runs in a worker thread.

Conventions (they implement the contract's check order with Connexion's OR-of-ANDs lists):

* A function returns ``None`` when its credential is not in the request, so Connexion tries the
  next alternative; when no alternative had an access credential Connexion raises its generic
  401, which ``handlers._http.problems`` answers as ``AUTHENTICATION_REQUIRED``.
* A header credential wins over its cookie: a cookie function steps aside (``None``) when the
  header is present, so an invalid header fails even next to a valid cookie. The rule is
  ``handlers._http.credentials.credential``; every function here reads through it.
* Step-up functions raise ``STEP_UP_TOKEN_MISSING`` themselves when neither the header nor the
  cookie is present; they only run once the access credential of their alternative passed.
* Every error raised is a ``ServiceError`` whose ``status_code`` lets Connexion choose among
  failed alternatives.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from connexion.lifecycle import ConnexionRequest
from connexion.security import NO_VALUE, AbstractSecurityHandler
from connexion.utils import get_function_from_name

from handlers._http.credentials import (
    ACCESS,
    REFRESH,
    STEP_UP,
    TWO_FACTOR,
    Source,
    credential,
    sent,
)
from handlers._http.threads import run_blocking
from handlers._http.web import SERVICES_KEY
from twofactor.domain.services import Services
from twofactor.errors import ServerError, StepUpTokenMissing

TokenInfo = dict[str, Any]
SecurityFunction = Callable[[ConnexionRequest], Awaitable[TokenInfo | None] | TokenInfo | None]

_VERIFIED_KEY = "twofactor.verified_access"


class RequestSecurityHandler(AbstractSecurityHandler):  # type: ignore[misc]
    """Calls the scheme's function with the whole request.

    Connexion's own handlers read the credential themselves and parse cookies with
    ``SimpleCookie``, which drops every cookie when one is malformed; these functions read the
    credential from the request through ``handlers._http.credentials``, where header-over-cookie
    precedence and tolerant cookie parsing are written once.
    """

    def get_fn(
        self, security_scheme: dict[str, Any], required_scopes: list[str]
    ) -> Callable[[ConnexionRequest], Awaitable[Any]]:
        name = security_scheme.get("x-bearerInfoFunc") or security_scheme.get("x-apikeyInfoFunc")
        function: SecurityFunction = get_function_from_name(name)

        async def verify(request: ConnexionRequest) -> Any:
            result = function(request)
            if inspect.isawaitable(result):
                result = await result
            return NO_VALUE if result is None else result

        return verify


SECURITY_MAP = {"bearer": RequestSecurityHandler, "apiKey": RequestSecurityHandler}


# Access token ---------------------------------------------------------------------------------


async def access_from_bearer(request: ConnexionRequest) -> TokenInfo | None:
    return await _access(request, Source.HEADER)


async def access_from_cookie(request: ConnexionRequest) -> TokenInfo | None:
    return await _access(request, Source.COOKIE)


async def _access(request: ConnexionRequest, source: Source) -> TokenInfo | None:
    token = credential(request, ACCESS, source)
    return None if token is None else await _verified_access(request, token)


async def _verified_access(request: ConnexionRequest, token: str) -> TokenInfo:
    # Connexion evaluates the access scheme once per alternative; remember the outcome so the
    # allowlist is read once per request.
    cache: dict[str, TokenInfo | Exception] = request.scope.setdefault(_VERIFIED_KEY, {})
    if token not in cache:
        services = _services(request)
        try:
            claims = services.tokens.verify_access(token)
            device = await run_blocking(services.sessions.require_listed, claims)
            cache[token] = {"sub": claims.sub, "access": claims, "device": device}
        except Exception as error:
            cache[token] = error
    outcome = cache[token]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def raise_unchecked_access(request: ConnexionRequest) -> None:
    """Where the access credential is optional (``{}`` among the operation's alternatives), raise
    the server error that kept a sent credential from being checked.

    Connexion falls back to the empty alternative whatever made the others fail. A credential
    that is invalid, expired or logged out is rightly no credential there (the status reports
    signed out, a logout has nothing to end); one that could not be checked (the allowlist
    unreadable) is not: answering as if signed out would tell the client its session was over
    when it may still be listed, and a logout would leave it listed.
    """
    cache: dict[str, TokenInfo | Exception] = request.scope.get(_VERIFIED_KEY, {})
    for outcome in cache.values():
        if isinstance(outcome, ServerError):
            raise outcome


# Step-up token --------------------------------------------------------------------------------


def step_up_from_header(request: ConnexionRequest) -> TokenInfo | None:
    return _step_up(request, Source.HEADER)


def step_up_from_cookie(request: ConnexionRequest) -> TokenInfo | None:
    return _step_up(request, Source.COOKIE)


def _step_up(request: ConnexionRequest, source: Source) -> TokenInfo | None:
    token = credential(request, STEP_UP, source)
    if token is None:
        if sent(request, STEP_UP) is None:
            raise StepUpTokenMissing()
        return None  # the other source has it and answers
    claims = _services(request).tokens.verify_step_up(token)
    return {"sub": claims.sub, "step_up": claims}


# Two-factor pending token ---------------------------------------------------------------------


# Unlike the step-up token, the 2FA token is sometimes an alternative to the access token
# (POST /auth/2fa/email/send), so its absence is not an error here: when no alternative is
# complete, ``handlers._http.problems`` tells a missing 2FA token from a missing access token.


def two_factor_from_header(request: ConnexionRequest) -> TokenInfo | None:
    return _two_factor(request, Source.HEADER)


def two_factor_from_cookie(request: ConnexionRequest) -> TokenInfo | None:
    return _two_factor(request, Source.COOKIE)


def _two_factor(request: ConnexionRequest, source: Source) -> TokenInfo | None:
    token = credential(request, TWO_FACTOR, source)
    if token is None:
        return None
    claims = _services(request).tokens.verify_two_factor(token)
    return {"sub": claims.sub, "two_factor": claims}


# Refresh token --------------------------------------------------------------------------------


def refresh_from_bearer(request: ConnexionRequest) -> TokenInfo | None:
    return _refresh(request, Source.HEADER)


def refresh_from_cookie(request: ConnexionRequest) -> TokenInfo | None:
    return _refresh(request, Source.COOKIE)


def _refresh(request: ConnexionRequest, source: Source) -> TokenInfo | None:
    token = credential(request, REFRESH, source)
    if token is None:
        return None
    claims = _services(request).tokens.verify_refresh(token)
    return {"sub": claims.sub, "refresh": claims}


def _services(request: ConnexionRequest) -> Services:
    services: Services = request.scope[SERVICES_KEY]
    return services
