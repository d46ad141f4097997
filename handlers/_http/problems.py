"""Every error answer is RFC 9457 ``application/problem+json`` with ``code``, ``timestamp`` and
``requestId``: the service's own errors, Connexion's validation and security errors, routing's
404/405 and anything unexpected."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from connexion.exceptions import (
    BadRequestProblem,
    OAuthProblem,
    ProblemException,
)
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from handlers._http.credentials import ACCESS, offered
from handlers._http.spec_index import SpecIndex
from handlers._http.web import REQUEST_ID_KEY
from twofactor.errors import (
    AuthenticationRequired,
    InternalError,
    InvalidRequest,
    ServiceError,
    TooManyRequests,
    TwoFactorTokenMissing,
    Unauthorized,
)

logger = logging.getLogger("twofactor._http.problems")

PROBLEM_TYPE_BASE = "https://twofactor-api.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
_CODE_BY_STATUS = {
    400: "INVALID_REQUEST",
    401: "AUTHENTICATION_REQUIRED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    501: "NOT_IMPLEMENTED",
}
_SAFE_DETAIL = {
    404: "No operation is found at this path.",
    405: "This path does not support this method.",
    406: "The requested response type is not supported.",
    415: "The request body must be application/json.",
}
# jsonschema messages start with the offending value ("'hunter2...' is too long"); the value may
# be a password, so it is never echoed back.
_LEADING_VALUE = re.compile(r"^(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\S+) (is|does|has) ")


Renderer = Callable[[ConnexionRequest, Exception], ConnexionResponse]


def on_event_loop(renderer: Renderer) -> Callable[[ConnexionRequest, Exception], Awaitable[Any]]:
    """The error handler Connexion is given for ``renderer``: a coroutine function, so that
    Connexion calls it on the event loop. It would run a plain function in a worker thread (a
    hop there and back for every 304, 401 or 404) although rendering reads nothing."""

    async def handler(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
        return renderer(request, error)

    return handler


def service_error(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    assert isinstance(error, ServiceError)
    if error.status >= 500:
        cause = error.__cause__
        logger.error(
            "%s on %s %s (request %s)%s",
            error.code,
            request.method,
            request.url.path,
            _request_id(request),
            f": {type(cause).__name__}: {cause}" if cause else "",
        )
    headers: dict[str, str] = {}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = error.challenge
    if isinstance(error, TooManyRequests):  # every 429 says when to come back
        headers["Retry-After"] = str(error.retry_after)
    if error.status == 304:
        # HTTP forbids a body on 304: the code travels in a header.
        return ConnexionResponse(status_code=304, headers={"X-Error-Code": error.code})
    return _problem(request, error.status, error.code, error.detail, headers)


def connexion_problem(
    request: ConnexionRequest, error: Exception, *, spec: SpecIndex
) -> ConnexionResponse:
    assert isinstance(error, ProblemException)
    if isinstance(error, OAuthProblem) and error.status == 401:
        # Connexion's generic 401: no alternative of the security list had all its credentials.
        if spec.missing_two_factor_token(
            request.url.path, request.method, offered(request, ACCESS)
        ):
            return service_error(request, TwoFactorTokenMissing())
        return service_error(request, AuthenticationRequired())
    if isinstance(error, BadRequestProblem):
        return service_error(request, InvalidRequest(_validation_detail(error.detail)))
    if error.status >= 500:
        logger.error("%s on %s %s: %s", error.title, request.method, request.url.path, error.detail)
    return _generic(request, error.status, {})


def http_exception(
    request: ConnexionRequest, error: Exception, *, spec: SpecIndex
) -> ConnexionResponse:
    assert isinstance(error, HTTPException)
    headers: dict[str, str] = {}
    if error.status_code == 405:
        # Starlette only knows the first route of a path; the spec knows all its methods.
        headers["Allow"] = ", ".join(spec.allowed_methods(request.url.path))
    return _generic(request, error.status_code, headers)


def undecodable_body(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    """A JSON body that is not UTF-8 fails inside Connexion's validator, before any handler."""
    return service_error(request, InvalidRequest("The request body is not valid UTF-8 JSON."))


def unexpected_error(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    logger.error(
        "unexpected %s on %s %s (request %s)",
        type(error).__name__,
        request.method,
        request.url.path,
        _request_id(request),
        exc_info=error,
    )
    return _problem(request, 500, InternalError.code, InternalError.default_detail, {})


def _generic(request: ConnexionRequest, status: int, headers: dict[str, str]) -> ConnexionResponse:
    code = _CODE_BY_STATUS.get(status, "INTERNAL_ERROR" if status >= 500 else "INVALID_REQUEST")
    detail = _SAFE_DETAIL.get(status, HTTPStatus(status).description or HTTPStatus(status).phrase)
    return _problem(request, status, code, detail, headers)


def _problem(
    request: ConnexionRequest, status: int, code: str, detail: str, headers: dict[str, str]
) -> ConnexionResponse:
    body = problem_document(status, code, detail, request.url.path, _request_id(request))
    return ConnexionResponse(
        status_code=status,
        mimetype=PROBLEM_MEDIA_TYPE,
        content_type=PROBLEM_MEDIA_TYPE,
        body=json.dumps(body),
        headers=headers,
    )


def problem_document(
    status: int, code: str, detail: str, instance: str, request_id: str
) -> dict[str, object]:
    """The RFC 9457 body every error answer carries, with the service's ``code`` and ids."""
    return {
        "type": PROBLEM_TYPE_BASE + code.lower().replace("_", "-"),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "requestId": request_id,
    }


async def send_problem(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    code: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer from an ASGI middleware, before Connexion (and its error handlers) saw the request."""
    body = problem_document(status, code, detail, scope["path"], str(scope.get(REQUEST_ID_KEY, "")))
    response = Response(
        json.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )
    await response(scope, receive, send)


def _validation_detail(detail: object) -> str:
    text = str(detail or "The request is not valid.")
    return _LEADING_VALUE.sub(lambda match: f"The value {match.group(1)} ", text, count=1)


def _request_id(request: ConnexionRequest) -> str:
    return str(request.scope.get(REQUEST_ID_KEY, "unknown"))
