"""The envelope shared by every token: typ, iss, aud and times, checked on the injected clock.

The per-kind consequences (each kind's own error code) are in ``test_tokens``; these are the
edge cases of the checks themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from jwt.utils import base64url_encode

from tests.support.fakes import FrozenClock
from twofactor.security.keys import NamedKey
from twofactor.security.token_codec import CLOCK_SKEW, Expired, Rejected, TokenCodec

KEY = NamedKey("jwt-1", secrets.token_bytes(32))
NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
NOW_SECONDS = int(NOW.timestamp())
TYP, TOKEN_TYPE = "at+jwt", "access_token"
ISSUER, AUDIENCE = "twofactor-api", "twofactor-api"


def codec(clock_time: datetime = NOW) -> TokenCodec:
    return TokenCodec((KEY,), FrozenClock(clock_time), issuer=ISSUER, audiences=(AUDIENCE,))


def token(header: dict[str, Any] | None = None, **changes: Any) -> str:
    """A token signed by hand, so that any header and claims can be written (PyJWT refuses a
    non-text ``kid`` or ``iss``); ``None`` removes a claim."""
    claims: dict[str, Any] = {
        "token_type": TOKEN_TYPE,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "65f0c0ffee0000000000abcd",
        "iat": NOW_SECONDS,
        "exp": NOW_SECONDS + 60,
        "jti": "jti-1",
    } | changes
    payload = {name: value for name, value in claims.items() if value is not None}
    header = {"alg": "HS256", "kid": KEY.key_id, "typ": TYP} if header is None else header
    signing_input = b".".join(
        base64url_encode(json.dumps(part).encode()) for part in ({"alg": "HS256"} | header, payload)
    )
    signature = hmac.new(KEY.secret, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64url_encode(signature)).decode()


def decode(value: str) -> dict[str, Any]:
    claims, _ = codec().decode(value, TYP, TOKEN_TYPE)
    return claims


def test_the_baseline_token_decodes_with_its_expiry() -> None:
    claims, expires_at = codec().decode(token(), TYP, TOKEN_TYPE)
    assert claims["jti"] == "jti-1"
    assert expires_at == NOW + timedelta(seconds=60)


def test_encode_puts_typ_kid_iss_and_the_first_audience_on_the_token() -> None:
    two_audiences = TokenCodec(
        (KEY,), FrozenClock(NOW), issuer=ISSUER, audiences=("new-aud", "old-aud")
    )
    issued = two_audiences.encode(TYP, TOKEN_TYPE, {"sub": "x"})
    assert jwt.get_unverified_header(issued) == {"alg": "HS256", "kid": "jwt-1", "typ": TYP}
    claims = jwt.decode(issued, options={"verify_signature": False})
    assert claims == {"token_type": TOKEN_TYPE, "iss": ISSUER, "aud": "new-aud", "sub": "x"}


def test_a_codec_needs_a_key_and_an_audience() -> None:
    with pytest.raises(ValueError, match="signing key"):
        TokenCodec((), FrozenClock(NOW), issuer=ISSUER, audiences=(AUDIENCE,))
    with pytest.raises(ValueError, match="audience"):
        TokenCodec((KEY,), FrozenClock(NOW), issuer=ISSUER, audiences=())


# iat and nbf --------------------------------------------------------------------------------


def test_pyjwt_alone_would_take_an_iat_written_as_text() -> None:
    # Why the codec checks iat itself: pyjwt 2.15.1's _validate_iat does int(payload["iat"]),
    # which accepts the text "1700000000" (and floats and booleans).
    forged = token(iat="1700000000")
    claims = jwt.decode(forged, KEY.secret, algorithms=["HS256"], audience=AUDIENCE)
    assert claims["iat"] == "1700000000"
    with pytest.raises(Rejected):
        decode(forged)


@pytest.mark.parametrize(
    "iat",
    [str(NOW_SECONDS), float(NOW_SECONDS), NOW_SECONDS + 0.5, True, "now", [NOW_SECONDS], {}],
    ids=["text-digits", "float", "fraction", "bool", "word", "list", "object"],
)
def test_a_non_integer_iat_is_rejected(iat: object) -> None:
    with pytest.raises(Rejected):
        decode(token(iat=iat))


def test_a_missing_iat_is_rejected() -> None:
    with pytest.raises(Rejected):
        decode(token(iat=None))


@pytest.mark.parametrize("ahead", [0, 1, CLOCK_SKEW])
def test_an_iat_up_to_the_clock_skew_ahead_is_accepted(ahead: int) -> None:
    assert decode(token(iat=NOW_SECONDS + ahead))["iat"] == NOW_SECONDS + ahead


@pytest.mark.parametrize("ahead", [CLOCK_SKEW + 1, 3600, 10**30])
def test_an_iat_further_in_the_future_is_rejected(ahead: int) -> None:
    with pytest.raises(Rejected):
        decode(token(iat=NOW_SECONDS + ahead, exp=NOW_SECONDS + ahead + 60))


def test_an_iat_long_ago_is_accepted_while_exp_holds() -> None:
    assert decode(token(iat=0))["iat"] == 0


def test_the_skew_is_measured_from_the_clock_with_its_fraction_of_a_second() -> None:
    late = codec(NOW + timedelta(milliseconds=999))
    claims, _ = late.decode(token(iat=NOW_SECONDS + CLOCK_SKEW), TYP, TOKEN_TYPE)
    assert claims["iat"] == NOW_SECONDS + CLOCK_SKEW


@pytest.mark.parametrize("nbf", [NOW_SECONDS - 10, NOW_SECONDS + CLOCK_SKEW])
def test_an_nbf_up_to_the_clock_skew_ahead_is_accepted(nbf: int) -> None:
    assert decode(token(nbf=nbf))["nbf"] == nbf


@pytest.mark.parametrize(
    "nbf", [NOW_SECONDS + CLOCK_SKEW + 1, str(NOW_SECONDS), 1.5, False], ids=str
)
def test_an_nbf_in_the_future_or_not_an_integer_is_rejected(nbf: object) -> None:
    with pytest.raises(Rejected):
        decode(token(nbf=nbf))


def test_exp_has_no_leeway() -> None:
    with pytest.raises(Expired):
        decode(token(exp=NOW_SECONDS))
    assert decode(token(exp=NOW_SECONDS + 1))["exp"] == NOW_SECONDS + 1


# Header ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kid", [["jwt-1"], 1, None], ids=["list", "number", "null"])
def test_a_kid_that_is_not_text_is_rejected(kid: object) -> None:
    with pytest.raises(Rejected):
        decode(token({"kid": kid, "typ": TYP}))


@pytest.mark.parametrize(
    "header_segment",
    [
        "not base64!",
        "ünïcode",
        base64url_encode(b"not json").decode(),
        base64url_encode(b"[" * 100_000).decode(),
        base64url_encode(b'["kid", "jwt-1"]').decode(),
        base64url_encode(b"\xff\xfe").decode(),
    ],
    ids=["not-base64", "not-ascii", "not-json", "deep", "not-an-object", "not-utf8"],
)
def test_a_header_the_key_cannot_be_chosen_from_is_rejected(header_segment: str) -> None:
    with pytest.raises(Rejected):
        decode(header_segment + "." + token().split(".", 1)[1])


def test_a_header_naming_another_key_than_the_signature_is_rejected() -> None:
    other = NamedKey("jwt-2", secrets.token_bytes(32))
    two_keys = TokenCodec((KEY, other), FrozenClock(NOW), issuer=ISSUER, audiences=(AUDIENCE,))
    signed_by_one_named_the_other = token({"kid": other.key_id, "typ": TYP})

    with pytest.raises(Rejected):
        two_keys.decode(signed_by_one_named_the_other, TYP, TOKEN_TYPE)
    assert two_keys.decode(token(), TYP, TOKEN_TYPE)


def test_a_typ_with_non_ascii_letters_that_lower_to_ascii_is_rejected() -> None:
    # U+212A KELVIN SIGN lowers to "k": only ASCII spellings of the media type count.
    with pytest.raises(Rejected):
        codec().decode(token({"kid": KEY.key_id, "typ": "\u212aind+jwt"}), "kind+jwt", TOKEN_TYPE)
    assert codec().decode(token({"kid": KEY.key_id, "typ": "KIND+JWT"}), "kind+jwt", TOKEN_TYPE)


def test_a_genuine_token_with_its_header_swapped_for_the_expected_typ_is_rejected() -> None:
    # The typ is covered by the signature: a refresh token cannot be retyped by its bearer.
    genuine = token({"kid": KEY.key_id, "typ": "refresh+jwt"})
    swapped = token().split(".")[0] + "." + genuine.split(".", 1)[1]
    with pytest.raises(Rejected):
        decode(swapped)
