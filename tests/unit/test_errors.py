"""The exception tree: stable codes, HTTP statuses and reason-phrase titles (contract §1)."""

from __future__ import annotations

import inspect

import pytest

from twofactor import errors

#: Contract §1: every code the core operation can answer with, and its status.
CONTRACT_CODES = [
    ("TWO_FACTOR_METHOD_ALREADY_DISABLED", 304),
    ("CANNOT_DISABLE_ONLY_TWO_FACTOR_METHOD", 400),
    ("NO_PASSWORD_PROVIDER", 400),
    ("AUTHENTICATION_REQUIRED", 401),
    ("ACCESS_TOKEN_INVALID", 401),
    ("ACCESS_TOKEN_EXPIRED", 401),
    ("STEP_UP_TOKEN_MISSING", 401),
    ("STEP_UP_TOKEN_INVALID", 401),
    ("STEP_UP_TOKEN_EXPIRED", 401),
    ("USER_NOT_FOUND", 404),
    ("ACCESS_TOKEN_ALLOWLIST_READING_FAILURE", 500),
    ("DATABASE_FAILURE", 500),
    ("DATABASE_ENCRYPTION_FAILURE", 500),
    ("HASH_FAILURE", 500),
    ("INVALID_USER_DOCUMENT", 500),
    ("INVALID_PRINCIPAL_DOCUMENT", 500),
    ("POST_COMMIT_SIDE_EFFECT_FAILURE", 500),
]

#: The codes beyond the contract's table that the service also answers with.
OTHER_CODES = [
    ("INVALID_REQUEST", 400),
    ("INVALID_CREDENTIALS", 401),
    ("TWO_FACTOR_TOKEN_MISSING", 401),
    ("TWO_FACTOR_TOKEN_INVALID", 401),
    ("TWO_FACTOR_TOKEN_EXPIRED", 401),
    ("REFRESH_TOKEN_INVALID", 401),
    ("REFRESH_TOKEN_EXPIRED", 401),
    ("EMAIL_ALREADY_REGISTERED", 409),
    ("INTERNAL_ERROR", 500),
    ("SERVICE_UNAVAILABLE", 503),
    ("TWO_FACTOR_METHOD_ALREADY_ENABLED", 304),
    ("INVALID_TWO_FACTOR_CODE", 400),
    ("INVALID_TOTP_SETUP_TOKEN", 400),
    ("TOO_MANY_REQUESTS", 429),
    ("TOO_MANY_ATTEMPTS", 429),
    ("EMAIL_DISABLED", 503),
    ("INVALID_EMAIL_ADDRESS", 400),
    ("INVALID_NAME", 400),
    ("EMAIL_ADDRESS_UNUSABLE", 409),
]

#: Reason phrases written out, so the test does not reuse the implementation's own lookup.
REASON_PHRASES = {
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}

#: Intermediate classes that group others; they are not raised themselves.
GROUPING_CLASSES = {
    errors.ServiceError,
    errors.NotModified,
    errors.ClientError,
    errors.Unauthorized,
    errors.ServerError,
}


def _all_error_classes() -> list[type[errors.ServiceError]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.ServiceError) and cls.__module__ == errors.__name__
    ]


ALL_CLASSES = _all_error_classes()
CONCRETE_CLASSES = [cls for cls in ALL_CLASSES if cls not in GROUPING_CLASSES]


def _ids(classes: list[type[errors.ServiceError]]) -> list[str]:
    return [cls.__name__ for cls in classes]


def test_the_tree_has_the_expected_number_of_concrete_errors() -> None:
    # Guards the parametrised tests below against silently running over an empty list.
    assert len(CONCRETE_CLASSES) >= len(CONTRACT_CODES)


def test_every_concrete_error_has_its_own_code() -> None:
    codes = [cls.code for cls in CONCRETE_CLASSES]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    assert duplicates == []


