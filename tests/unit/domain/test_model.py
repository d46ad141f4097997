"""The principal's two derived facts the flows switch on: guest or user, second factor or not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from twofactor.domain.model import Kind, Principal, TwoFactorMethod

CREATED = datetime(2030, 1, 2, tzinfo=UTC)


def principal(kind: Kind, *methods: TwoFactorMethod) -> Principal:
    return Principal(
        id="0123456789abcdef01234567",
        kind=kind,
        roles=(kind.value,),
        name="Ada",
        created_at=CREATED,
        last_active=None,
        step_up_generation=0,
        methods=methods,
        preferred_method=methods[0] if methods else None,
    )


def test_a_guest_principal_is_a_guest() -> None:
    assert principal(Kind.GUEST).is_guest


def test_a_user_principal_is_not_a_guest() -> None:
    assert not principal(Kind.USER).is_guest


def test_a_user_without_methods_has_no_two_factor() -> None:
    assert not principal(Kind.USER).two_factor_enabled


@pytest.mark.parametrize(
    "methods",
    [
        (TwoFactorMethod.TOTP,),
        (TwoFactorMethod.EMAIL,),
        (TwoFactorMethod.TOTP, TwoFactorMethod.EMAIL),
    ],
)
def test_any_enabled_method_turns_two_factor_on(methods: tuple[TwoFactorMethod, ...]) -> None:
    assert principal(Kind.USER, *methods).two_factor_enabled


def test_kinds_and_methods_are_named_as_in_the_api_and_storage() -> None:
    assert [kind.value for kind in Kind] == ["user", "guest"]
    assert [method.value for method in TwoFactorMethod] == ["totp", "email"]
