"""JWTs: issue and verify each token kind; explicit type, issuer, audience, expiry, key and
claim checks; key rotation. The envelope's own edge cases are in ``test_token_codec``."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from twofactor import errors
from twofactor.security.keys import NamedKey
from twofactor.security.token_codec import CLOCK_SKEW
from twofactor.security.tokens import MEDIA_TYPES, TokenService, TokenType
from twofactor.security.verified_tokens import VerifiedTokens

SUB = "65f0c0ffee0000000000abcd"
OTHER_SUB = "65f0c0ffee0000000000ffff"
SID = "session-1"
START = datetime(2030, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
ISSUER = "https://auth.example"
AUDIENCES = ("twofactor-api", "twofactor-api-old")


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def new_key(key_id: str) -> NamedKey:
    return NamedKey(key_id, secrets.token_bytes(32))


def make_service(
    keys: tuple[NamedKey, ...],
    clock: ManualClock | None = None,
    *,
    issuer: str = ISSUER,
    audiences: tuple[str, ...] = AUDIENCES,
    verified_tokens: VerifiedTokens | None = None,
    **ttls: int,
) -> TokenService:
    return TokenService(
        keys,
        clock or ManualClock(),
        issuer=issuer,
        audiences=audiences,
        access_ttl=ttls.get("access_ttl", 900),
        refresh_ttl=ttls.get("refresh_ttl", 30 * 24 * 3600),
        step_up_ttl=ttls.get("step_up_ttl", 300),
        verified_tokens=verified_tokens,
    )


@pytest.fixture
def key() -> NamedKey:
    return new_key("jwt-1")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def service(key: NamedKey, clock: ManualClock) -> TokenService:
    return make_service((key,), clock)


# One row per token type with issue and verify methods: how to issue one, how to verify
# it, which errors it raises, and the claims a hand-crafted valid token of that type has.


@dataclass(frozen=True)
class Kind:
    name: TokenType
    issue: Callable[[TokenService], str]
    verify: Callable[[TokenService, str], object]
    invalid: type[errors.ServiceError]
    expired: type[errors.ServiceError]
    extra_claims: dict[str, Any]


KINDS = [
    Kind(
        TokenType.ACCESS,
        lambda s: s.issue_access(SUB, SID, ("user",)).token,
        lambda s, t: s.verify_access(t),
        errors.AccessTokenInvalid,
        errors.AccessTokenExpired,
        {"sid": SID, "roles": ["user"]},
    ),
    Kind(
        TokenType.REFRESH,
        lambda s: s.issue_refresh(SUB, SID).token,
        lambda s, t: s.verify_refresh(t),
        errors.RefreshTokenInvalid,
        errors.RefreshTokenExpired,
        {"sid": SID},
    ),
    Kind(
        TokenType.STEP_UP,
        lambda s: s.issue_step_up(SUB, SID, ("pwd",), 0).token,
        lambda s, t: s.verify_step_up(t),
        errors.StepUpTokenInvalid,
        errors.StepUpTokenExpired,
        {"sid": SID, "amr": ["pwd"], "gen": 0},
    ),
    Kind(
        TokenType.TWO_FACTOR,
        lambda s: s.issue_two_factor(SUB).token,
        lambda s, t: s.verify_two_factor(t),
        errors.TwoFactorTokenInvalid,
        errors.TwoFactorTokenExpired,
        {},
    ),
    Kind(
        TokenType.TOTP_SETUP,
        lambda s: s.issue_totp_setup(SUB, "sealed-secret").token,
        lambda s, t: s.verify_totp_setup(t),
        errors.InvalidTotpSetupToken,
        errors.InvalidTotpSetupToken,
        {"setup": "sealed-secret"},
    ),
]
KIND_IDS = [kind.name.value for kind in KINDS]


def craft(
    kind: Kind,
    key: NamedKey,
    clock: ManualClock,
    *,
    changes: dict[str, Any] | None = None,
    remove: tuple[str, ...] = (),
    headers: dict[str, Any] | None = None,
    algorithm: str = "HS256",
) -> str:
    """A token built by hand with PyJWT, signed with ``key`` unless told otherwise; its header
    has the ``kid`` and the kind's ``typ`` unless ``headers`` replaces it."""
    now = int(clock.now().timestamp())
    claims: dict[str, Any] = {
        "token_type": kind.name.value,
        "iss": ISSUER,
        "aud": AUDIENCES[0],
        "sub": SUB,
        "iat": now,
        "exp": now + 60,
        "jti": "hand-made-jti",
        **kind.extra_claims,
        **(changes or {}),
    }
    for name in remove:
        del claims[name]
    # PyJWS signs any JSON payload: PyJWT's encode would refuse a non-string iss.
    return jwt.PyJWS().encode(
        json.dumps(claims).encode(),
        key.secret if algorithm != "none" else None,
        algorithm=algorithm,
        headers={"kid": key.key_id, "typ": MEDIA_TYPES[kind.name]} if headers is None else headers,
    )


