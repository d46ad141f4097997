"""HTTP operations of the ``email-2fa`` tag (arriving with the second-factors issue)."""

from __future__ import annotations

from typing import Any

from handlers.errors import NotImplementedYet

_PENDING = "Email codes arrive with the second-factors issue."


def send_code(token_info: dict[str, Any]) -> None:
    raise NotImplementedYet(_PENDING)


def enable(token_info: dict[str, Any], body: dict[str, Any]) -> None:
    raise NotImplementedYet(_PENDING)


def disable(token_info: dict[str, Any], locale: str | None = None) -> None:
    raise NotImplementedYet(_PENDING)
