"""HTTP operations of the ``users`` tag."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from handlers._http.presenters import principal_body
from handlers._http.web import Credentials, json_response, services


def get_me(token_info: dict[str, Any]) -> Response:
    access = Credentials.of(token_info).require_access()
    return json_response(principal_body(services().accounts.require(access.sub)))
