"""HTTP operations of the ``totp`` tag; ``disable_totp`` is the service's core operation."""

from __future__ import annotations

from typing import Any

from connexion import request
from starlette.responses import Response

from handlers.errors import NotImplementedYet
from handlers.model import TwoFactorMethod
from handlers.presenters import principal_body
from handlers.services.guard import SecurityChangeRequest
from handlers.web import Credentials, json_response, request_info, services


def disable_totp(token_info: dict[str, Any], locale: str | None = None) -> Response:
    credentials = Credentials.of(token_info)
    principal = services().second_factors.disable(
        TwoFactorMethod.TOTP,
        SecurityChangeRequest(
            access=credentials.require_access(),
            step_up=credentials.require_step_up(),
            request=request_info(),
            locale=locale,
            accept_language=request.headers.get("accept-language"),
        ),
    )
    return json_response(principal_body(principal))


def begin_setup(token_info: dict[str, Any]) -> None:
    raise NotImplementedYet("TOTP setup arrives with the second-factors issue.")


def confirm_setup(token_info: dict[str, Any], body: dict[str, Any]) -> None:
    raise NotImplementedYet("TOTP setup arrives with the second-factors issue.")


def recover(token_info: dict[str, Any], body: dict[str, Any]) -> None:
    raise NotImplementedYet("Recovery codes arrive with the second-factors issue.")
