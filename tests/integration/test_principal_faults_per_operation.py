"""A principal that is gone or whose stored document cannot be used, on every operation that
reads it (the core operation has its own, fuller tests in test_disable_totp_faults.py).

Each request carries valid credentials and a body of the right shape, so the stored document is
the only thing wrong: deleted after its tokens were issued, a field encrypted under a key the
service does not hold, a malformed principal part, an inconsistent user part, an unparseable
password or recovery-code hash. Each answer is a problem with its code, tells nothing of the
internals, and changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from tests.integration.test_disable_totp_faults import assert_no_internals
from tests.support.api import Api
from tests.support.reach import Operation, Reached, operations

#: Every operation that loads the principal its credential names.
LOADING = operations(
    "auth.login",
    "auth.refresh",
    "auth.status",
    "auth.step_up",
    "email_2fa.send_code",
    "email_2fa.enable",
    "email_2fa.disable",
    "totp.begin_setup",
    "totp.confirm_setup",
    "totp.recover",
    "two_factor.login_with_second_factor",
    "two_factor.set_preferred_method",
    "two_factor.step_up_with_second_factor",
    "users.get_me",
)
#: ... of which these answer for the principal of a refresh or pending 2FA token: when it is
#: gone, that token is invalid.
BEHIND_OTHER_TOKENS = {
    "handlers.auth.refresh": "REFRESH_TOKEN_INVALID",
    "handlers.totp.recover": "TWO_FACTOR_TOKEN_INVALID",
    "handlers.two_factor.login_with_second_factor": "TWO_FACTOR_TOKEN_INVALID",
    "handlers.two_factor.step_up_with_second_factor": "TWO_FACTOR_TOKEN_INVALID",
}
#: ... and the others for the principal of an access token: 404 when it is gone (a sign-in for
#: an address no account has is answered like a wrong password).
BEHIND_ACCESS = [
    operation
    for operation in LOADING
    if operation.operation_id not in BEHIND_OTHER_TOKENS
    and operation.operation_id != "handlers.auth.login"
]
#: The operations that check the stored password hash: sign-in, step-up, and the security changes
#: (a change needs a password identity, whose hash must be readable).
CHECKING_THE_PASSWORD = operations(
    "auth.login",
    "auth.step_up",
    "email_2fa.enable",
    "email_2fa.disable",
    "totp.begin_setup",
    "totp.confirm_setup",
    "two_factor.set_preferred_method",
)


def assert_refused(
    api: Api, reached: Reached, operation: Operation, status: int, code: str
) -> None:
    before = stored(api, reached)
    response = operation.send(api, reached)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert_no_internals(response.text)
    assert stored(api, reached) == before


def stored(api: Api, reached: Reached) -> dict[str, Any] | None:
    """The account's document (``None`` once deleted), aside from what counts the request
    itself: the time of its last request and its budgets (the step-up's attempt, counted before
    the password is checked; the security change's unit, spent once the step-up proof is known
    good). Those are throttling's bookkeeping, not the account's state."""
    document = api.principals.find_one({"_id": ObjectId(reached.account.id)})
    if document is None:
        return None
    return {**document, "lastActive": None, "stepUpAttempts": None, "securityChanges": None}


def corrupt(api: Api, reached: Reached, update: dict[str, Any]) -> None:
    api.principals.update_one({"_id": ObjectId(reached.account.id)}, update)


@pytest.mark.parametrize("operation", BEHIND_ACCESS, ids=str)
def test_an_operation_for_a_principal_deleted_after_sign_in_returns_404_user_not_found(
    api: Api, operation: Operation
) -> None:
    reached = Reached.prepare(api)
    api.principals.delete_one({"_id": ObjectId(reached.account.id)})

    assert_refused(api, reached, operation, 404, "USER_NOT_FOUND")


@pytest.mark.parametrize(
    "operation", operations(*(o.removeprefix("handlers.") for o in BEHIND_OTHER_TOKENS)), ids=str
)
def test_a_refresh_or_pending_token_of_a_deleted_principal_returns_401_invalid(
    api: Api, operation: Operation
) -> None:
    reached = Reached.prepare(api)
    api.principals.delete_one({"_id": ObjectId(reached.account.id)})

    assert_refused(api, reached, operation, 401, BEHIND_OTHER_TOKENS[operation.operation_id])


@pytest.mark.parametrize("operation", LOADING, ids=str)
@pytest.mark.parametrize(
    ("fault", "update", "code"),
    [
        (
            "name under a retired key",
            {"$set": {"name.kid": "retired-key"}},
            "DATABASE_ENCRYPTION_FAILURE",
        ),
        ("unknown kind", {"$set": {"kind": "robot"}}, "INVALID_PRINCIPAL_DOCUMENT"),
        (
            "unknown method",
            {"$set": {"twoFactor.methods": ["totp", "sms"]}},
            "INVALID_USER_DOCUMENT",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else "",
)
def test_an_operation_on_an_unusable_stored_principal_returns_500_and_changes_nothing(
    api: Api, operation: Operation, fault: str, update: dict[str, Any], code: str
) -> None:
    reached = Reached.prepare(api)
    corrupt(api, reached, update)

    assert_refused(api, reached, operation, 500, code)


@pytest.mark.parametrize("operation", CHECKING_THE_PASSWORD, ids=str)
def test_an_operation_checking_an_unparseable_password_hash_returns_500_hash_failure(
    api: Api, operation: Operation
) -> None:
    reached = Reached.prepare(api)
    corrupt(api, reached, {"$set": {"passwordHash": "$2b$12$not-an-argon2-hash"}})

    assert_refused(api, reached, operation, 500, "HASH_FAILURE")


def test_recovery_with_an_unparseable_stored_recovery_code_returns_500_hash_failure(
    api: Api,
) -> None:
    reached = Reached.prepare(api)
    corrupt(api, reached, {"$set": {"twoFactor.totp.recoveryCodes": ["not-a-hash-of-any-kind"]}})

    assert_refused(api, reached, operations("totp.recover")[0], 500, "HASH_FAILURE")
