"""HTTP operations of the ``guests`` tag."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from handlers._http import cookies, presenters
from handlers._http.web import json_response, request_info, services
from twofactor.domain.model import ClientInfo


def create_guest(body: dict[str, Any]) -> Response:
    principal, tokens = services().accounts.create_guest(body["name"], ClientInfo(), request_info())
    response = json_response(presenters.guest_response(principal, tokens), 201)
    return cookies.signed_in(response, tokens)
