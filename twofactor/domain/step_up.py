"""The rules every step-up proof must pass before a security change."""

from __future__ import annotations

from twofactor.domain.model import Principal
from twofactor.errors import StepUpTokenInvalid
from twofactor.security.tokens import AccessClaims, StepUpClaims


def require_step_up_for(access: AccessClaims, step_up: StepUpClaims) -> None:
    """Step 3 of the check order: the step-up proof belongs to this user and this session."""
    if step_up.sub != access.sub or step_up.sid != access.sid:
        raise StepUpTokenInvalid()


def require_unused_step_up(principal: Principal, step_up: StepUpClaims) -> None:
    """A step-up token is consumed by the first security change made with it."""
    if step_up.generation != principal.step_up_generation:
        raise StepUpTokenInvalid()
