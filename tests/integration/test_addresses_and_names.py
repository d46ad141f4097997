"""Hostile email addresses and names through the real app, a real database and a real SMTP
server: refused with their codes (nothing stored, nothing mailed), lookalikes that collide, and
accounts whose stored address predates the address policy (reads work, no 500 but the
documented ones, and no mail to anyone)."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pyotp
import pytest
from bson import ObjectId

from tests.support.api import PASSWORD, Account, Api
from tests.support.smtp import SmtpSink
from twofactor.security.crypto import sealed_context

CYRILLIC_A = "\u0430"
FULL_WIDTH_EXAMPLE = "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45"
INTERNALS = ("Traceback", "pymongo", "smtplib", "ValueError", "linefeed")


def problem(response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    for marker in INTERNALS:
        assert marker not in response.text
    return body


def unique(local: str = "ada") -> str:
    return f"{local}-{uuid.uuid4().hex[:10]}"


def register(api: Api, email: str, name: str = "Ada Lovelace") -> httpx2.Response:
    return api.http.post(
        "/auth/register", json={"email": email, "password": PASSWORD, "name": name}
    )


@pytest.fixture
def own_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


# Registration -------------------------------------------------------------------------------

REFUSED_ADDRESSES = [
    "{u}@example.com, eve@elsewhere.example",
    "Eve <{u}@elsewhere.example>",
    "{u}@example.com\r\nBcc: eve@elsewhere.example",
    "{u}@example.com\n",
    "{u}\u200b@example.com",
    "\u202e{u}@example.com",
    "{u}@example.com.",
    "{u}@ex" + CYRILLIC_A + "mple.com",
    '"{u}"@example.com',
    "{u}(comment)@example.com",
    "{u}@[127.0.0.1]",
    "{u}@localhost",
    "no-at-sign-{u}",
]


@pytest.mark.parametrize("template", REFUSED_ADDRESSES)
def test_register_with_a_refused_address_returns_400_and_stores_and_mails_nothing(
    api: Api, smtp_sink: SmtpSink, template: str
) -> None:
    principals, mails = api.principals.count_documents({}), smtp_sink.message_count()

    response = register(api, template.format(u=unique()))

    body = problem(response, 400, "INVALID_EMAIL_ADDRESS")
    assert body["instance"] == "/api/auth/register"
    assert api.principals.count_documents({}) == principals
    assert smtp_sink.message_count() == mails


def test_register_with_a_display_name_address_says_why(api: Api) -> None:
    response = register(api, f"Eve <{unique()}@elsewhere.example>")

    body = problem(response, 400, "INVALID_EMAIL_ADDRESS")
    assert body["detail"] == "Send the address alone, without a name or angle brackets."


@pytest.mark.parametrize(
    "name",
    [
        "Ada\r\nLovelace",
        "Ada\x00",
        "\u202eecalevoL adA",
        "Ada\u2066x\u2069",
        "Ada\u200b",
        " \u3000 ",
    ],
)
def test_register_with_a_refused_name_returns_400_invalid_name(api: Api, name: str) -> None:
    principals = api.principals.count_documents({})

    response = register(api, f"{unique()}@example.com", name=name)

    problem(response, 400, "INVALID_NAME")
    assert api.principals.count_documents({}) == principals


def test_register_stores_the_normalized_address_and_the_nfc_name(api: Api) -> None:
    local = unique()

    response = register(api, f"  {local}@XN--BCHER-KVA.de ", name=" Jose\u0301 ")

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["email"], body["name"]) == (f"{local}@b\u00fccher.de", "Jos\u00e9")


@pytest.mark.parametrize(
    "lookalike",
    [
        "{u}@EXAMPLE.COM",
        "{U}@example.com",
        "{u}@" + FULL_WIDTH_EXAMPLE + ".com",
        "{fw}@example.com",
    ],
)
def test_register_with_a_lookalike_of_a_registered_address_returns_409(
    api: Api, lookalike: str
) -> None:
    local = unique()
    assert register(api, f"{local}@example.com").status_code == 201
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in local)

    response = register(api, lookalike.format(u=local, U=local.upper(), fw=full_width))

    problem(response, 409, "EMAIL_ALREADY_REGISTERED")


@pytest.mark.parametrize(
    "lookalike", ["{u}\u200b@example.com", "{u}@example.com.", "{u}@ex" + CYRILLIC_A + "mple.com"]
)
def test_a_lookalike_that_cannot_collide_is_refused_not_registered(
    api: Api, lookalike: str
) -> None:
    local = unique()
    assert register(api, f"{local}@example.com").status_code == 201

    problem(register(api, lookalike.format(u=local)), 400, "INVALID_EMAIL_ADDRESS")


# Login --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template", ["{e}, eve@elsewhere.example", "Eve <{e}>", "{e}\r\n", "no-at-sign"]
)
def test_login_with_an_address_no_account_can_have_returns_401_like_a_wrong_password(
    api: Api, template: str
) -> None:
    _, email = api.register()
    wrong = api.http.post("/auth/login", json={"email": email, "password": "not the password"})

    response = api.http.post(
        "/auth/login", json={"email": template.format(e=email), "password": PASSWORD}
    )

    body = problem(response, 401, "INVALID_CREDENTIALS")
    assert body["detail"] == problem(wrong, 401, "INVALID_CREDENTIALS")["detail"]


def test_login_with_a_lookalike_spelling_signs_in(api: Api) -> None:
    _, email = api.register()
    local, _, domain = email.partition("@")

    body = api.login(f"  {local.upper()}@{domain.upper()} ")

    assert body["twoFactorRequired"] is False
    assert body["accessToken"]


# Guests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Visitor\n", "\u2067Visitor", "Visi\u200dtor", "\u3164", "  "])
def test_create_guest_with_a_refused_name_returns_400_and_stores_nothing(
    api: Api, name: str
) -> None:
    principals = api.principals.count_documents({})

    response = api.http.post("/guests", json={"name": name})

    body = problem(response, 400, "INVALID_NAME")
    assert body["instance"] == "/api/guests"
    assert api.principals.count_documents({}) == principals
    assert "set-cookie" not in response.headers


def test_create_guest_trims_the_name(api: Api) -> None:
    response = api.http.post("/guests", json={"name": "  Visitor 42 "})

    assert response.status_code == 201, response.text
    assert response.json()["principal"]["name"] == "Visitor 42"


# Accounts stored before the address policy ------------------------------------------------

STORED_BEFORE = [
    "ada@example.com, eve@elsewhere.example",
    "Eve <eve@elsewhere.example>",
    "ada@example.com\r\nBcc: eve@elsewhere.example",
]


def store_address(api: Api, principal_id: str, address: str, *, rekey: bool = False) -> None:
    """Write ``address`` into the document as an earlier version did (optionally with the
    lookup hash that version computed from it: HMAC of ``strip().lower()``)."""
    update: dict[str, Any] = {
        "email": api.cipher.encrypt(address, sealed_context(principal_id, "email"))
    }
    if rekey:
        message = b"email\x00" + address.strip().lower().encode()
        update["emailHash"] = hmac.new(api.settings.hash_key, message, hashlib.sha256).hexdigest()
    api.principals.update_one({"_id": ObjectId(principal_id)}, {"$set": update})


@pytest.fixture
def old_account(
    start_api: Callable[..., Api], own_sink: SmtpSink, request: pytest.FixtureRequest
) -> tuple[Api, Account, str]:
    api = start_api(smtp_port=own_sink.port)
    methods = getattr(request, "param", ())
    account = api.account(methods)
    return api, account, account.email


@pytest.mark.parametrize("stored", STORED_BEFORE)
def test_reads_of_an_account_with_an_address_stored_before_work(
    old_account: tuple[Api, Account, str], own_sink: SmtpSink, stored: str
) -> None:
    api, account, email = old_account
    store_address(api, account.id, stored)

    me = api.http.get("/users/me", headers=account.headers(step_up=False))
    status = api.http.get("/auth/status", headers=account.headers())
    login = api.http.post("/auth/login", json={"email": email, "password": PASSWORD})

    assert me.status_code == 200, me.text
    assert me.json()["email"] == stored
    assert status.status_code == 200, status.text
    assert status.json()["authenticated"] is True
    assert login.status_code == 200, login.text
    assert own_sink.message_count() == 0


@pytest.mark.parametrize("stored", STORED_BEFORE)
def test_totp_confirmation_for_an_unusable_stored_address_commits_and_drops_the_alert(
    old_account: tuple[Api, Account, str], own_sink: SmtpSink, stored: str
) -> None:
    api, account, _ = old_account
    store_address(api, account.id, stored)
    setup = api.http.get("/auth/2fa/totp/setup", headers=account.headers())
    assert setup.status_code == 200, setup.text
    code = pyotp.TOTP(setup.json()["secret"]).at(api.clock.now().timestamp())

    response = api.http.post(
        "/auth/2fa/totp/setup",
        headers=account.headers(),
        json={"token": setup.json()["token"], "code": code},
    )

    body = problem(response, 500, "POST_COMMIT_SIDE_EFFECT_FAILURE")
    assert "cannot be sent" in body["detail"]
    document = api.document(account.id)
    assert document["twoFactor"]["methods"] == ["totp"]
    [alert] = document["alertOutbox"]
    assert (alert["status"], alert["reason"]) == (
        "dropped",
        "the recipient's email address is not usable",
    )
    assert own_sink.message_count() == 0
    assert own_sink.envelope_recipients() == []


@pytest.mark.parametrize("old_account", [("totp", "email")], indirect=True)
def test_disable_totp_for_an_unusable_stored_address_commits_and_drops_the_alert(
    old_account: tuple[Api, Account, str], own_sink: SmtpSink
) -> None:
    api, account, _ = old_account
    store_address(api, account.id, STORED_BEFORE[2])

    response = api.http.delete("/auth/2fa/totp", headers=account.headers())

    problem(response, 500, "POST_COMMIT_SIDE_EFFECT_FAILURE")
    document = api.document(account.id)
    assert document["twoFactor"]["methods"] == ["email"]
    assert document["alertOutbox"][0]["status"] == "dropped"
    assert own_sink.message_count() == 0
    # The worker has nothing left to send.
    assert api.http.get("/users/me", headers=account.headers(step_up=False)).status_code == 200


@pytest.mark.parametrize("stored", STORED_BEFORE)
def test_mailing_a_code_to_an_unusable_stored_address_returns_409_and_changes_nothing(
    old_account: tuple[Api, Account, str], own_sink: SmtpSink, stored: str
) -> None:
    api, account, _ = old_account
    store_address(api, account.id, stored)

    first = api.http.post("/auth/2fa/email/send", headers=account.headers(step_up=False))
    again = api.http.post("/auth/2fa/email/send", headers=account.headers(step_up=False))

    body = problem(first, 409, "EMAIL_ADDRESS_UNUSABLE")
    assert body["instance"] == "/api/auth/2fa/email/send"
    problem(again, 409, "EMAIL_ADDRESS_UNUSABLE")  # no cooldown started: not 429
    assert "emailCode" not in api.document(account.id)
    assert own_sink.message_count() == 0


@pytest.mark.parametrize("old_account", [("email",)], indirect=True)
def test_a_2fa_login_of_an_unusable_stored_address_cannot_mail_a_code(
    old_account: tuple[Api, Account, str], own_sink: SmtpSink
) -> None:
    api, account, email = old_account
    store_address(api, account.id, STORED_BEFORE[0])
    challenge = api.login(email)
    assert challenge["twoFactorRequired"] is True

    response = api.http.post(
        "/auth/2fa/email/send",
        headers={"X-Two-Factor-Authentication-Token": challenge["twoFactorToken"]},
    )

    problem(response, 409, "EMAIL_ADDRESS_UNUSABLE")
    assert own_sink.message_count() == 0


def test_an_address_stored_and_keyed_before_that_is_refused_now_cannot_sign_in(
    old_account: tuple[Api, Account, str],
) -> None:
    api, account, _ = old_account
    stored = STORED_BEFORE[1]
    store_address(api, account.id, stored, rekey=True)

    response = api.http.post("/auth/login", json={"email": stored, "password": PASSWORD})

    problem(response, 401, "INVALID_CREDENTIALS")
    # The account itself stays readable with the session it has.
    me = api.http.get("/users/me", headers=account.headers(step_up=False))
    assert me.json()["email"] == stored
