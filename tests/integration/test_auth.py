"""The auth API around the core operation: register, login, step-up, refresh, logout, status,
users/me, guests, health, and the problem+json shape of every kind of error."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from http.cookies import SimpleCookie

import httpx2
import pytest
from bson import ObjectId

from tests.support.api import PASSWORD, Api
from tests.support.forge import claims_of
from twofactor.security.keys import NamedKey


def cookies_of(response: httpx2.Response) -> dict[str, SimpleCookie]:
    found = {}
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        found.update({name: cookie for name in cookie})
    return found


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Register ---------------------------------------------------------------------------------------


def test_register_returns_201_with_the_principal_and_stores_no_plain_secret(api: Api) -> None:
    response = api.http.post(
        "/auth/register",
        json={"email": "Grace.Hopper@Example.com", "password": PASSWORD, "name": "Grace"},
    )

    assert response.status_code == 201, response.text
    body = response.json()
    # The local part as typed, the domain normalized (lower case, Unicode form).
    assert body["email"] == "Grace.Hopper@example.com"
    assert body["twoFactorMethods"] == []
    assert body["identityProviders"] == ["password"]
    stored = api.document(body["id"])
    assert "Grace" not in str(stored["name"])
    assert "Hopper" not in str(stored["email"])
    assert stored["passwordHash"].startswith("$argon2id$")


def test_register_with_an_email_already_used_in_other_case_returns_409(api: Api) -> None:
    _, email = api.register()

    response = api.http.post(
        "/auth/register", json={"email": email.upper(), "password": PASSWORD, "name": "Twin"}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "EMAIL_ALREADY_REGISTERED"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a@example.com", "password": "short-pw", "name": "A"},
        {"email": 42, "password": PASSWORD, "name": "A"},
        {"email": "a@example.com", "password": PASSWORD},
        {"email": "a@example.com", "password": PASSWORD, "name": "A", "admin": True},
        {"email": "a@example.com", "password": "x" * 129, "name": "A"},
    ],
)
def test_register_with_an_invalid_body_returns_400_without_echoing_it(
    api: Api, body: dict[str, object]
) -> None:
    response = api.http.post("/auth/register", json=body)

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_REQUEST"
    assert str(body["password"]) not in response.text


def test_register_with_malformed_json_returns_400(api: Api) -> None:
    response = api.http.post(
        "/auth/register", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_REQUEST"


def test_register_with_a_non_json_body_returns_415(api: Api) -> None:
    response = api.http.post(
        "/auth/register", content=b"email=a", headers={"Content-Type": "text/plain"}
    )

    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"


# Login ------------------------------------------------------------------------------------------


def test_login_returns_tokens_and_sets_strict_http_only_cookies(api: Api) -> None:
    _, email = api.register()

    response = api.http.post(
        "/auth/login",
        json={
            "email": email,
            "password": PASSWORD,
            "session": {"browser": "Firefox", "os": "Linux"},
        },
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["twoFactorRequired"] is False
    assert claims_of(body["accessToken"])["token_type"] == "access_token"
    assert claims_of(body["refreshToken"])["sid"] == body["sessionId"]
    cookies = cookies_of(response)
    access = cookies["access_token"]["access_token"]
    assert access.value == body["accessToken"]
    assert access["httponly"] is True
    assert access["samesite"] == "strict"
    assert access["path"] == "/"
    assert access["max-age"] == str(api.settings.access_token_ttl)
    assert cookies["refresh_token"]["refresh_token"]["max-age"] == str(
        api.settings.refresh_token_ttl
    )
    session = api.db["sessions"].find_one({"_id": body["sessionId"]})
    assert session is not None
    assert (session["browser"], session["os"]) == ("Firefox", "Linux")


@pytest.mark.parametrize("case", ["wrong password", "unknown email"])
def test_login_with_bad_credentials_returns_the_same_401(api: Api, case: str) -> None:
    _, email = api.register()
    credentials = {
        "wrong password": {"email": email, "password": "not the password"},
        "unknown email": {"email": "nobody@example.com", "password": PASSWORD},
    }[case]

    response = api.http.post("/auth/login", json=credentials)

    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "INVALID_CREDENTIALS"
    assert body["detail"] == "The email address or password is not correct."


def test_login_of_a_user_with_a_second_factor_returns_a_challenge_and_no_session(
    api: Api,
) -> None:
    account = api.account(("totp", "email"))

    response = api.http.post("/auth/login", json={"email": account.email, "password": PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert body["twoFactorRequired"] is True
    assert body["twoFactorMethods"] == ["totp", "email"]
    assert body["preferredTwoFactorMethod"] == "totp"
    assert "accessToken" not in body
    assert claims_of(body["twoFactorToken"])["token_type"] == "two_factor_authentication_token"
    assert set(cookies_of(response)) == {"two_factor_authentication_token"}


# Step-up ----------------------------------------------------------------------------------------


def test_step_up_with_the_password_returns_a_token_bound_to_the_session(api: Api) -> None:
    account = api.account()

    response = api.http.post(
        "/auth/step-up", json={"password": PASSWORD}, headers=bearer(account.access_token)
    )

    assert response.status_code == 200
    claims = claims_of(response.json()["stepUpToken"])
    assert claims["token_type"] == "step_up_token"
    assert claims["sid"] == account.session_id
    assert claims["amr"] == ["pwd"]
    assert claims["exp"] - claims["iat"] == api.settings.step_up_token_ttl
    assert "step_up_token" in cookies_of(response)


def test_step_up_with_a_wrong_password_returns_401_invalid_credentials(api: Api) -> None:
    account = api.account()

    response = api.http.post(
        "/auth/step-up", json={"password": "wrong"}, headers=bearer(account.access_token)
    )

    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_CREDENTIALS"


def test_step_up_of_a_user_without_password_in_the_body_returns_400(api: Api) -> None:
    account = api.account()

    response = api.http.post("/auth/step-up", headers=bearer(account.access_token))

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_REQUEST"


def test_step_up_of_a_user_with_a_second_factor_requires_it(api: Api) -> None:
    account = api.account(("totp",))

    response = api.http.post(
        "/auth/step-up", json={"password": PASSWORD}, headers=bearer(account.access_token)
    )

    assert response.status_code == 200
    body = response.json()
    assert body["twoFactorRequired"] is True
    assert "stepUpToken" not in body


def test_step_up_without_access_token_returns_401(api: Api) -> None:
    response = api.http.post("/auth/step-up", json={"password": PASSWORD})

    assert response.status_code == 401
    assert response.json()["code"] == "AUTHENTICATION_REQUIRED"


# Refresh ----------------------------------------------------------------------------------------


def test_refresh_rotates_both_tokens_in_the_same_session(api: Api) -> None:
    account = api.account()

    response = api.http.post("/auth/refresh", headers=bearer(account.refresh_token))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["sessionId"] == account.session_id
    assert body["refreshToken"] != account.refresh_token
    me = api.http.get("/users/me", headers=bearer(body["accessToken"]))
    assert me.status_code == 200


def test_refresh_with_a_cookie_works(api: Api) -> None:
    account = api.account()

    response = api.http.post(
        "/auth/refresh", headers={"Cookie": f"refresh_token={account.refresh_token}"}
    )

    assert response.status_code == 200


def test_reusing_a_refresh_token_revokes_the_session(api: Api) -> None:
    account = api.account()
    rotated = api.http.post("/auth/refresh", headers=bearer(account.refresh_token)).json()

    reuse = api.http.post("/auth/refresh", headers=bearer(account.refresh_token))

    assert reuse.status_code == 401
    assert reuse.json()["code"] == "REFRESH_TOKEN_INVALID"
    me = api.http.get("/users/me", headers=bearer(rotated["accessToken"]))
    assert me.json()["code"] == "ACCESS_TOKEN_EXPIRED"
    again = api.http.post("/auth/refresh", headers=bearer(rotated["refreshToken"]))
    assert again.json()["code"] == "REFRESH_TOKEN_INVALID"


def test_refresh_with_an_access_token_returns_401_refresh_token_invalid(api: Api) -> None:
    account = api.account()

    response = api.http.post("/auth/refresh", headers=bearer(account.access_token))

    assert response.json()["code"] == "REFRESH_TOKEN_INVALID"


def test_refresh_with_an_expired_refresh_token_returns_401_refresh_token_expired(
    start_api: Callable[..., Api],
) -> None:
    timed = start_api()
    account = timed.account()
    timed.clock.advance(timed.settings.refresh_token_ttl + 1)

    response = timed.http.post("/auth/refresh", headers=bearer(account.refresh_token))

    assert response.json()["code"] == "REFRESH_TOKEN_EXPIRED"


def test_refresh_without_a_token_returns_401_authentication_required(api: Api) -> None:
    response = api.http.post("/auth/refresh")

    assert response.status_code == 401
    assert response.json()["code"] == "AUTHENTICATION_REQUIRED"


# Logout, status, me -----------------------------------------------------------------------------


def test_logout_revokes_the_session_and_clears_the_cookies(api: Api) -> None:
    account = api.account()

    response = api.http.post("/auth/logout", headers=bearer(account.access_token))

    assert response.status_code == 204
    cleared = cookies_of(response)
    for name in ("access_token", "refresh_token", "step_up_token"):
        assert cleared[name][name]["max-age"] == "0"
    me = api.http.get("/users/me", headers=bearer(account.access_token))
    assert me.json()["code"] == "ACCESS_TOKEN_EXPIRED"
    refresh = api.http.post("/auth/refresh", headers=bearer(account.refresh_token))
    assert refresh.json()["code"] == "REFRESH_TOKEN_INVALID"


def test_logout_without_a_session_still_answers_204(api: Api) -> None:
    assert api.http.post("/auth/logout").status_code == 204


def test_status_without_a_token_says_not_authenticated(api: Api) -> None:
    response = api.http.get("/auth/status")

    assert response.status_code == 200
    assert response.json()["authenticated"] is False


def test_status_reports_the_session_and_a_usable_step_up(api: Api) -> None:
    account = api.account(("totp", "email"))

    response = api.http.get("/auth/status", headers=account.headers())

    body = response.json()
    assert body["authenticated"] is True
    assert body["sessionId"] == account.session_id
    assert body["twoFactorMethods"] == ["totp", "email"]
    assert body["stepUpPresent"] is True
    assert body["principal"]["id"] == account.id


def test_status_reports_no_step_up_once_it_was_used(api: Api) -> None:
    account = api.account(("totp", "email"))
    assert api.http.delete("/auth/2fa/totp", headers=account.headers()).status_code == 200

    response = api.http.get("/auth/status", headers=account.headers())

    assert response.json()["stepUpPresent"] is False


def test_users_me_returns_the_principal(api: Api) -> None:
    account = api.account()

    response = api.http.get("/users/me", headers=bearer(account.access_token))

    assert response.status_code == 200
    assert response.json()["email"] == account.email


def test_users_me_accepts_the_access_cookie(api: Api) -> None:
    account = api.account()

    response = api.http.get("/users/me", headers={"Cookie": f"access_token={account.access_token}"})

    assert response.json()["id"] == account.id


def test_tokens_signed_by_a_rotated_out_key_still_verify_while_it_is_kept(
    start_api: Callable[..., Api],
) -> None:
    old = start_api()
    account = old.account()
    new_key = NamedKey("test-jwt-2", secrets.token_bytes(32))
    keys = (new_key, *old.settings.jwt_signing_keys)
    rotated = start_api(jwt_signing_keys=keys, mongodb_database=old.settings.mongodb_database)

    response = rotated.http.get("/users/me", headers=bearer(account.access_token))
    fresh = rotated.login(account.email)["accessToken"]

    assert response.status_code == 200
    assert rotated.http.get("/users/me", headers=bearer(fresh)).status_code == 200
    assert old.http.get("/users/me", headers=bearer(fresh)).json()["code"] == (
        "ACCESS_TOKEN_INVALID"
    )


# Guests -----------------------------------------------------------------------------------------


def test_create_guest_returns_201_with_a_session(api: Api) -> None:
    response = api.http.post("/guests", json={"name": "Visitor"})

    assert response.status_code == 201
    body = response.json()
    assert body["principal"]["roles"] == ["guest"]
    assert body["principal"]["email"] is None
    assert body["principal"]["identityProviders"] == []
    me = api.http.get("/users/me", headers=bearer(body["accessToken"]))
    assert me.json()["id"] == body["principal"]["id"]
    assert api.document(body["principal"]["id"])["kind"] == "guest"


def test_guest_step_up_needs_no_password_and_proves_nothing_more(api: Api) -> None:
    guest = api.http.post("/guests", json={"name": "Visitor"}).json()

    response = api.http.post("/auth/step-up", headers=bearer(guest["accessToken"]))

    assert response.status_code == 200
    assert claims_of(response.json()["stepUpToken"])["amr"] == []


# Health, routing, placeholders -----------------------------------------------------------------


def test_health_and_ready_answer_ok(api: Api) -> None:
    assert api.http.get("/health").json() == {"status": "ok"}
    assert api.http.get("/ready").json()["status"] == "ready"


def test_unknown_path_returns_a_404_problem(api: Api) -> None:
    response = api.http.get("/no/such/thing")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "NOT_FOUND"
    assert body["instance"] == "/api/no/such/thing"
    assert set(body) >= {"type", "title", "status", "detail", "timestamp", "requestId"}


def test_wrong_method_returns_a_405_problem(api: Api) -> None:
    response = api.http.put("/health")

    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"


def test_totp_setup_without_credentials_answers_401(api: Api) -> None:
    response = api.http.get("/auth/2fa/totp/setup")

    assert response.json()["code"] == "AUTHENTICATION_REQUIRED"


def test_every_response_carries_a_request_id(api: Api) -> None:
    first = api.http.get("/health").headers["x-request-id"]
    second = api.http.get("/health").headers["x-request-id"]

    assert first != second


def test_swagger_ui_and_the_spec_are_served(api: Api) -> None:
    ui = api.http.get("/ui/")
    spec = api.http.get("/openapi.json")

    assert ui.status_code == 200
    assert "swagger" in ui.text.lower()
    schemes = spec.json()["components"]["securitySchemes"]
    assert {"accessToken", "stepUpToken"} <= set(schemes)


def test_a_principal_id_in_a_token_that_does_not_exist_is_user_not_found(api: Api) -> None:
    account = api.account()
    api.principals.delete_one({"_id": ObjectId(account.id)})

    response = api.http.get("/users/me", headers=bearer(account.access_token))

    assert response.status_code == 404
    assert response.json()["code"] == "USER_NOT_FOUND"


def test_a_body_that_is_not_utf8_answers_400(api: Api) -> None:
    response = api.http.post(
        "/auth/register", content=b"\xff\xfe", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_REQUEST"


def test_405_lists_every_method_of_the_path(api: Api) -> None:
    response = api.http.put("/auth/2fa/totp/setup")

    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "AUTHENTICATION_REQUIRED"),
        ({"Authorization": "Bearer not-a-jwt"}, "ACCESS_TOKEN_INVALID"),
        ({"X-Two-Factor-Authentication-Token": "not-a-jwt"}, "TWO_FACTOR_TOKEN_INVALID"),
    ],
)
def test_email_send_takes_an_access_or_a_2fa_token(
    api: Api, headers: dict[str, str], code: str
) -> None:
    response = api.http.post("/auth/2fa/email/send", headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == code


def test_2fa_login_without_its_token_answers_two_factor_token_missing(api: Api) -> None:
    response = api.http.post("/auth/2fa/login", json={"totp": "123456"})

    assert response.json()["code"] == "TWO_FACTOR_TOKEN_MISSING"


def test_2fa_step_up_checks_the_access_token_before_the_2fa_token(api: Api) -> None:
    account = api.account()

    anonymous = api.http.post("/auth/2fa/step-up", json={"totp": "123456"})
    without_pending = api.http.post(
        "/auth/2fa/step-up", json={"totp": "123456"}, headers=bearer(account.access_token)
    )

    assert anonymous.json()["code"] == "AUTHENTICATION_REQUIRED"
    assert without_pending.json()["code"] == "TWO_FACTOR_TOKEN_MISSING"


def test_five_wrong_passwords_block_the_account_even_for_the_right_one(api: Api) -> None:
    _, email = api.register()

    wrong = [
        api.http.post("/auth/login", json={"email": email, "password": "nope"}).status_code
        for _ in range(5)
    ]
    blocked = api.http.post("/auth/login", json={"email": email, "password": PASSWORD})

    assert wrong == [401] * 5
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "TOO_MANY_ATTEMPTS"
    assert int(blocked.headers["retry-after"]) > 0


def test_a_success_clears_the_failures_of_the_account(api: Api) -> None:
    _, email = api.register()
    for _ in range(4):
        api.http.post("/auth/login", json={"email": email, "password": "nope"})
    api.login(email)

    after = [
        api.http.post("/auth/login", json={"email": email, "password": "nope"}).status_code
        for _ in range(4)
    ]

    assert after == [401] * 4


def test_wrong_step_up_passwords_are_throttled_per_user(start_api: Callable[..., Api]) -> None:
    timed = start_api()
    account = timed.account()

    def step_up(password: str, access: str = account.access_token) -> int:
        return timed.http.post(
            "/auth/step-up", json={"password": password}, headers=bearer(access)
        ).status_code

    # The account's own step-up (a right password) counted for a lease of 10 s only.
    timed.clock.advance(10)
    assert [step_up("nope") for _ in range(5)] == [401] * 5
    assert step_up(PASSWORD) == 429
    timed.clock.advance(15 * 60 + 1)
    assert step_up(PASSWORD, timed.login(account.email)["accessToken"]) == 200
