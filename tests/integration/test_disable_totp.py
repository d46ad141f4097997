"""DELETE /api/auth/2fa/totp through HTTP: each row of the contract's table by its real cause,
and the check order when several things are wrong at once."""

from __future__ import annotations

import secrets
from typing import Any

import httpx2
import pytest
from bson import ObjectId

from tests.support.api import Account, Api
from tests.support.forge import claims_of, forge, resign

PATH = "/auth/2fa/totp"


def disable(api: Api, headers: dict[str, str], **params: str) -> httpx2.Response:
    return api.http.delete(PATH, headers=headers, params=params)


def assert_problem(response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["instance"] == "/api" + PATH
    assert body["requestId"] == response.headers["x-request-id"]
    assert body["type"].endswith(code.lower().replace("_", "-"))
    return body


def methods_in_store(api: Api, account: Account) -> list[str]:
    methods: list[str] = api.document(account.id)["twoFactor"]["methods"]
    return methods


# 200 ------------------------------------------------------------------------------------------


def test_disable_totp_with_another_method_enabled_returns_200_and_the_principal(api: Api) -> None:
    account = api.account(("totp", "email"))

    response = disable(api, account.headers())

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == account.id
    assert body["email"] == account.email
    assert body["twoFactorMethods"] == ["email"]
    assert body["preferredTwoFactorMethod"] == "email"
    assert body["twoFactorAuthEnabled"] is True
    assert body["identityProviders"] == ["password"]


def test_disable_totp_removes_the_secret_and_recovery_codes_and_records_the_change(
    api: Api,
) -> None:
    account = api.account(("totp", "email"))

    response = disable(api, account.headers() | {"User-Agent": "integration-test/1.0"})

    assert response.status_code == 200, response.text
    document = api.document(account.id)
    assert document["twoFactor"]["methods"] == ["email"]
    assert document["twoFactor"]["preferred"] == "email"
    assert "totp" not in document["twoFactor"]
    [event] = document["securityEvents"]
    assert event["type"] == "two_factor_removed"
    assert event["method"] == "totp"
    assert event["sessionId"] == account.session_id
    assert event["ip"] == "127.0.0.1"
    assert event["userAgent"] == "integration-test/1.0"


def test_disable_totp_queues_the_alert_in_the_same_write(api: Api) -> None:
    account = api.account(("totp", "email"))

    assert disable(api, account.headers()).status_code == 200

    [alert] = api.document(account.id)["alertOutbox"]
    assert alert["kind"] == "two_factor_removed"
    assert alert["method"] == "totp"
    assert alert["status"] == "sent"
    assert alert["locale"] == "en"
    assert alert["origin"]["sessionId"] == account.session_id


def test_disable_totp_moves_the_preferred_method_to_the_remaining_one(api: Api) -> None:
    account = api.account(("totp", "email"))
    assert api.document(account.id)["twoFactor"]["preferred"] == "totp"

    assert disable(api, account.headers()).status_code == 200

    assert api.document(account.id)["twoFactor"]["preferred"] == "email"


def test_disable_totp_consumes_the_step_up_token(api: Api) -> None:
    account = api.account(("totp", "email"))
    assert disable(api, account.headers()).status_code == 200
    api.enable_methods(account.id, ("totp", "email"))

    response = disable(api, account.headers())

    assert_problem(response, 401, "STEP_UP_TOKEN_INVALID")
    assert methods_in_store(api, account) == ["totp", "email"]


def test_disable_totp_with_both_credentials_in_cookies_returns_200(api: Api) -> None:
    account = api.account(("totp", "email"))
    cookie = f"access_token={account.access_token}; step_up_token={account.step_up_token}"

    response = disable(api, {"Cookie": cookie})

    assert response.status_code == 200, response.text


def test_disable_totp_reads_cookies_even_next_to_a_malformed_cookie(api: Api) -> None:
    account = api.account(("totp", "email"))
    cookie = (
        f'broken="unterminated; access_token={account.access_token}; '
        f"step_up_token={account.step_up_token}"
    )

    response = disable(api, {"Cookie": cookie})

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("locale", ["xx-YY", "ja", "zh-Hant-TW", "en-GB"])
def test_disable_totp_with_a_well_formed_locale_without_catalog_uses_the_default(
    api: Api, locale: str
) -> None:
    account = api.account(("totp", "email"))

    assert disable(api, account.headers(), locale=locale).status_code == 200

    assert api.document(account.id)["alertOutbox"][0]["locale"] == "en"


def test_disable_totp_with_alerts_switched_off_queues_nothing(start_api: Any) -> None:
    quiet = start_api(security_alert_two_factor_removed=False)
    account = quiet.account(("totp", "email"))

    assert disable(quiet, account.headers()).status_code == 200

    document = quiet.document(account.id)
    assert document["alertOutbox"] == []
    assert document["securityEvents"][0]["type"] == "two_factor_removed"


def test_disable_totp_with_email_disabled_queues_no_alert(start_api: Any) -> None:
    quiet = start_api(email_enabled=False)
    account = quiet.account(("totp", "email"))

    assert disable(quiet, account.headers()).status_code == 200

    assert quiet.document(account.id)["alertOutbox"] == []


# 304 and 400 ----------------------------------------------------------------------------------


def test_disable_totp_when_totp_is_not_enabled_returns_304_without_body(api: Api) -> None:
    account = api.account(("email",))

    response = disable(api, account.headers())

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["x-error-code"] == "TWO_FACTOR_METHOD_ALREADY_DISABLED"
    assert methods_in_store(api, account) == ["email"]


def test_disable_totp_for_a_user_without_second_factor_returns_304(api: Api) -> None:
    account = api.account()

    response = disable(api, account.headers())

    assert response.status_code == 304
    assert response.headers["x-error-code"] == "TWO_FACTOR_METHOD_ALREADY_DISABLED"


def test_disable_totp_when_it_is_the_only_method_returns_400_and_keeps_it(api: Api) -> None:
    account = api.account(("totp",))

    response = disable(api, account.headers())

    assert_problem(response, 400, "CANNOT_DISABLE_ONLY_TWO_FACTOR_METHOD")
    assert methods_in_store(api, account) == ["totp"]
    assert api.document(account.id)["alertOutbox"] == []


def test_disable_totp_for_a_user_without_password_returns_400_no_password_provider(
    api: Api,
) -> None:
    account = api.account(("totp", "email"))
    # A user provisioned by an external identity provider has no password identity.
    api.principals.update_one({"_id": ObjectId(account.id)}, {"$unset": {"passwordHash": ""}})

    response = disable(api, account.headers())

    assert_problem(response, 400, "NO_PASSWORD_PROVIDER")
    assert methods_in_store(api, account) == ["totp", "email"]


@pytest.mark.parametrize("locale", ["e", "english-language", "de DE", "12", "de-", "x" * 40])
def test_disable_totp_with_a_malformed_locale_returns_400_and_changes_nothing(
    api: Api, locale: str
) -> None:
    account = api.account(("totp", "email"))

    response = disable(api, account.headers(), locale=locale)

    assert_problem(response, 400, "INVALID_REQUEST")
    assert methods_in_store(api, account) == ["totp", "email"]


def test_disable_totp_with_an_unknown_query_parameter_returns_400(api: Api) -> None:
    account = api.account(("totp", "email"))

    response = disable(api, account.headers(), force="true")

    assert_problem(response, 400, "INVALID_REQUEST")
    assert methods_in_store(api, account) == ["totp", "email"]


# 401: the access credential -------------------------------------------------------------------


def test_disable_totp_without_any_credential_returns_401_authentication_required(
    api: Api,
) -> None:
    response = disable(api, {})

    body = assert_problem(response, 401, "AUTHENTICATION_REQUIRED")
    assert body["title"] == "Unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_disable_totp_with_only_a_step_up_token_returns_401_authentication_required(
    api: Api,
) -> None:
    account = api.account(("totp", "email"))

    response = disable(api, {"X-Step-Up-Token": account.step_up_token})

    assert_problem(response, 401, "AUTHENTICATION_REQUIRED")