@pytest.mark.parametrize("cls", CONCRETE_CLASSES, ids=_ids(CONCRETE_CLASSES))
def test_every_concrete_error_has_an_upper_snake_case_code(
    cls: type[errors.ServiceError],
) -> None:
    assert cls.code
    assert cls.code == cls.code.upper()
    assert all(char.isalpha() or char == "_" for char in cls.code)


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=_ids(ALL_CLASSES))
def test_status_code_equals_status(cls: type[errors.ServiceError]) -> None:
    error = cls()
    assert error.status_code == cls.status


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=_ids(ALL_CLASSES))
def test_title_is_the_reason_phrase_of_the_status(cls: type[errors.ServiceError]) -> None:
    assert cls().title == REASON_PHRASES[cls.status]


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=_ids(ALL_CLASSES))
def test_status_matches_the_branch_of_the_tree(cls: type[errors.ServiceError]) -> None:
    if issubclass(cls, errors.NotModified):
        assert cls.status == 304
    elif issubclass(cls, errors.Unauthorized):
        assert cls.status == 401
    elif issubclass(cls, errors.ClientError):
        assert 400 <= cls.status < 500
    elif issubclass(cls, errors.ServerError):
        assert 500 <= cls.status < 600
    else:
        assert cls is errors.ServiceError


@pytest.mark.parametrize(("code", "status"), CONTRACT_CODES)
def test_every_code_of_the_contract_table_exists_with_its_status(code: str, status: int) -> None:
    matching = [cls for cls in CONCRETE_CLASSES if cls.code == code]
    assert len(matching) == 1, f"{code} must be raised by exactly one class"
    assert matching[0].status == status


def test_every_concrete_error_is_listed_with_its_status() -> None:
    assert {cls.code: cls.status for cls in CONCRETE_CLASSES} == dict(CONTRACT_CODES + OTHER_CODES)


@pytest.mark.parametrize("cls", CONCRETE_CLASSES, ids=_ids(CONCRETE_CLASSES))
def test_default_detail_is_used_when_none_is_given(cls: type[errors.ServiceError]) -> None:
    error = cls()
    assert error.detail == cls.default_detail
    assert error.detail
    assert str(error) == error.detail


def test_a_given_detail_replaces_the_default() -> None:
    error = errors.DatabaseFailure("The principal store timed out.")
    assert error.detail == "The principal store timed out."
    assert str(error) == "The principal store timed out."


def test_an_empty_detail_falls_back_to_the_default() -> None:
    assert errors.HashFailure("").detail == errors.HashFailure.default_detail


@pytest.mark.parametrize(
    "cls",
    [cls for cls in CONCRETE_CLASSES if issubclass(cls, errors.Unauthorized)],
    ids=_ids([cls for cls in CONCRETE_CLASSES if issubclass(cls, errors.Unauthorized)]),
)
def test_every_401_carries_a_challenge_with_a_realm(cls: type[errors.Unauthorized]) -> None:
    assert 'realm="twofactor-api"' in cls.challenge


@pytest.mark.parametrize(
    "cls",
    [
        errors.AccessTokenInvalid,
        errors.AccessTokenExpired,
        errors.StepUpTokenInvalid,
        errors.StepUpTokenExpired,
    ],
)
def test_rejected_tokens_are_challenged_as_invalid_token(cls: type[errors.Unauthorized]) -> None:
    assert 'error="invalid_token"' in cls.challenge


def test_errors_can_be_raised_and_caught_through_their_branch() -> None:
    with pytest.raises(errors.ServerError) as caught:
        raise errors.DatabaseEncryptionFailure()
    assert caught.value.code == "DATABASE_ENCRYPTION_FAILURE"
    assert isinstance(caught.value, errors.ServiceError)


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=_ids(ALL_CLASSES))
def test_the_module_docstring_draws_every_class(cls: type[errors.ServiceError]) -> None:
    assert errors.__doc__ is not None
    assert cls.__name__ in errors.__doc__
