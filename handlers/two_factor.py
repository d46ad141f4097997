"""HTTP operations of the ``two-factor`` tag (arriving with the second-factors issue)."""

from __future__ import annotations

from typing import Any

from handlers.errors import NotImplementedYet

_PENDING = "Second-factor sign-in arrives with the second-factors issue."


def login_with_second_factor(token_info: dict[str, Any], body: dict[str, Any]) -> None:
    raise NotImplementedYet(_PENDING)


def step_up_with_second_factor(token_info: dict[str, Any], body: dict[str, Any]) -> None:
    raise NotImplementedYet(_PENDING)


def set_preferred_method(token_info: dict[str, Any], body: dict[str, Any]) -> None:
    raise NotImplementedYet(_PENDING)