def invalid_access_tokens(api: Api, account: Account) -> dict[str, str]:
    settings = api.settings
    claims = claims_of(account.access_token)
    return {
        "garbage": "not-a-jwt",
        "bad signature": forge(settings, claims, key=secrets.token_bytes(32)),
        "unknown kid": forge(settings, claims, kid="retired-key"),
        "refresh token": account.refresh_token,
        "step-up token": account.step_up_token,
        "sub not an id": resign(settings, account.access_token, sub="admin"),
        "no sid": resign(settings, account.access_token, sid=None),
        "roles not a list": resign(settings, account.access_token, roles="admin"),
        "no jti": resign(settings, account.access_token, jti=None),
        "alg none": forge(settings, claims, algorithm="none"),
    }


def test_disable_totp_with_invalid_access_tokens_returns_401_access_token_invalid(
    api: Api,
) -> None:
    account = api.account(("totp", "email"))

    for case, token in invalid_access_tokens(api, account).items():
        response = disable(
            api, {"Authorization": f"Bearer {token}", "X-Step-Up-Token": account.step_up_token}
        )
        assert response.status_code == 401, case
        assert response.json()["code"] == "ACCESS_TOKEN_INVALID", case
    assert methods_in_store(api, account) == ["totp", "email"]


def test_disable_totp_with_an_empty_bearer_returns_401_access_token_invalid(api: Api) -> None:
    response = disable(api, {"Authorization": "Bearer"})

    assert_problem(response, 401, "ACCESS_TOKEN_INVALID")


