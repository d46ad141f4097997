"""The two rules every step-up proof passes before a security change: it belongs to this user
and this session, and it was issued in the principal's current step-up generation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.fakes import a_user
from twofactor.domain.model import Principal
from twofactor.domain.step_up import require_step_up_for, require_unused_step_up
from twofactor.errors import StepUpTokenInvalid
from twofactor.security.tokens import AccessClaims, StepUpClaims

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
ADA = "0123456789abcdef01234567"
BOB = "76543210fedcba9876543210"
SESSION = "session-of-ada"

ACCESS = AccessClaims(sub=ADA, sid=SESSION, jti="access-jti", roles=("user",), expires_at=NOW)


def step_up(sub: str = ADA, sid: str = SESSION, generation: int = 3) -> StepUpClaims:
    return StepUpClaims(
        sub=sub, sid=sid, jti="step-up-jti", amr=("pwd",), generation=generation, expires_at=NOW
    )


def principal(generation: int = 3) -> Principal:
    return a_user(
        id=ADA, created_at=NOW, last_active=NOW, step_up_generation=generation, email=None
    )


def test_a_step_up_of_the_same_user_and_session_belongs_to_the_request() -> None:
    require_step_up_for(ACCESS, step_up())


def test_a_step_up_of_another_user_is_invalid() -> None:
    with pytest.raises(StepUpTokenInvalid):
        require_step_up_for(ACCESS, step_up(sub=BOB))


def test_a_step_up_of_another_session_of_the_same_user_is_invalid() -> None:
    with pytest.raises(StepUpTokenInvalid):
        require_step_up_for(ACCESS, step_up(sid="another-session-of-ada"))


def test_a_step_up_of_the_current_generation_is_unused() -> None:
    require_unused_step_up(principal(generation=3), step_up(generation=3))


def test_a_step_up_of_an_earlier_generation_was_consumed_by_a_security_change() -> None:
    with pytest.raises(StepUpTokenInvalid):
        require_unused_step_up(principal(generation=4), step_up(generation=3))


def test_a_step_up_of_a_generation_the_principal_never_had_is_invalid() -> None:
    with pytest.raises(StepUpTokenInvalid):
        require_unused_step_up(principal(generation=3), step_up(generation=4))
