"""Each kind of token is told apart by its typ header, issuer and audience, over real HTTP.

Every credential slot of the API (the access token and the step-up token of the core operation,
the 2FA-pending token of 2FA login, the refresh token of /auth/refresh, the TOTP setup token of
setup confirmation) is presented with each other kind of token and with forged envelopes: each
answer is the slot's own *_INVALID code, never a 500, and nothing changes.
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import httpx2
import pyotp
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from tests.support.api import PASSWORD, Account, Api
from tests.support.forge import claims_of, forge, header_of, resign
from twofactor.config import Settings
from twofactor.security.keys import NamedKey

KINDS = ("access", "step_up", "two_factor", "refresh", "totp_setup")
TYPES = {
    "access": "at+jwt",
    "step_up": "step-up+jwt",
    "two_factor": "2fa-pending+jwt",
    "refresh": "refresh+jwt",
    "totp_setup": "totp-setup+jwt",
}


@dataclass(frozen=True)
class Slot:
    """Where a kind of token is presented, and what the answer is when it is not that kind."""

    status: int
    code: str
    send: Callable[[Api, dict[str, str], str], httpx2.Response]


def _disable_with_access(api: Api, tokens: dict[str, str], token: str) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {token}", "X-Step-Up-Token": tokens["step_up"]}
    return api.http.delete("/auth/2fa/totp", headers=headers)


def _disable_with_step_up(api: Api, tokens: dict[str, str], token: str) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {tokens['access']}", "X-Step-Up-Token": token}
    return api.http.delete("/auth/2fa/totp", headers=headers)


def _two_factor_login(api: Api, tokens: dict[str, str], token: str) -> httpx2.Response:
    headers = {"X-Two-Factor-Authentication-Token": token}
    return api.http.post("/auth/2fa/login", json={"totp": "123456"}, headers=headers)


def _refresh(api: Api, tokens: dict[str, str], token: str) -> httpx2.Response:
    return api.http.post("/auth/refresh", headers={"Authorization": f"Bearer {token}"})


def _confirm_setup(api: Api, tokens: dict[str, str], token: str) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {tokens['access']}", "X-Step-Up-Token": tokens["step_up"]}
    body = {"token": token, "code": "123456"}
    return api.http.post("/auth/2fa/totp/setup", json=body, headers=headers)


SLOTS = {
    "access": Slot(401, "ACCESS_TOKEN_INVALID", _disable_with_access),
    "step_up": Slot(401, "STEP_UP_TOKEN_INVALID", _disable_with_step_up),
    "two_factor": Slot(401, "TWO_FACTOR_TOKEN_INVALID", _two_factor_login),
    "refresh": Slot(401, "REFRESH_TOKEN_INVALID", _refresh),
    "totp_setup": Slot(400, "INVALID_TOTP_SETUP_TOKEN", _confirm_setup),
}


def tokens_of(api: Api, methods: tuple[str, ...] = ("email",)) -> tuple[Account, dict[str, str]]:
    """A user with one token of every kind: the setup token is taken while TOTP is still off,
    the 2FA-pending token by a password step-up once ``methods`` are on."""
    account = api.account()
    setup = api.http.get("/auth/2fa/totp/setup", headers=account.headers())
    assert setup.status_code == 200, setup.text
    api.enable_methods(account.id, methods)
    challenge = api.http.post(
        "/auth/step-up",
        json={"password": PASSWORD},
        headers={"Authorization": f"Bearer {account.access_token}"},
    )
    assert challenge.json()["twoFactorRequired"] is True, challenge.text
    return account, {
        "access": account.access_token,
        "step_up": account.step_up_token,
        "two_factor": challenge.json()["twoFactorToken"],
        "refresh": account.refresh_token,
        "totp_setup": setup.json()["token"],
    }


@pytest.fixture(scope="module")
def kit(api: Api) -> tuple[Account, dict[str, str]]:
    """One user for the refusals: none of them changes anything."""
    return tokens_of(api)


def assert_refused(response: httpx2.Response, slot: Slot) -> None:
    assert response.status_code == slot.status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == slot.code


def assert_unchanged(api: Api, account: Account) -> None:
    assert api.document(account.id)["twoFactor"]["methods"] == ["email"]
    me = api.http.get("/users/me", headers={"Authorization": f"Bearer {account.access_token}"})
    assert me.status_code == 200, "the session must survive every refusal"


def test_every_kind_of_token_carries_its_own_typ_and_the_configured_iss_and_aud(
    api: Api, kit: tuple[Account, dict[str, str]]
) -> None:
    _, tokens = kit
    for kind, token in tokens.items():
        assert header_of(token)["typ"] == TYPES[kind], kind
        claims = claims_of(token)
        assert (claims["iss"], claims["aud"]) == ("twofactor-api", "twofactor-api"), kind


# Each kind in each other kind's place ------------------------------------------------------------


@pytest.mark.parametrize(
    ("slot", "presented"),
    [(slot, presented) for slot in KINDS for presented in KINDS if presented != slot],
    ids=[f"{presented}-as-{slot}" for slot in KINDS for presented in KINDS if presented != slot],
)
def test_a_token_of_another_kind_is_refused_with_the_slots_invalid_code(
    api: Api, kit: tuple[Account, dict[str, str]], slot: str, presented: str
) -> None:
    account, tokens = kit

    response = SLOTS[slot].send(api, tokens, tokens[presented])

    assert_refused(response, SLOTS[slot])
    assert_unchanged(api, account)


@pytest.mark.parametrize("slot", KINDS)
def test_a_token_retyped_and_reclaimed_as_another_kind_is_still_refused(
    api: Api, kit: tuple[Account, dict[str, str]], slot: str
) -> None:
    # Another kind's token with this slot's token_type claim but its own typ: the claim alone
    # no longer decides (and with the key unknown to a client, this needs the signing key).
    account, tokens = kit
    other = "access" if slot != "access" else "refresh"
    token_type = claims_of(tokens[slot])["token_type"]
    forged = resign(api.settings, tokens[other], token_type=token_type)

    assert_refused(SLOTS[slot].send(api, tokens, forged), SLOTS[slot])
    assert_unchanged(api, account)


# Forged envelopes ---------------------------------------------------------------------------------


def _signed_with(algorithm: str) -> Callable[[Settings, str, int], str]:
    def sign(settings: Settings, token: str, now: int) -> str:
        # A 32-byte key is short for HS384/HS512: PyJWT warns, the point is only the alg.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            return forge(
                settings, claims_of(token), typ=header_of(token)["typ"], algorithm=algorithm
            )

    return sign


ENVELOPES: dict[str, Callable[[Settings, str, int], str]] = {
    "wrong iss": lambda s, t, now: resign(s, t, iss="https://other-service.example"),
    "missing iss": lambda s, t, now: resign(s, t, iss=None),
    "wrong aud": lambda s, t, now: resign(s, t, aud="other-service"),
    "aud list without ours": lambda s, t, now: resign(s, t, aud=["other-service"]),
    "missing aud": lambda s, t, now: resign(s, t, aud=None),
    "typ JWT": lambda s, t, now: resign(s, t, typ="JWT"),
    "missing typ": lambda s, t, now: resign(s, t, typ=""),
    "typ text/": lambda s, t, now: resign(s, t, typ="text/" + header_of(t)["typ"]),
    "iat in the future": lambda s, t, now: resign(s, t, iat=now + 3600, exp=now + 7200),
    "iat as text": lambda s, t, now: resign(s, t, iat=str(now)),
    "minted before typ, iss and aud": lambda s, t, now: resign(s, t, typ="JWT", iss=None, aud=None),
    "alg none": lambda s, t, now: forge(s, claims_of(t), algorithm="none"),
    "alg HS512": _signed_with("HS512"),
    "another key under our kid": lambda s, t, now: forge(
        s, claims_of(t), key=secrets.token_bytes(32)
    ),
}


@pytest.mark.parametrize("envelope", list(ENVELOPES))
@pytest.mark.parametrize("slot", KINDS)
def test_a_forged_envelope_is_refused_with_the_slots_invalid_code(
    api: Api, kit: tuple[Account, dict[str, str]], slot: str, envelope: str
) -> None:
    account, tokens = kit
    now = int(api.clock.now().timestamp())
    forged = ENVELOPES[envelope](api.settings, tokens[slot], now)

    assert_refused(SLOTS[slot].send(api, tokens, forged), SLOTS[slot])
    assert_unchanged(api, account)


# Accepted spellings and configuration ---------------------------------------------------------


def _prefixed(api: Api, token: str) -> str:
    """The same token, its typ written as a full media type in capitals (RFC 7515 §4.1.9)."""
    return resign(api.settings, token, typ="APPLICATION/" + header_of(token)["typ"].upper())


def test_the_core_operation_accepts_access_and_step_up_typ_with_the_application_prefix(
    api: Api,
) -> None:
    _, tokens = tokens_of(api, ("totp", "email"))
    headers = {
        "Authorization": f"Bearer {_prefixed(api, tokens['access'])}",
        "X-Step-Up-Token": _prefixed(api, tokens["step_up"]),
    }

    response = api.http.delete("/auth/2fa/totp", headers=headers)

    assert response.status_code == 200, response.text
    assert response.json()["twoFactorMethods"] == ["email"]


def test_refresh_accepts_a_refresh_typ_with_the_application_prefix(api: Api) -> None:
    _, tokens = tokens_of(api)

    response = _refresh(api, tokens, _prefixed(api, tokens["refresh"]))

    assert response.status_code == 200, response.text
    assert header_of(response.json()["accessToken"])["typ"] == "at+jwt"


def test_a_two_factor_token_with_the_application_prefix_is_accepted(api: Api) -> None:
    _, tokens = tokens_of(api)
    headers = {"X-Two-Factor-Authentication-Token": _prefixed(api, tokens["two_factor"])}

    response = api.http.post("/auth/2fa/email/send", headers=headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"cooldown": 60}


def test_a_totp_setup_token_with_the_application_prefix_confirms_setup(api: Api) -> None:
    account = api.account()
    setup = api.http.get("/auth/2fa/totp/setup", headers=account.headers()).json()
    # The server's clock, which other tests of the shared app may have moved on.
    code = pyotp.TOTP(setup["secret"]).at(api.clock.now())
    body = {"token": _prefixed(api, setup["token"]), "code": code}

    response = api.http.post("/auth/2fa/totp/setup", json=body, headers=account.headers())

    assert response.status_code == 200, response.text
    assert response.json()["twoFactorMethods"] == ["totp"]


def test_after_key_rotation_the_core_operation_accepts_tokens_of_the_old_key(
    start_api: Callable[..., Api],
) -> None:
    old = start_api()
    account = old.account(("totp", "email"))
    keys = (NamedKey("test-jwt-new", secrets.token_bytes(32)), *old.settings.jwt_signing_keys)
    rotated = start_api(jwt_signing_keys=keys, mongodb_database=old.settings.mongodb_database)

    response = rotated.http.delete("/auth/2fa/totp", headers=account.headers())

    assert response.status_code == 200, response.text
    assert header_of(rotated.login(account.email)["twoFactorToken"])["kid"] == keys[0].key_id


def test_a_server_with_another_issuer_refuses_tokens_it_did_not_issue(
    start_api: Callable[..., Api],
) -> None:
    first = start_api()
    account = first.account(("totp", "email"))
    renamed = start_api(
        jwt_issuer="https://auth.example", mongodb_database=first.settings.mongodb_database
    )

    response = renamed.http.delete("/auth/2fa/totp", headers=account.headers())

    assert response.status_code == 401
    assert response.json()["code"] == "ACCESS_TOKEN_INVALID"
    assert claims_of(renamed.login(account.email)["twoFactorToken"])["iss"] == (
        "https://auth.example"
    )


def test_a_renamed_audience_kept_second_still_accepts_the_earlier_tokens(
    start_api: Callable[..., Api],
) -> None:
    first = start_api()
    account = first.account(("totp", "email"))
    renamed = start_api(
        jwt_audience=("accounts.example", "twofactor-api"),
        mongodb_database=first.settings.mongodb_database,
    )
    dropped = start_api(
        jwt_audience=("accounts.example",), mongodb_database=first.settings.mongodb_database
    )

    refused = dropped.http.delete("/auth/2fa/totp", headers=account.headers())
    accepted = renamed.http.delete("/auth/2fa/totp", headers=account.headers())

    assert refused.json()["code"] == "ACCESS_TOKEN_INVALID"
    assert accepted.status_code == 200, accepted.text
    assert claims_of(renamed.login(account.email)["twoFactorToken"])["aud"] == "accounts.example"