def test_disable_totp_with_an_expired_access_token_returns_401_access_token_expired(
    start_api: Any,
) -> None:
    timed = start_api()
    account = timed.account(("totp", "email"))
    timed.clock.advance(timed.settings.access_token_ttl + 1)

    response = disable(timed, account.headers())

    assert_problem(response, 401, "ACCESS_TOKEN_EXPIRED")
    assert methods_in_store(timed, account) == ["totp", "email"]


def test_disable_totp_after_logout_returns_401_access_token_expired(api: Api) -> None:
    account = api.account(("totp", "email"))
    logout = api.http.post("/auth/logout", headers=account.headers(step_up=False))
    assert logout.status_code == 204

    response = disable(api, account.headers())

    assert_problem(response, 401, "ACCESS_TOKEN_EXPIRED")
    assert methods_in_store(api, account) == ["totp", "email"]


def test_disable_totp_with_a_validly_signed_token_never_listed_returns_401_expired(
    api: Api,
) -> None:
    account = api.account(("totp", "email"))
    unlisted = resign(api.settings, account.access_token, jti="never-issued")

    response = disable(
        api, {"Authorization": f"Bearer {unlisted}", "X-Step-Up-Token": account.step_up_token}
    )

    assert_problem(response, 401, "ACCESS_TOKEN_EXPIRED")


# 401: the step-up credential ------------------------------------------------------------------


def test_disable_totp_without_step_up_token_returns_401_step_up_token_missing(api: Api) -> None:
    account = api.account(("totp", "email"))

    response = disable(api, account.headers(step_up=False))

    assert_problem(response, 401, "STEP_UP_TOKEN_MISSING")
    assert methods_in_store(api, account) == ["totp", "email"]


def test_disable_totp_with_step_up_of_another_user_returns_401_step_up_token_invalid(
    api: Api,
) -> None:
    account = api.account(("totp", "email"))
    other = api.account(("totp", "email"))

    response = disable(
        api,
        {
            "Authorization": f"Bearer {account.access_token}",
            "X-Step-Up-Token": other.step_up_token,
        },
    )

    assert_problem(response, 401, "STEP_UP_TOKEN_INVALID")
    assert methods_in_store(api, account) == ["totp", "email"]
    assert methods_in_store(api, other) == ["totp", "email"]


def test_disable_totp_with_step_up_of_another_session_returns_401_step_up_token_invalid(
    api: Api,
) -> None:
    account = api.account()
    second_session = api.login(account.email)["accessToken"]
    api.enable_methods(account.id, ("totp", "email"))

    response = disable(
        api,
        {"Authorization": f"Bearer {second_session}", "X-Step-Up-Token": account.step_up_token},
    )

    assert_problem(response, 401, "STEP_UP_TOKEN_INVALID")


@pytest.mark.parametrize("case", ["garbage", "access token", "bad signature", "gen not a number"])
def test_disable_totp_with_invalid_step_up_tokens_returns_401_step_up_token_invalid(
    api: Api, case: str
) -> None:
    account = api.account(("totp", "email"))
    token = {
        "garbage": "abc.def.ghi",
        "access token": account.access_token,
        "bad signature": forge(
            api.settings, claims_of(account.step_up_token), key=secrets.token_bytes(32)
        ),
        "gen not a number": resign(api.settings, account.step_up_token, gen="0"),
    }[case]

    response = disable(
        api, {"Authorization": f"Bearer {account.access_token}", "X-Step-Up-Token": token}
    )

    assert_problem(response, 401, "STEP_UP_TOKEN_INVALID")