# Round trips -------------------------------------------------------------------------------


def test_an_access_token_carries_its_claims(service: TokenService, clock: ManualClock) -> None:
    issued = service.issue_access(SUB, SID, ("user", "admin"))
    claims = service.verify_access(issued.token)
    assert claims.sub == SUB
    assert claims.sid == SID
    assert claims.roles == ("user", "admin")
    assert claims.jti == issued.jti
    assert claims.expires_at == issued.expires_at
    assert issued.lifetime == 900
    assert issued.expires_at == clock.now().replace(microsecond=0) + timedelta(seconds=900)


def test_a_refresh_token_carries_its_claims(service: TokenService) -> None:
    issued = service.issue_refresh(SUB, SID)
    claims = service.verify_refresh(issued.token)
    assert (claims.sub, claims.sid, claims.jti) == (SUB, SID, issued.jti)
    assert claims.expires_at == issued.expires_at
    assert issued.lifetime == 30 * 24 * 3600


def test_a_step_up_token_carries_its_claims(service: TokenService) -> None:
    issued = service.issue_step_up(SUB, SID, ("pwd", "otp"), 7)
    claims = service.verify_step_up(issued.token)
    assert (claims.sub, claims.sid, claims.jti) == (SUB, SID, issued.jti)
    assert claims.amr == ("pwd", "otp")
    assert claims.generation == 7
    assert claims.expires_at == issued.expires_at
    assert issued.lifetime == 300


def test_a_two_factor_token_carries_its_claims(service: TokenService) -> None:
    issued = service.issue_two_factor(SUB)
    claims = service.verify_two_factor(issued.token)
    assert (claims.sub, claims.jti) == (SUB, issued.jti)
    assert claims.expires_at == issued.expires_at
    assert issued.lifetime == 300


def test_configured_lifetimes_are_used(clock: ManualClock, key: NamedKey) -> None:
    service = make_service((key,), clock, access_ttl=60, refresh_ttl=120, step_up_ttl=90)
    assert service.issue_access(SUB, SID, ()).lifetime == 60
    assert service.issue_refresh(SUB, SID).lifetime == 120
    assert service.issue_step_up(SUB, SID, ("pwd",), 0).lifetime == 90
    assert service.lifetimes[TokenType.TOTP_SETUP] == 600


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_every_token_names_its_signing_key_type_issuer_and_audience(
    kind: Kind, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    token = kind.issue(service)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "HS256", "kid": key.key_id, "typ": MEDIA_TYPES[kind.name]}
    claims = jwt.decode(
        token,
        key.secret,
        algorithms=["HS256"],
        issuer=ISSUER,
        audience=AUDIENCES[0],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["token_type"] == kind.name.value
    # A single audience, the first configured one, as a string.
    assert claims["aud"] == AUDIENCES[0]
    assert claims["iss"] == ISSUER
    assert claims["iat"] == int(clock.now().replace(microsecond=0).timestamp())
    assert set(claims) >= {"token_type", "iss", "aud", "sub", "iat", "exp", "jti"}


def test_each_kind_has_its_own_media_type_and_the_access_token_rfc_9068s() -> None:
    assert MEDIA_TYPES[TokenType.ACCESS] == "at+jwt"
    assert len(set(MEDIA_TYPES.values())) == len(TokenType)
    assert all(typ.endswith("+jwt") and typ != "jwt" for typ in MEDIA_TYPES.values())


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_every_token_gets_a_fresh_jti(kind: Kind, service: TokenService) -> None:
    first, second = kind.issue(service), kind.issue(service)
    assert (
        jwt.decode(first, options={"verify_signature": False})["jti"]
        != jwt.decode(second, options={"verify_signature": False})["jti"]
    )


def test_a_service_needs_at_least_one_key(clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="at least one"):
        make_service((), clock)


# Token type enforced -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("presented", "expected"),
    [(presented, expected) for presented in KINDS for expected in KINDS if presented != expected],
    ids=[
        f"{presented.name.value}-as-{expected.name.value}"
        for presented in KINDS
        for expected in KINDS
        if presented != expected
    ],
)
def test_a_token_of_another_type_is_invalid(
    presented: Kind, expected: Kind, service: TokenService
) -> None:
    token = presented.issue(service)
    with pytest.raises(expected.invalid):
        expected.verify(service, token)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("token_type", ["access", "ACCESS_TOKEN", "", None, 1, ["access_token"]])
