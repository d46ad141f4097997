"""Refusals every operation shares, on each operation (their own tests cover them in depth):
a body over ``MAX_BODY_SIZE``, a body of the wrong media type where an operation takes none, a
security change for an account without a password, email codes while email is switched off.
Each is answered before anything changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from bson import ObjectId

from tests.support.api import Api
from tests.support.reach import Operation, Reached, operations

#: The operations with a JSON body whose 413 no other test sends.
WITH_A_BODY = operations(
    "auth.step_up",
    "email_2fa.enable",
    "totp.confirm_setup",
    "totp.recover",
    "two_factor.login_with_second_factor",
    "two_factor.set_preferred_method",
    "two_factor.step_up_with_second_factor",
)
#: The operations that take no body at all.
WITHOUT_A_BODY = operations("email_2fa.disable", "totp.disable_totp")


@pytest.mark.parametrize("operation", WITH_A_BODY + WITHOUT_A_BODY, ids=str)
def test_a_body_over_the_size_limit_returns_413_before_it_is_read(
    api: Api, operation: Operation
) -> None:
    reached = Reached.prepare(api)
    before = api.document(reached.account.id)
    oversized = b'{"padding": "' + b"x" * api.settings.max_body_size + b'"}'

    response = api.http.request(
        operation.method,
        operation.path,
        headers=operation.headers(reached) | {"Content-Type": "application/json"},
        content=oversized,
    )

    assert (response.status_code, response.json()["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert api.document(reached.account.id) == before


@pytest.mark.parametrize("operation", WITHOUT_A_BODY, ids=str)
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json"])
def test_a_body_sent_where_none_is_taken_returns_415_and_changes_nothing(
    api: Api, operation: Operation, content_type: str | None
) -> None:
    # Whatever the body claims to be: ignoring it would do the change the client may not mean.
    reached = Reached.prepare(api)
    typed = {} if content_type is None else {"Content-Type": content_type}

    response = api.http.request(
        operation.method, operation.path, headers=operation.headers(reached) | typed, content=b"{}"
    )

    assert (response.status_code, response.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert sorted(api.document(reached.account.id)["twoFactor"]["methods"]) == ["email", "totp"]


def test_disabling_email_codes_for_an_account_without_a_password_returns_400(api: Api) -> None:
    reached = Reached.prepare(api)
    # A user provisioned by an external identity provider has no password identity.
    api.principals.update_one(
        {"_id": ObjectId(reached.account.id)}, {"$unset": {"passwordHash": ""}}
    )

    response = operations("email_2fa.disable")[0].send(api, reached)

    assert (response.status_code, response.json()["code"]) == (400, "NO_PASSWORD_PROVIDER")
    assert sorted(api.document(reached.account.id)["twoFactor"]["methods"]) == ["email", "totp"]


def test_enabling_email_codes_while_email_is_switched_off_returns_503(
    start_api: Callable[..., Api],
) -> None:
    api = start_api(email_enabled=False)
    account = api.account(("totp",))

    response = api.http.post(
        "/auth/2fa/email/enable", headers=account.headers(), json={"code": "123456"}
    )

    assert (response.status_code, response.json()["code"]) == (503, "EMAIL_DISABLED")
    assert api.document(account.id)["twoFactor"]["methods"] == ["totp"]
