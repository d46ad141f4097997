"""One-time codes: TOTP secrets and drift, provisioning URIs, QR codes, recovery and email codes."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest

from twofactor.security import otp

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 160 bits
#: In the middle of a 30 s step, so a step either side is a whole step away.
MOMENT = datetime(2030, 1, 2, 3, 4, 15, tzinfo=UTC)
RECOVERY_CODE = re.compile(r"^[A-HJ-NP-Z2-9]{4}(-[A-HJ-NP-Z2-9]{4}){3}$")


def code_at(secret: str, step: int) -> str:
    """The code an authenticator app shows during ``step``, computed by pyotp on its own."""
    return pyotp.TOTP(secret).at(step * 30)


def current_step(moment: datetime = MOMENT) -> int:
    return int(moment.timestamp()) // 30


# TOTP secrets ------------------------------------------------------------------------------


def test_a_new_totp_secret_is_32_base32_characters_of_160_bits() -> None:
    secret = otp.new_totp_secret()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert len(base64.b32decode(secret)) == 20


def test_new_totp_secrets_are_random() -> None:
    secrets = {otp.new_totp_secret() for _ in range(50)}
    assert len(secrets) == 50


def test_a_new_totp_secret_produces_codes_pyotp_accepts() -> None:
    secret = otp.new_totp_secret()
    step = current_step()
    assert otp.matching_step(secret, code_at(secret, step), MOMENT) == step


# Time steps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "step"),
    [(0, 0), (29, 0), (29.999, 0), (30, 1), (59, 1), (60, 2), (1_893_456_000, 63_115_200)],
)
def test_the_time_step_counts_whole_30_second_periods_since_the_epoch(
    seconds: float, step: int
) -> None:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    assert otp.time_step(moment) == step


def test_the_time_step_is_the_one_pyotp_computes() -> None:
    assert otp.time_step(MOMENT) == pyotp.TOTP(SECRET).timecode(MOMENT)


def test_the_time_step_does_not_depend_on_the_time_zone_of_the_moment() -> None:
    elsewhere = MOMENT.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert otp.time_step(elsewhere) == otp.time_step(MOMENT)


# Matching a code ---------------------------------------------------------------------------


def test_the_code_of_the_current_step_matches_that_step() -> None:
    step = current_step()
    assert otp.matching_step(SECRET, code_at(SECRET, step), MOMENT) == step


@pytest.mark.parametrize("drift", [-1, 1], ids=["one-step-before", "one-step-after"])
def test_a_code_one_step_away_matches_and_names_its_own_step(drift: int) -> None:
    step = current_step() + drift
    assert otp.matching_step(SECRET, code_at(SECRET, step), MOMENT) == step


@pytest.mark.parametrize("drift", [-2, 2, -20, 20])
def test_a_code_two_or_more_steps_away_is_rejected(drift: int) -> None:
    code = code_at(SECRET, current_step() + drift)
    nearby = {code_at(SECRET, current_step() + d) for d in (-1, 0, 1)}
    assert code not in nearby  # otherwise this secret would not test anything
    assert otp.matching_step(SECRET, code, MOMENT) is None


def test_the_drift_is_counted_from_the_step_of_the_moment_at_its_boundaries() -> None:
    start_of_step = datetime.fromtimestamp(current_step() * 30, UTC)
    last_instant = start_of_step + timedelta(seconds=29, microseconds=999_999)
    step = current_step()
    for moment in (start_of_step, last_instant):
        assert otp.matching_step(SECRET, code_at(SECRET, step - 1), moment) == step - 1
        assert otp.matching_step(SECRET, code_at(SECRET, step + 1), moment) == step + 1
        assert otp.matching_step(SECRET, code_at(SECRET, step + 2), moment) is None
    # One instant later the step before drops out of the window.
    assert (
        otp.matching_step(SECRET, code_at(SECRET, step - 1), last_instant + timedelta(0, 0, 1))
        is None
    )


def test_a_wrong_code_is_rejected() -> None:
    nearby = {code_at(SECRET, current_step() + d) for d in (-1, 0, 1)}
    wrong = next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in nearby)
    assert otp.matching_step(SECRET, wrong, MOMENT) is None


def test_the_code_of_another_secret_is_rejected() -> None:
    other = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    code = code_at(other, current_step())
    assert code not in {code_at(SECRET, current_step() + d) for d in (-1, 0, 1)}
    assert otp.matching_step(SECRET, code, MOMENT) is None


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda code: "", id="empty"),
        pytest.param(lambda code: code[:5], id="five-digits"),
        pytest.param(lambda code: code + "0", id="seven-digits"),
        pytest.param(lambda code: f" {code}", id="leading-space"),
        pytest.param(lambda code: f"{code}\n", id="trailing-newline"),
    ],
)
def test_a_mangled_form_of_the_right_code_is_rejected(mangle) -> None:
    code = code_at(SECRET, current_step())
    assert otp.matching_step(SECRET, mangle(code), MOMENT) is None


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("\uff11\uff12\uff13\uff14\uff15\uff16", id="fullwidth-digits"),
        pytest.param("12345\u00e9", id="accent"),
    ],
)
def test_a_code_with_non_ascii_characters_is_rejected_not_an_error(code: str) -> None:
    # hmac.compare_digest raises TypeError for non-ASCII text: such a code must never reach it.
    assert otp.matching_step(SECRET, code, MOMENT) is None


# Provisioning URI --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "account",
    [
        "ada@example.com",
        "ada+2fa@example.com",
        "Ada Lovelace",
        "Zoë Ångström 名前",
        "odd:name?&=#%",
    ],
)
def test_the_provisioning_uri_names_the_issuer_the_account_and_the_secret(account: str) -> None:
    uri = urlsplit(otp.provisioning_uri(SECRET, account))
    assert uri.scheme == "otpauth"
    assert uri.netloc == "totp"
    assert unquote(uri.path) == f"/{otp.ISSUER}:{account}"
    assert parse_qs(uri.query, strict_parsing=True) == {
        "secret": [SECRET],
        "issuer": [otp.ISSUER],
    }
    assert uri.fragment == ""


@pytest.mark.parametrize(
    ("account", "encoded"),
    [
        ("ada@example.com", "ada%40example.com"),
        ("ada+2fa@example.com", "ada%2B2fa%40example.com"),
        ("Ada Lovelace", "Ada%20Lovelace"),
        ("Zoë", "Zo%C3%AB"),
        ("a:b", "a%3Ab"),  # a colon would split the label into issuer and account again
    ],
)
def test_the_provisioning_uri_percent_encodes_the_account(account: str, encoded: str) -> None:
    uri = otp.provisioning_uri(SECRET, account)
    assert urlsplit(uri).path == f"/{otp.ISSUER}:{encoded}"
    assert uri.isascii()
    assert " " not in uri


def test_the_provisioning_uri_is_read_back_by_pyotp_with_the_same_codes() -> None:
    parsed = pyotp.parse_uri(otp.provisioning_uri(SECRET, "ada+2fa@example.com"))
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.name == "ada+2fa@example.com"
    assert parsed.issuer == otp.ISSUER
    assert parsed.at(MOMENT) == code_at(SECRET, current_step())


# QR code -----------------------------------------------------------------------------------


def svg_of(data_uri: str) -> bytes:
    prefix = "data:image/svg+xml;base64,"
    assert data_uri.startswith(prefix)
    return base64.b64decode(data_uri.removeprefix(prefix), validate=True)


def test_the_qr_code_is_an_svg_data_uri_holding_an_svg_document() -> None:
    svg = svg_of(otp.qr_code_data_uri(otp.provisioning_uri(SECRET, "ada@example.com")))
    assert re.match(rb"^(<\?xml[^>]*\?>\s*)?<svg\b", svg)
    assert b'xmlns="http://www.w3.org/2000/svg"' in svg
    assert svg.rstrip().endswith(b"</svg>")


def test_different_uris_give_different_qr_codes() -> None:
    first = otp.qr_code_data_uri(otp.provisioning_uri(SECRET, "ada@example.com"))
    second = otp.qr_code_data_uri(otp.provisioning_uri(SECRET, "bob@example.com"))
    assert svg_of(first) != svg_of(second)


# Recovery codes ----------------------------------------------------------------------------


def test_there_are_ten_distinct_recovery_codes() -> None:
    codes = otp.new_recovery_codes()
    assert len(codes) == 10
    assert len(set(codes)) == 10


def test_a_recovery_code_is_four_groups_of_four_from_the_unambiguous_alphabet() -> None:
    codes = [code for _ in range(20) for code in otp.new_recovery_codes()]
    for code in codes:
        assert RECOVERY_CODE.fullmatch(code), code
    used = set("".join(codes).replace("-", ""))
    assert not used & set("0O1I")
    # 3,200 characters drawn from 32: every letter of the alphabet shows up.
    assert used == set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")


def test_recovery_codes_differ_between_draws() -> None:
    assert set(otp.new_recovery_codes()).isdisjoint(otp.new_recovery_codes())


@pytest.mark.parametrize(
    "typed",
    [
        "ABCD-EFGH-JKLM-NPQR",
        "abcd-efgh-jklm-npqr",
        "AbCd-eFgH-jKlM-nPqR",
        "ABCDEFGHJKLMNPQR",
        "abcdefghjklmnpqr",
        "ABCD EFGH JKLM NPQR",
        " abcd efgh-jklmnpqr ",
        "ABCD--EFGH - JKLM\tNPQR",
    ],
)
def test_a_typed_recovery_code_is_normalized_to_the_stored_form(typed: str) -> None:
    assert otp.normalize_recovery_code(typed) == "ABCD-EFGH-JKLM-NPQR"


def test_a_generated_recovery_code_is_already_normalized() -> None:
    for code in otp.new_recovery_codes():
        assert otp.normalize_recovery_code(code) == code
        assert otp.normalize_recovery_code(code.lower().replace("-", " ")) == code


def test_normalizing_keeps_a_wrong_length_code_wrong() -> None:
    assert otp.normalize_recovery_code("abcd-efgh-jklm") == "ABCD-EFGH-JKLM"
    assert otp.normalize_recovery_code("abcd-efgh-jklm-npqr-s") == "ABCD-EFGH-JKLM-NPQR-S"
    assert otp.normalize_recovery_code("") == ""


# Email codes -------------------------------------------------------------------------------


def test_an_email_code_is_six_digits_and_keeps_its_leading_zeros() -> None:
    codes = [otp.new_email_code() for _ in range(300)]
    for code in codes:
        assert re.fullmatch(r"[0-9]{6}", code), code
    # One code in ten starts with 0: missing from 300 draws only if zeros are dropped.
    assert any(code.startswith("0") for code in codes)


def test_email_codes_are_not_constant() -> None:
    codes = {otp.new_email_code() for _ in range(100)}
    assert len(codes) > 90
