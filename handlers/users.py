"""HTTP operations of the ``users`` tag."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from handlers._http import presenters
from handlers._http.web import Verified, json_response, services


def get_me(token_info: dict[str, Any]) -> Response:
    access = Verified.of(token_info).require_access()
    return json_response(presenters.principal_response(services().accounts.require(access.sub)))
