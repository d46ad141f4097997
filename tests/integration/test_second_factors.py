"""Second factors end to end through HTTP only: TOTP setup, 2FA login and step-up, email codes,
recovery codes, the preferred method, and finally a 200 on DELETE /api/auth/2fa/totp."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx2
import pyotp
import pytest

from tests.support.api import PASSWORD, Api
from tests.support.forge import claims_of
from tests.support.smtp import SmtpSink


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def code_in(message: Any) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"\b(\d{6})\b", text)
    assert found, text
    return found.group(1)


def next_totp(secret: str, api: Api, used: set[str] | None = None) -> str:
    """A code of the current time step; when that one was used, of the next one."""
    totp = pyotp.TOTP(secret)
    now = api.clock.now().timestamp()
    code = totp.at(now)
    if used is not None and code in used:
        api.clock.advance(30)
        code = totp.at(api.clock.now().timestamp())
    if used is not None:
        used.add(code)
    return code


class User:
    """A user driven through the public API only."""

    def __init__(self, api: Api, sink: SmtpSink) -> None:
        self.api = api
        self.sink = sink
        self.id, self.email = api.register()
        login = api.login(self.email)
        self.access = login["accessToken"]
        self.step_up = api.step_up(self.access)
        self.secret = ""
        self.recovery_codes: list[str] = []
        self.used_codes: set[str] = set()

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access) | {"X-Step-Up-Token": self.step_up}

    def set_up_totp(self) -> httpx2.Response:
        setup = self.api.http.get("/auth/2fa/totp/setup", headers=self.headers)
        assert setup.status_code == 200, setup.text
        body = setup.json()
        self.secret = body["secret"]
        self.recovery_codes = body["recoveryCodes"]
        return self.api.http.post(
            "/auth/2fa/totp/setup",
            headers=self.headers,
            json={
                "token": body["token"],
                "code": next_totp(self.secret, self.api, self.used_codes),
            },
        )

    def mailed_code(self, headers: dict[str, str], count: int) -> str:
        sent = self.api.http.post("/auth/2fa/email/send", headers=headers)
        assert sent.status_code == 200, sent.text
        messages = self.sink.wait_for(self.email, count)
        assert len(messages) >= count
        return code_in(messages[-1])

    def two_factor_step_up(self, proof: dict[str, str]) -> httpx2.Response:
        challenge = self.api.http.post(
            "/auth/step-up", json={"password": PASSWORD}, headers=bearer(self.access)
        ).json()
        assert challenge["twoFactorRequired"] is True
        return self.api.http.post(
            "/auth/2fa/step-up",
            json=proof,
            headers=bearer(self.access)
            | {"X-Two-Factor-Authentication-Token": challenge["twoFactorToken"]},
        )


def mails_to(sink: SmtpSink, address: str) -> list[str]:
    return [str(message["Subject"]) for message in sink.messages_to(address)]


def test_a_user_reaches_200_on_disable_totp_through_the_public_api_alone(
    api: Api, smtp_sink: SmtpSink
) -> None:
    user = User(api, smtp_sink)

    # TOTP setup, confirmed with a code computed from the returned secret.
    enabled = user.set_up_totp()
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["twoFactorMethods"] == ["totp"]
    assert "A two-factor method was added to your account" in mails_to(smtp_sink, user.email)

    # Sign in again: the password is not enough any more; TOTP finishes the login.
    challenge = api.http.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert challenge.json()["twoFactorRequired"] is True
    pending = challenge.json()["twoFactorToken"]
    login = api.http.post(
        "/auth/2fa/login",
        json={"totp": next_totp(user.secret, api, user.used_codes)},
        headers={"X-Two-Factor-Authentication-Token": pending},
    )
    assert login.status_code == 200, login.text
    user.access = login.json()["accessToken"]

    # Email code from the SMTP server, proven in a 2FA step-up with TOTP, then email enabled.
    step_up = user.two_factor_step_up({"totp": next_totp(user.secret, api, user.used_codes)})
    assert step_up.status_code == 200, step_up.text
    assert claims_of(step_up.json()["stepUpToken"])["amr"] == ["pwd", "otp"]
    user.step_up = step_up.json()["stepUpToken"]
    mailed = user.mailed_code(bearer(user.access), count=2)
    enabled_email = api.http.post(
        "/auth/2fa/email/enable", headers=user.headers, json={"code": mailed}
    )
    assert enabled_email.status_code == 200, enabled_email.text
    assert enabled_email.json()["twoFactorMethods"] == ["totp", "email"]
    assert enabled_email.json()["emailVerified"] is True

    # A new step-up (with the emailed code this time), then the core operation.
    challenge_code = user.two_factor_step_up({"email": user.mailed_code(bearer(user.access), 4)})
    assert challenge_code.status_code == 200, challenge_code.text
    old_step_up = user.step_up
    user.step_up = challenge_code.json()["stepUpToken"]
    removed = api.http.delete("/auth/2fa/totp", headers=user.headers)

    assert removed.status_code == 200, removed.text
    assert removed.json()["twoFactorMethods"] == ["email"]
    assert removed.json()["preferredTwoFactorMethod"] == "email"

    # What belonged to TOTP is refused now: codes, recovery codes, and the used step-up tokens.
    retry = api.http.post("/auth/login", json={"email": user.email, "password": PASSWORD}).json()
    pending = {"X-Two-Factor-Authentication-Token": retry["twoFactorToken"]}
    old_code = api.http.post(
        "/auth/2fa/login", json={"totp": pyotp.TOTP(user.secret).now()}, headers=pending
    )
    assert old_code.json()["code"] == "INVALID_TWO_FACTOR_CODE"
    recovery = api.http.post(
        "/auth/2fa/totp/recover", json={"code": user.recovery_codes[0]}, headers=pending
    )
    assert recovery.json()["code"] == "INVALID_TWO_FACTOR_CODE"
    for used in (old_step_up, user.step_up):
        again = api.http.delete(
            "/auth/2fa/email", headers=bearer(user.access) | {"X-Step-Up-Token": used}
        )
        assert again.json()["code"] == "STEP_UP_TOKEN_INVALID"


def test_setup_stores_nothing_and_its_token_hides_the_secret(api: Api, smtp_sink: SmtpSink) -> None:
    user = User(api, smtp_sink)

    setup = api.http.get("/auth/2fa/totp/setup", headers=user.headers).json()

    assert len(setup["secret"]) == 32
    assert setup["totpAuthUrl"].startswith("otpauth://totp/twofactor-api:")
    assert user.email.replace("@", "%40") in setup["totpAuthUrl"]
    assert setup["qrCode"].startswith("data:image/svg+xml;base64,")
    assert len(setup["recoveryCodes"]) == 10
    assert len(set(setup["recoveryCodes"])) == 10
    sealed = str(claims_of(setup["token"]))
    assert setup["secret"] not in sealed
    assert all(code not in sealed for code in setup["recoveryCodes"])
    assert api.document(user.id)["twoFactor"]["methods"] == []
    # GET does not consume the step-up token.
    again = api.http.get("/auth/2fa/totp/setup", headers=user.headers)
    assert again.status_code == 200


def test_confirming_setup_with_a_wrong_code_changes_nothing(api: Api, smtp_sink: SmtpSink) -> None:
    user = User(api, smtp_sink)
    setup = api.http.get("/auth/2fa/totp/setup", headers=user.headers).json()
    wrong = f"{(int(pyotp.TOTP(setup['secret']).now()) + 1) % 1_000_000:06d}"

    response = api.http.post(
        "/auth/2fa/totp/setup", headers=user.headers, json={"token": setup["token"], "code": wrong}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_TWO_FACTOR_CODE"
    assert api.document(user.id)["twoFactor"]["methods"] == []


def test_a_setup_token_of_another_user_is_refused(api: Api, smtp_sink: SmtpSink) -> None:
    user, other = User(api, smtp_sink), User(api, smtp_sink)
    setup = api.http.get("/auth/2fa/totp/setup", headers=other.headers).json()

    response = api.http.post(
        "/auth/2fa/totp/setup",
        headers=user.headers,
        json={"token": setup["token"], "code": pyotp.TOTP(setup["secret"]).now()},
    )

    assert response.json()["code"] == "INVALID_TOTP_SETUP_TOKEN"


def test_setup_when_totp_is_already_enabled_answers_304(api: Api, smtp_sink: SmtpSink) -> None:
    user = User(api, smtp_sink)
    assert user.set_up_totp().status_code == 200
    user.step_up = user.two_factor_step_up(
        {"totp": next_totp(user.secret, api, user.used_codes)}
    ).json()["stepUpToken"]

    response = api.http.get("/auth/2fa/totp/setup", headers=user.headers)

    assert response.status_code == 304
    assert response.headers["x-error-code"] == "TWO_FACTOR_METHOD_ALREADY_ENABLED"


def test_enabling_totp_signs_out_the_other_sessions_but_not_this_one(
    api: Api, smtp_sink: SmtpSink
) -> None:
    user = User(api, smtp_sink)
    other_session = api.login(user.email)["accessToken"]

    assert user.set_up_totp().status_code == 200

    assert api.http.get("/users/me", headers=bearer(user.access)).status_code == 200
    other = api.http.get("/users/me", headers=bearer(other_session))
    assert other.json()["code"] == "ACCESS_TOKEN_EXPIRED"


def test_a_totp_code_is_accepted_once_whichever_endpoint_sees_it(
    api: Api, smtp_sink: SmtpSink
) -> None:
    user = User(api, smtp_sink)
    assert user.set_up_totp().status_code == 200
    api.clock.advance(30)
    code = pyotp.TOTP(user.secret).at(api.clock.now().timestamp())
    pending = api.http.post("/auth/login", json={"email": user.email, "password": PASSWORD}).json()

    first = api.http.post(
        "/auth/2fa/login",
        json={"totp": code},
        headers={"X-Two-Factor-Authentication-Token": pending["twoFactorToken"]},
    )
    replayed = user.two_factor_step_up({"totp": code})

    assert first.status_code == 200
    assert replayed.status_code == 400
    assert replayed.json()["code"] == "INVALID_TWO_FACTOR_CODE"


def test_the_code_that_confirmed_setup_cannot_sign_in(api: Api, smtp_sink: SmtpSink) -> None:
    user = User(api, smtp_sink)
    assert user.set_up_totp().status_code == 200
    [confirming] = user.used_codes
    pending = api.http.post("/auth/login", json={"email": user.email, "password": PASSWORD}).json()

    response = api.http.post(
        "/auth/2fa/login",
        json={"totp": confirming},
        headers={"X-Two-Factor-Authentication-Token": pending["twoFactorToken"]},
    )

    assert response.json()["code"] == "INVALID_TWO_FACTOR_CODE"


def test_five_wrong_codes_block_the_sixth_attempt_with_429(api: Api, smtp_sink: SmtpSink) -> None:
    user = User(api, smtp_sink)
    assert user.set_up_totp().status_code == 200
    pending = api.http.post("/auth/login", json={"email": user.email, "password": PASSWORD}).json()
    headers = {"X-Two-Factor-Authentication-Token": pending["twoFactorToken"]}
    right = pyotp.TOTP(user.secret).at(api.clock.now().timestamp() + 30)
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"

    answers = [
        api.http.post("/auth/2fa/login", json={"totp": wrong}, headers=headers).json()["code"]
        for _ in range(5)
    ]
    api.clock.advance(30)
    blocked = api.http.post("/auth/2fa/login", json={"totp": right}, headers=headers)

    assert answers == ["INVALID_TWO_FACTOR_CODE"] * 5
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "TOO_MANY_ATTEMPTS"
    assert 0 < int(blocked.headers["retry-after"]) <= 15 * 60


def test_recovery_code_signs_in_and_allows_removing_totp(
    start_api: Callable[..., Api], smtp_sink: SmtpSink
) -> None:
    api = start_api()
    user = User(api, smtp_sink)
    assert user.set_up_totp().status_code == 200
    # A user who lost the phone: email must also be on, or TOTP could not be removed.
    user.step_up = user.two_factor_step_up(
        {"totp": next_totp(user.secret, api, user.used_codes)}
    ).json()["stepUpToken"]
    code = user.mailed_code(bearer(user.access), count=2)
    assert (
        api.http.post(
            "/auth/2fa/email/enable", headers=user.headers, json={"code": code}
        ).status_code
        == 200
    )
    pending = api.http.post("/auth/login", json={"email": user.email, "password": PASSWORD}).json()
    headers = {"X-Two-Factor-Authentication-Token": pending["twoFactorToken"]}

    recovered = api.http.post(
        "/auth/2fa/totp/recover", json={"code": user.recovery_codes[3].lower()}, headers=headers
    )

    assert recovered.status_code == 200, recovered.text
    body = recovered.json()
    assert claims_of(body["stepUpToken"])["amr"] == ["pwd", "recovery"]
    removed = api.http.delete(
        "/auth/2fa/totp",
        headers=bearer(body["accessToken"]) | {"X-Step-Up-Token": body["stepUpToken"]},
    )
    assert removed.status_code == 200, removed.text
    assert removed.json()["twoFactorMethods"] == ["email"]
    reused = api.http.post(
        "/auth/2fa/totp/recover", json={"code": user.recovery_codes[3]}, headers=headers
    )
    assert reused.json()["code"] == "INVALID_TWO_FACTOR_CODE"


def test_a_recovery_code_is_single_use(api: Api, smtp_sink: SmtpSink) -> None:
    user = User(api, smtp_sink)
    assert user.set_up_totp().status_code == 200

    def recover() -> httpx2.Response:
        pending = api.http.post(
            "/auth/login", json={"email": user.email, "password": PASSWORD}
        ).json()
        return api.http.post(
            "/auth/2fa/totp/recover",
            json={"code": user.recovery_codes[0]},
            headers={"X-Two-Factor-Authentication-Token": pending["twoFactorToken"]},
        )

    assert recover().status_code == 200
    assert recover().json()["code"] == "INVALID_TWO_FACTOR_CODE"
    assert len(api.document(user.id)["twoFactor"]["totp"]["recoveryCodes"]) == 9


def test_email_code_cooldown_answers_429_with_retry_after(api: Api, smtp_sink: SmtpSink) -> None:
    user = User(api, smtp_sink)
    assert api.http.post("/auth/2fa/email/send", headers=bearer(user.access)).json() == {
        "cooldown": 60
    }

    again = api.http.post("/auth/2fa/email/send", headers=bearer(user.access))

    assert again.status_code == 429
    assert again.json()["code"] == "TOO_MANY_ATTEMPTS"
    assert 0 < int(again.headers["retry-after"]) <= 60
    api.clock.advance(61)
    assert api.http.post("/auth/2fa/email/send", headers=bearer(user.access)).status_code == 200


def test_an_expired_email_code_is_refused(api: Api, smtp_sink: SmtpSink) -> None:
    user = User(api, smtp_sink)
    code = user.mailed_code(bearer(user.access), count=1)
    api.clock.advance(10 * 60 + 1)
    user.step_up = api.step_up(user.access)

    response = api.http.post("/auth/2fa/email/enable", headers=user.headers, json={"code": code})

    assert response.json()["code"] == "INVALID_TWO_FACTOR_CODE"
    assert api.document(user.id)["twoFactor"]["methods"] == []


def test_email_send_with_email_disabled_answers_503(start_api: Callable[..., Api]) -> None:
    api = start_api(email_enabled=False)
    _, email = api.register()
    access = api.login(email)["accessToken"]

    response = api.http.post("/auth/2fa/email/send", headers=bearer(access))

    assert response.status_code == 503
    assert response.json()["code"] == "EMAIL_DISABLED"


def test_preferred_method_must_be_enabled_and_consumes_the_step_up(
    api: Api, smtp_sink: SmtpSink
) -> None:
    user = User(api, smtp_sink)
    assert user.set_up_totp().status_code == 200
    user.step_up = user.two_factor_step_up(
        {"totp": next_totp(user.secret, api, user.used_codes)}
    ).json()["stepUpToken"]

    not_enabled = api.http.post(
        "/auth/2fa/preferred-method", headers=user.headers, json={"method": "email"}
    )
    chosen = api.http.post(
        "/auth/2fa/preferred-method", headers=user.headers, json={"method": "totp"}
    )
    reused = api.http.post(
        "/auth/2fa/preferred-method", headers=user.headers, json={"method": "totp"}
    )

    assert not_enabled.json()["code"] == "INVALID_REQUEST"
    assert chosen.status_code == 200
    assert chosen.json()["preferredTwoFactorMethod"] == "totp"
    assert reused.json()["code"] == "STEP_UP_TOKEN_INVALID"


def test_2fa_step_up_with_a_pending_token_of_another_user_is_refused(
    api: Api, smtp_sink: SmtpSink
) -> None:
    user, other = User(api, smtp_sink), User(api, smtp_sink)
    assert other.set_up_totp().status_code == 200
    pending = api.http.post("/auth/login", json={"email": other.email, "password": PASSWORD}).json()

    response = api.http.post(
        "/auth/2fa/step-up",
        json={"totp": "123456"},
        headers=bearer(user.access)
        | {"X-Two-Factor-Authentication-Token": pending["twoFactorToken"]},
    )

    assert response.status_code == 401
    assert response.json()["code"] == "TWO_FACTOR_TOKEN_INVALID"


@pytest.mark.parametrize("body", [{}, {"totp": "123456", "email": "123456"}, {"totp": "12345"}])
def test_2fa_login_needs_exactly_one_six_digit_proof(
    api: Api, smtp_sink: SmtpSink, body: dict[str, str]
) -> None:
    user = User(api, smtp_sink)
    assert user.set_up_totp().status_code == 200
    pending = api.http.post("/auth/login", json={"email": user.email, "password": PASSWORD}).json()

    response = api.http.post(
        "/auth/2fa/login",
        json=body,
        headers={"X-Two-Factor-Authentication-Token": pending["twoFactorToken"]},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_REQUEST"


def test_2fa_login_without_pending_token_answers_401(api: Api) -> None:
    response = api.http.post("/auth/2fa/login", json={"totp": "123456"})

    assert response.status_code == 401
    assert response.json()["code"] == "TWO_FACTOR_TOKEN_MISSING"


def test_an_expired_setup_token_is_refused(api: Api, smtp_sink: SmtpSink) -> None:
    user = User(api, smtp_sink)
    setup = api.http.get("/auth/2fa/totp/setup", headers=user.headers).json()
    api.clock.advance(10 * 60 + 1)
    user.step_up = api.step_up(user.access)

    response = api.http.post(
        "/auth/2fa/totp/setup",
        headers=user.headers,
        json={"token": setup["token"], "code": pyotp.TOTP(setup["secret"]).at(api.clock.now())},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_TOTP_SETUP_TOKEN"


def test_disabling_email_over_http_while_totp_stays(api: Api, smtp_sink: SmtpSink) -> None:
    account = api.account(("totp", "email"))

    response = api.http.delete("/auth/2fa/email", headers=account.headers())

    assert response.status_code == 200, response.text
    assert response.json()["twoFactorMethods"] == ["totp"]
    assert "email" not in api.document(account.id)["twoFactor"]


def test_2fa_login_with_the_cookie_of_the_challenge_clears_it(
    api: Api, smtp_sink: SmtpSink
) -> None:
    user = User(api, smtp_sink)
    assert user.set_up_totp().status_code == 200
    challenge = api.http.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    pending = challenge.cookies["two_factor_authentication_token"]

    response = api.http.post(
        "/auth/2fa/login",
        json={"totp": next_totp(user.secret, api, user.used_codes)},
        headers={"Cookie": f"two_factor_authentication_token={pending}"},
    )

    assert response.status_code == 200, response.text
    set_cookies = response.headers.get_list("set-cookie")
    assert any(c.startswith("access_token=") and "HttpOnly" in c for c in set_cookies)
    assert any(
        c.startswith("two_factor_authentication_token=") and "Max-Age=0" in c for c in set_cookies
    )