def test_an_unexpected_token_type_claim_is_invalid(
    kind: Kind, token_type: object, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    token = craft(kind, key, clock, changes={"token_type": token_type})
    with pytest.raises(kind.invalid):
        kind.verify(service, token)


def test_an_access_token_presented_as_step_up_is_step_up_invalid(service: TokenService) -> None:
    token = service.issue_access(SUB, SID, ("user",)).token
    with pytest.raises(errors.StepUpTokenInvalid):
        service.verify_step_up(token)


# Explicit type, issuer and audience (RFC 8725 §3.11, §3.12) ------------------------------------

OTHER_KIND_PAIRS = [(a, b) for a in KINDS for b in KINDS if a != b]
OTHER_KIND_IDS = [f"{a.name.value}-as-{b.name.value}" for a, b in OTHER_KIND_PAIRS]


@pytest.mark.parametrize(("presented", "expected"), OTHER_KIND_PAIRS, ids=OTHER_KIND_IDS)
def test_a_token_typed_as_another_kind_is_invalid_even_with_the_right_token_type_claim(
    presented: Kind, expected: Kind, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    headers = {"kid": key.key_id, "typ": MEDIA_TYPES[presented.name]}
    with pytest.raises(expected.invalid):
        expected.verify(service, craft(expected, key, clock, headers=headers))


@pytest.mark.parametrize(("presented", "expected"), OTHER_KIND_PAIRS, ids=OTHER_KIND_IDS)
def test_a_token_with_another_kinds_token_type_claim_is_invalid_even_with_the_right_typ(
    presented: Kind, expected: Kind, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    token = craft(expected, key, clock, changes={"token_type": presented.name.value})
    with pytest.raises(expected.invalid):
        expected.verify(service, token)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize(
    "typ",
    [
        pytest.param("JWT", id="JWT"),
        pytest.param("jwt", id="jwt"),
        pytest.param(None, id="missing"),
        pytest.param("+jwt", id="plus-jwt"),
        pytest.param("text/{typ}", id="other-top-level-type"),
        pytest.param("application/{typ}; charset=utf-8", id="with-parameter"),
        pytest.param(" {typ}", id="leading-space"),
        pytest.param(["{typ}"], id="list"),
        pytest.param(1, id="number"),
    ],
)
def test_a_token_without_its_kinds_typ_is_invalid(
    kind: Kind, typ: object, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    media_type = MEDIA_TYPES[kind.name]
    if isinstance(typ, str):
        typ = typ.format(typ=media_type)
    elif isinstance(typ, list):
        typ = [media_type]
    # PyJWS writes "typ": "JWT" unless told None, which leaves the header without one.
    token = craft(kind, key, clock, headers={"kid": key.key_id, "typ": typ})
    assert jwt.get_unverified_header(token).get("typ") == typ
    with pytest.raises(kind.invalid):
        kind.verify(service, token)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize(
    "spelling", ["{typ}", "application/{typ}", "APPLICATION/{TYP}", "{TYP}", "Application/{typ}"]
)
def test_a_kinds_typ_is_accepted_in_any_case_with_or_without_application_prefix(
    kind: Kind, spelling: str, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    media_type = MEDIA_TYPES[kind.name]
    typ = spelling.format(typ=media_type, TYP=media_type.upper())
    token = craft(kind, key, clock, headers={"kid": key.key_id, "typ": typ})
    assert kind.verify(service, token) is not None


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize(
    ("changes", "remove"),
    [
        pytest.param({"iss": "https://other.example"}, (), id="iss-other"),
        pytest.param({"iss": ISSUER.upper()}, (), id="iss-other-case"),
        pytest.param({"iss": ISSUER + "/"}, (), id="iss-trailing-slash"),
        pytest.param({"iss": [ISSUER]}, (), id="iss-list"),
        pytest.param({"iss": None}, (), id="iss-null"),
        pytest.param({}, ("iss",), id="iss-missing"),
        pytest.param({"aud": "other-service"}, (), id="aud-other"),
        pytest.param({"aud": ["other-service"]}, (), id="aud-list-without-ours"),
        pytest.param({"aud": ""}, (), id="aud-empty"),
        pytest.param({"aud": []}, (), id="aud-empty-list"),
        pytest.param({"aud": None}, (), id="aud-null"),
        pytest.param({"aud": 1}, (), id="aud-number"),
        pytest.param({"aud": [AUDIENCES[0], 1]}, (), id="aud-list-with-number"),
        pytest.param({"aud": {"twofactor-api": True}}, (), id="aud-object"),
        pytest.param({}, ("aud",), id="aud-missing"),
    ],
)
def test_a_token_of_another_issuer_or_audience_is_invalid(
    kind: Kind,
    changes: dict[str, Any],
    remove: tuple[str, ...],
    service: TokenService,
    key: NamedKey,
    clock: ManualClock,
) -> None:
    with pytest.raises(kind.invalid):
        kind.verify(service, craft(kind, key, clock, changes=changes, remove=remove))


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize(
    "aud",
    [AUDIENCES[1], [AUDIENCES[1]], ["other-service", AUDIENCES[0]]],
    ids=["second-audience", "list-of-second-audience", "list-naming-ours-among-others"],
)
def test_a_token_naming_any_accepted_audience_is_accepted(
    kind: Kind, aud: object, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    assert kind.verify(service, craft(kind, key, clock, changes={"aud": aud})) is not None


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize(
    ("issuer", "audiences"),
    [("https://other.example", AUDIENCES), (ISSUER, ("other-service",))],
    ids=["other-issuer", "other-audience"],
)
def test_a_token_of_another_service_sharing_the_key_is_invalid(
    kind: Kind,
    issuer: str,
    audiences: tuple[str, ...],
    service: TokenService,
    key: NamedKey,
    clock: ManualClock,
) -> None:
    other_service = make_service((key,), clock, issuer=issuer, audiences=audiences)
    with pytest.raises(kind.invalid):
        kind.verify(service, kind.issue(other_service))


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_an_audience_kept_for_verification_accepts_tokens_issued_under_it(
    kind: Kind, key: NamedKey, clock: ManualClock
) -> None:
    # Renaming the audience: the new one first, the old one kept until its tokens expire.
    token = kind.issue(make_service((key,), clock, audiences=("old-name",)))
    renamed = make_service((key,), clock, audiences=("new-name", "old-name"))
    assert kind.verify(renamed, token) is not None
    assert jwt.decode(kind.issue(renamed), options={"verify_signature": False})["aud"] == (
        "new-name"
    )


# Expiry on the injected clock --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_token_is_valid_until_one_second_before_it_expires(
    kind: Kind, service: TokenService, clock: ManualClock
) -> None:
    token = kind.issue(service)
    lifetime = service.lifetimes[kind.name]
    # Issue time is truncated to the second: START has 0.678 s, so expiry is at
    # START - 0.678 s + lifetime.
    clock.advance(lifetime - 1)
    assert kind.verify(service, token) is not None


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_token_is_expired_from_its_exp_on(
    kind: Kind, service: TokenService, clock: ManualClock
) -> None:
    token = kind.issue(service)
    clock.current = clock.current.replace(microsecond=0) + timedelta(
        seconds=service.lifetimes[kind.name]
    )
    with pytest.raises(kind.expired):
        kind.verify(service, token)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_token_long_past_its_exp_is_expired(
    kind: Kind, service: TokenService, clock: ManualClock
) -> None:
    token = kind.issue(service)
    clock.advance(365 * 24 * 3600)
    with pytest.raises(kind.expired):
        kind.verify(service, token)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_an_expired_token_of_the_wrong_type_is_invalid_not_expired(
    kind: Kind, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    token = craft(kind, key, clock, changes={"token_type": "other", "exp": 1})
    with pytest.raises(kind.invalid):
        kind.verify(service, token)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_token_issued_within_the_clock_skew_ahead_of_the_verifier_verifies(
    kind: Kind, key: NamedKey
) -> None:
    # Another server of the deployment whose clock runs ahead by the tolerated skew.
    issuer_clock = ManualClock(START.replace(microsecond=0) + timedelta(seconds=CLOCK_SKEW))
    token = kind.issue(make_service((key,), issuer_clock))
    assert kind.verify(make_service((key,), ManualClock()), token) is not None


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_token_issued_beyond_the_clock_skew_in_the_future_is_invalid(
    kind: Kind, key: NamedKey
) -> None:
    issuer_clock = ManualClock(START + timedelta(seconds=CLOCK_SKEW + 1))
    token = kind.issue(make_service((key,), issuer_clock))
    with pytest.raises(kind.invalid):
        kind.verify(make_service((key,), ManualClock()), token)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_token_issued_in_the_future_is_invalid_even_once_expired(
    kind: Kind, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    now = int(clock.now().timestamp())
    token = craft(kind, key, clock, changes={"iat": now + 3600, "exp": now - 1})
    with pytest.raises(kind.invalid):
        kind.verify(service, token)


# Keys and signatures -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_token_with_an_unknown_kid_is_invalid(
    kind: Kind, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    token = craft(kind, key, clock, headers={"kid": "jwt-unknown"})
    with pytest.raises(kind.invalid):
        kind.verify(service, token)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_token_without_a_kid_is_invalid(
    kind: Kind, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    token = craft(kind, key, clock, headers={})
    assert "kid" not in jwt.get_unverified_header(token)
    with pytest.raises(kind.invalid):
        kind.verify(service, token)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_token_signed_with_another_secret_under_a_known_kid_is_invalid(
    kind: Kind, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    forged = NamedKey(key.key_id, secrets.token_bytes(32))
    token = craft(kind, forged, clock)
    with pytest.raises(kind.invalid):
        kind.verify(service, token)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_token_with_a_modified_payload_is_invalid(
    kind: Kind, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    genuine = kind.issue(service)
    header, _, signature = genuine.split(".")
    other_payload = craft(kind, key, clock, changes={"sub": OTHER_SUB}).split(".")[1]
    with pytest.raises(kind.invalid):
        kind.verify(service, f"{header}.{other_payload}.{signature}")


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_an_alg_none_token_is_invalid(
    kind: Kind, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    token = craft(kind, key, clock, algorithm="none")
    assert jwt.get_unverified_header(token)["alg"] == "none"
    assert token.endswith(".")
    with pytest.raises(kind.invalid):
        kind.verify(service, token)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_a_token_signed_with_another_hmac_algorithm_is_invalid(
    kind: Kind, algorithm: str, clock: ManualClock
) -> None:
    # A key long enough for HS512, so only the algorithm differs.
    key = NamedKey("jwt-long", secrets.token_bytes(64))
    service = make_service((key,), clock)
    assert kind.verify(service, craft(kind, key, clock)) is not None
    token = craft(kind, key, clock, algorithm=algorithm)
    with pytest.raises(kind.invalid):
        kind.verify(service, token)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize(
    "garbage", ["", "not-a-jwt", "a.b.c", "a.b", "....", "eyJhbGciOiJIUzI1NiJ9.e30."]
)
def test_an_undecodable_token_is_invalid(kind: Kind, garbage: str, service: TokenService) -> None:
    with pytest.raises(kind.invalid):
        kind.verify(service, garbage)


# Claims ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_hand_crafted_token_with_valid_claims_is_accepted(
    kind: Kind, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    # The baseline of the claim tests below: only the changed claim makes them fail.
    assert kind.verify(service, craft(kind, key, clock)) is not None


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("claim", ["token_type", "sub", "iat", "exp", "jti"])
def test_a_token_missing_a_required_claim_is_invalid(
    kind: Kind, claim: str, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    with pytest.raises(kind.invalid):
        kind.verify(service, craft(kind, key, clock, remove=(claim,)))


COMMON_BAD_CLAIMS = [
    pytest.param("sub", "65F0C0FFEE0000000000ABCD", id="sub-uppercase-hex"),
    pytest.param("sub", "65f0c0ffee0000000000abc", id="sub-23-chars"),
    pytest.param("sub", "65f0c0ffee0000000000abcde", id="sub-25-chars"),
    pytest.param("sub", "65f0c0ffee0000000000abcz", id="sub-not-hex"),
    pytest.param("sub", "", id="sub-empty"),
    pytest.param("sub", 12345, id="sub-int"),
    pytest.param("sub", ["65f0c0ffee0000000000abcd"], id="sub-list"),
    pytest.param("jti", "", id="jti-empty"),
    pytest.param("jti", 5, id="jti-int"),
    pytest.param("exp", "2030-01-01", id="exp-text"),
    pytest.param("exp", 1.0e12, id="exp-float"),
    pytest.param("exp", True, id="exp-bool"),
    pytest.param("exp", 10**20, id="exp-beyond-datetime"),
]


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize(("claim", "value"), COMMON_BAD_CLAIMS)
def test_a_malformed_common_claim_is_invalid(
    kind: Kind,
    claim: str,
    value: object,
    service: TokenService,
    key: NamedKey,
    clock: ManualClock,
) -> None:
    with pytest.raises(kind.invalid):
        kind.verify(service, craft(kind, key, clock, changes={claim: value}))


SID_KINDS = [kind for kind in KINDS if "sid" in kind.extra_claims]


@pytest.mark.parametrize("kind", SID_KINDS, ids=[kind.name.value for kind in SID_KINDS])
def test_a_token_missing_its_sid_is_invalid(
    kind: Kind, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    with pytest.raises(kind.invalid):
        kind.verify(service, craft(kind, key, clock, remove=("sid",)))


@pytest.mark.parametrize("kind", SID_KINDS, ids=[kind.name.value for kind in SID_KINDS])
@pytest.mark.parametrize("sid", ["", 1, None, ["session-1"]])
def test_a_token_with_a_malformed_sid_is_invalid(
    kind: Kind, sid: object, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    with pytest.raises(kind.invalid):
        kind.verify(service, craft(kind, key, clock, changes={"sid": sid}))


ACCESS = KINDS[0]
STEP_UP = KINDS[2]


@pytest.mark.parametrize(
    ("changes", "remove"),
    [
        pytest.param({}, ("roles",), id="roles-missing"),
        pytest.param({"roles": "user"}, (), id="roles-string"),
        pytest.param({"roles": None}, (), id="roles-null"),
        pytest.param({"roles": {"user": True}}, (), id="roles-object"),
        pytest.param({"roles": ["user", 1]}, (), id="roles-with-int"),
    ],
)
def test_an_access_token_with_malformed_roles_is_invalid(
    changes: dict[str, Any],
    remove: tuple[str, ...],
    service: TokenService,
    key: NamedKey,
    clock: ManualClock,
) -> None:
    with pytest.raises(errors.AccessTokenInvalid):
        service.verify_access(craft(ACCESS, key, clock, changes=changes, remove=remove))


def test_an_access_token_may_have_no_roles(
    service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    assert service.verify_access(craft(ACCESS, key, clock, changes={"roles": []})).roles == ()


@pytest.mark.parametrize(
    ("changes", "remove"),
    [
        pytest.param({}, ("gen",), id="gen-missing"),
        pytest.param({"gen": "1"}, (), id="gen-text"),
        pytest.param({"gen": 1.5}, (), id="gen-float"),
        pytest.param({"gen": True}, (), id="gen-bool"),
        pytest.param({"gen": False}, (), id="gen-false"),
        pytest.param({"gen": -1}, (), id="gen-negative"),
        pytest.param({"gen": None}, (), id="gen-null"),
        pytest.param({}, ("amr",), id="amr-missing"),
        pytest.param({"amr": "pwd"}, (), id="amr-string"),
        pytest.param({"amr": ["pwd", 2]}, (), id="amr-with-int"),
    ],
)
def test_a_step_up_token_with_malformed_claims_is_invalid(
    changes: dict[str, Any],
    remove: tuple[str, ...],
    service: TokenService,
    key: NamedKey,
    clock: ManualClock,
) -> None:
    with pytest.raises(errors.StepUpTokenInvalid):
        service.verify_step_up(craft(STEP_UP, key, clock, changes=changes, remove=remove))


@pytest.mark.parametrize("generation", [0, 1, 2**40])
def test_a_step_up_generation_of_any_count_is_accepted(
    generation: int, service: TokenService, key: NamedKey, clock: ManualClock
) -> None:
    token = craft(STEP_UP, key, clock, changes={"gen": generation})
    assert service.verify_step_up(token).generation == generation


# Rotation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_token_signed_by_the_old_key_verifies_after_rotation(
    kind: Kind, clock: ManualClock
) -> None:
    old, new = new_key("jwt-old"), new_key("jwt-new")
    token = kind.issue(make_service((old,), clock))
    rotated = make_service((new, old), clock)
    assert kind.verify(rotated, token) is not None


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_rotated_service_signs_with_its_first_key(kind: Kind, clock: ManualClock) -> None:
    old, new = new_key("jwt-old"), new_key("jwt-new")
    token = kind.issue(make_service((new, old), clock))
    assert jwt.get_unverified_header(token)["kid"] == "jwt-new"
    assert kind.verify(make_service((new,), clock), token) is not None


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_service_without_the_old_key_rejects_its_tokens(kind: Kind, clock: ManualClock) -> None:
    old, new = new_key("jwt-old"), new_key("jwt-new")
    token = kind.issue(make_service((old,), clock))
    with pytest.raises(kind.invalid):
        kind.verify(make_service((new,), clock), token)


# Remembered verifications -------------------------------------------------------------------
# A token verified once is answered from memory when presented again (``verified_tokens``); it
# must answer exactly as a full verification would.


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_token_presented_again_is_answered_with_the_claims_of_its_first_verification(
    kind: Kind, key: NamedKey, clock: ManualClock
) -> None:
    memory = VerifiedTokens()
    service = make_service((key,), clock, verified_tokens=memory)
    token = kind.issue(service)
    first = kind.verify(service, token)
    assert len(memory) == 1
    again = kind.verify(service, token)
    assert again is first
    # The same claims a service that never saw the token finds.
    assert again == kind.verify(make_service((key,), clock), token)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_remembered_token_is_valid_until_one_second_before_its_exp(
    kind: Kind, service: TokenService, clock: ManualClock
) -> None:
    token = kind.issue(service)
    first = kind.verify(service, token)
    clock.advance(service.lifetimes[kind.name] - 1)
    assert kind.verify(service, token) is first


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_remembered_token_expires_at_its_exp(
    kind: Kind, service: TokenService, clock: ManualClock
) -> None:
    token = kind.issue(service)
    assert kind.verify(service, token) is not None
    clock.current = clock.current.replace(microsecond=0) + timedelta(
        seconds=service.lifetimes[kind.name]
    )
    with pytest.raises(kind.expired):
        kind.verify(service, token)
    clock.advance(365 * 24 * 3600)
    with pytest.raises(kind.expired):
        kind.verify(service, token)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_refused_token_is_checked_again_when_presented_again(
    kind: Kind, key: NamedKey, clock: ManualClock
) -> None:
    # Issued by a server whose clock runs ahead beyond the tolerated skew: refused now, valid
    # once this clock catches up. A remembered refusal would refuse it for ever.
    memory = VerifiedTokens()
    service = make_service((key,), clock, verified_tokens=memory)
    issuer_clock = ManualClock(START + timedelta(seconds=CLOCK_SKEW + 1))
    token = kind.issue(make_service((key,), issuer_clock))
    with pytest.raises(kind.invalid):
        kind.verify(service, token)
    with pytest.raises(kind.invalid):
        kind.verify(service, token)
    clock.advance(2)
    assert kind.verify(service, token) is not None


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_an_invalid_token_is_never_remembered(
    kind: Kind, key: NamedKey, clock: ManualClock
) -> None:
    memory = VerifiedTokens()
    service = make_service((key,), clock, verified_tokens=memory)
    forged = craft(kind, NamedKey(key.key_id, secrets.token_bytes(32)), clock)
    malformed = craft(kind, key, clock, changes={"sub": "not-a-principal"})
    expired = craft(kind, key, clock, changes={"exp": int(clock.now().timestamp()) - 1})
    for token, error in [
        (forged, kind.invalid),
        (malformed, kind.invalid),
        (expired, kind.expired),
        ("not-a-jwt", kind.invalid),
    ]:
        for _ in range(2):
            with pytest.raises(error):
                kind.verify(service, token)
    assert len(memory) == 0


def test_a_token_with_malformed_kind_claims_is_never_remembered(
    key: NamedKey, clock: ManualClock
) -> None:
    # The envelope is valid; only the step-up token's own claims are not.
    memory = VerifiedTokens()
    service = make_service((key,), clock, verified_tokens=memory)
    token = craft(STEP_UP, key, clock, changes={"gen": -1})
    for _ in range(2):
        with pytest.raises(errors.StepUpTokenInvalid):
            service.verify_step_up(token)
    assert len(memory) == 0


@pytest.mark.parametrize(("remembered", "presented_as"), OTHER_KIND_PAIRS, ids=OTHER_KIND_IDS)
def test_a_token_remembered_as_its_kind_is_still_invalid_as_another_kind(
    remembered: Kind, presented_as: Kind, service: TokenService
) -> None:
    token = remembered.issue(service)
    assert remembered.verify(service, token) is not None
    with pytest.raises(presented_as.invalid):
        presented_as.verify(service, token)
    assert remembered.verify(service, token) is not None


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_remembered_token_is_checked_in_full_when_the_clock_is_set_back(
    kind: Kind, key: NamedKey, clock: ManualClock
) -> None:
    # Issued by a server whose clock runs ahead by exactly the tolerated skew: valid here now,
    # refused if this clock is set back a second, as a service that never saw it refuses it.
    service = make_service((key,), clock)
    issuer_clock = ManualClock(START.replace(microsecond=0) + timedelta(seconds=CLOCK_SKEW))
    token = kind.issue(make_service((key,), issuer_clock))
    assert kind.verify(service, token) is not None
    clock.current = START.replace(microsecond=0) - timedelta(seconds=1)
    with pytest.raises(kind.invalid):
        kind.verify(make_service((key,), clock), token)
    with pytest.raises(kind.invalid):
        kind.verify(service, token)


def test_the_remembered_tokens_stay_within_the_memorys_capacity(
    key: NamedKey, clock: ManualClock
) -> None:
    memory = VerifiedTokens(capacity=4)
    service = make_service((key,), clock, verified_tokens=memory)
    tokens = [service.issue_access(SUB, f"session-{n}", ("user",)).token for n in range(20)]
    for token in tokens:
        assert service.verify_access(token).sub == SUB
        assert len(memory) <= 4
    assert len(memory) == 4
    # Forgotten tokens still verify, in full.
    assert [service.verify_access(token).sid for token in tokens] == [
        f"session-{n}" for n in range(20)
    ]
    assert len(memory) == 4


def test_a_service_remembers_verified_tokens_by_default(service: TokenService) -> None:
    token = service.issue_access(SUB, SID, ("user",)).token
    assert service.verify_access(token) is service.verify_access(token)
