"""HTTP operations of the ``guests`` tag."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from handlers._http.presenters import principal_body, tokens_body
from handlers._http.web import json_response, request_info, services, set_session_cookies
from twofactor.domain.model import ClientInfo


def create_guest(body: dict[str, Any]) -> Response:
    principal, tokens = services().accounts.create_guest(body["name"], ClientInfo(), request_info())
    response = json_response({"principal": principal_body(principal), **tokens_body(tokens)}, 201)
    set_session_cookies(response, tokens.access, tokens.refresh)
    return response