def test_disable_totp_with_an_expired_step_up_token_returns_401_step_up_token_expired(
    start_api: Any,
) -> None:
    timed = start_api()
    account = timed.account(("totp", "email"))
    timed.clock.advance(timed.settings.step_up_token_ttl + 1)

    response = disable(timed, account.headers())

    assert_problem(response, 401, "STEP_UP_TOKEN_EXPIRED")
    assert methods_in_store(timed, account) == ["totp", "email"]


# 404 ------------------------------------------------------------------------------------------


def guest_credentials(api: Api) -> dict[str, str]:
    guest = api.http.post("/guests", json={"name": "Visitor"})
    assert guest.status_code == 201, guest.text
    access = guest.json()["accessToken"]
    step_up = api.http.post("/auth/step-up", headers={"Authorization": f"Bearer {access}"})
    assert step_up.status_code == 200, step_up.text
    return {"Authorization": f"Bearer {access}", "X-Step-Up-Token": step_up.json()["stepUpToken"]}


def test_disable_totp_for_a_guest_returns_404_user_not_found(api: Api) -> None:
    response = disable(api, guest_credentials(api))

    assert_problem(response, 404, "USER_NOT_FOUND")


def test_disable_totp_for_a_deleted_user_returns_404_user_not_found(api: Api) -> None:
    account = api.account(("totp", "email"))
    api.principals.delete_one({"_id": ObjectId(account.id)})

    response = disable(api, account.headers())

    assert_problem(response, 404, "USER_NOT_FOUND")


# Check order: which code wins when several things are wrong -----------------------------------


def test_invalid_access_wins_over_missing_step_up(api: Api) -> None:
    response = disable(api, {"Authorization": "Bearer not-a-jwt"})

    assert_problem(response, 401, "ACCESS_TOKEN_INVALID")


def test_revoked_access_wins_over_missing_step_up(api: Api) -> None:
    account = api.account(("totp", "email"))
    api.http.post("/auth/logout", headers=account.headers(step_up=False))

    response = disable(api, account.headers(step_up=False))

    assert_problem(response, 401, "ACCESS_TOKEN_EXPIRED")


def test_invalid_bearer_header_fails_even_next_to_a_valid_access_cookie(api: Api) -> None:
    account = api.account(("totp", "email"))

    response = disable(
        api,
        {
            "Authorization": "Bearer not-a-jwt",
            "Cookie": f"access_token={account.access_token}",
            "X-Step-Up-Token": account.step_up_token,
        },
    )

    assert_problem(response, 401, "ACCESS_TOKEN_INVALID")
    assert methods_in_store(api, account) == ["totp", "email"]


def test_invalid_step_up_header_fails_even_next_to_a_valid_step_up_cookie(api: Api) -> None:
    account = api.account(("totp", "email"))

    response = disable(
        api,
        {
            "Authorization": f"Bearer {account.access_token}",
            "X-Step-Up-Token": "not-a-jwt",
            "Cookie": f"step_up_token={account.step_up_token}",
        },
    )

    assert_problem(response, 401, "STEP_UP_TOKEN_INVALID")
    assert methods_in_store(api, account) == ["totp", "email"]


def test_valid_bearer_header_wins_over_an_invalid_access_cookie(api: Api) -> None:
    account = api.account(("totp", "email"))

    response = disable(api, account.headers() | {"Cookie": "access_token=not-a-jwt"})

    assert response.status_code == 200, response.text


def test_expired_step_up_wins_over_a_guest_principal(start_api: Any) -> None:
    timed = start_api()
    headers = guest_credentials(timed)
    timed.clock.advance(timed.settings.step_up_token_ttl + 1)

    response = disable(timed, headers)

    assert_problem(response, 401, "STEP_UP_TOKEN_EXPIRED")


def test_missing_password_wins_over_totp_not_enabled(api: Api) -> None:
    account = api.account(("email",))
    api.principals.update_one({"_id": ObjectId(account.id)}, {"$unset": {"passwordHash": ""}})

    response = disable(api, account.headers())

    assert_problem(response, 400, "NO_PASSWORD_PROVIDER")


def test_unauthenticated_request_with_a_malformed_locale_returns_401(api: Api) -> None:
    response = disable(api, {}, locale="not a locale")

    assert_problem(response, 401, "AUTHENTICATION_REQUIRED")
