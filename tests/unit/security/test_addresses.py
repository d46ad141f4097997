"""The address policy: what is accepted (and stored and compared as what), what is refused and
why, lookalikes that collide, and the lookup key of ASCII addresses kept from before."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pytest

from twofactor.security.addresses import (
    AddressRefused,
    Problem,
    parse_email_address,
    usable_email_address,
)
from twofactor.security.crypto import EmailHasher

# Non-ASCII letters are written as escapes: several of them look exactly like ASCII ones.
CYRILLIC_A = "\u0430"
GREEK_ALPHA = "\u03b1"
FULL_WIDTH_ADA = "\uff41\uff44\uff41"
FULL_WIDTH_EXAMPLE = "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45"
BUECHER = "b\u00fccher"
IVAN = "\u0438\u0432\u0430\u043d"
PRIMER_RF = "\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444"
REI_E_JP = "\u4f8b\u3048.jp"
KABUSHIKI = "\u682a\u5f0f\u4f1a\u793e"

#: (what the client sends, the normalized address stored, the comparison key)
ACCEPTED = [
    ("ada@example.com", "ada@example.com", "ada@example.com"),
    ("Ada@Example.COM", "Ada@example.com", "ada@example.com"),
    ("ADA@EXAMPLE.COM", "ADA@example.com", "ada@example.com"),
    ("  ada@example.com  ", "ada@example.com", "ada@example.com"),
    ("\u3000ada@example.com\u00a0", "ada@example.com", "ada@example.com"),
    ("user+tag@example.com", "user+tag@example.com", "user+tag@example.com"),
    ("a.b.c@mail.example.org", "a.b.c@mail.example.org", "a.b.c@mail.example.org"),
    ("o'brien@example.ie", "o'brien@example.ie", "o'brien@example.ie"),
    ("x_y-z=1@example.com", "x_y-z=1@example.com", "x_y-z=1@example.com"),
    ("Postmaster@Example.com", "postmaster@example.com", "postmaster@example.com"),
    ("ada@123.example", "ada@123.example", "ada@123.example"),
    ("ada@example.c0m", "ada@example.c0m", "ada@example.c0m"),
    (f"ada@{BUECHER}.de", f"ada@{BUECHER}.de", "ada@xn--bcher-kva.de"),
    ("ada@xn--bcher-kva.de", f"ada@{BUECHER}.de", "ada@xn--bcher-kva.de"),
    ("ADA@B\u00dcCHER.DE", f"ADA@{BUECHER}.de", "ada@xn--bcher-kva.de"),
    (f"ada@{FULL_WIDTH_EXAMPLE}.com", "ada@example.com", "ada@example.com"),
    (f"{FULL_WIDTH_ADA}@example.com", f"{FULL_WIDTH_ADA}@example.com", "ada@example.com"),
    ("jos\u00e9@example.com", "jos\u00e9@example.com", "jos\u00e9@example.com"),
    ("jose\u0301@example.com", "jos\u00e9@example.com", "jos\u00e9@example.com"),
    ("Stra\u00dfe@example.de", "Stra\u00dfe@example.de", "strasse@example.de"),
    ("\ufb01le@example.com", "\ufb01le@example.com", "file@example.com"),
    (f"{IVAN}@{PRIMER_RF}", f"{IVAN}@{PRIMER_RF}", f"{IVAN}@xn--e1afmkfd.xn--p1ai"),
    (f"ada@{REI_E_JP}", f"ada@{REI_E_JP}", "ada@xn--r8jz45g.jp"),
    (f"ada@sony{KABUSHIKI}.jp", f"ada@sony{KABUSHIKI}.jp", "ada@xn--sony-ye6f785fgsonh6a.jp"),
    ("ada@\u03b5\u03bb.gr", "ada@\u03b5\u03bb.gr", "ada@xn--qxam.gr"),
    ("ada@example.internal", "ada@example.internal", "ada@example.internal"),
]

#: (what the client sends, why it is refused)
REFUSED = [
    ("", Problem.EMPTY),
    ("   ", Problem.EMPTY),
    ("a" * 250 + "@x.com", Problem.TOO_LONG),
    ("ada@example.com\r\nBcc: eve@elsewhere.example", Problem.CONTROL_CHARACTER),
    ("ada@example.com\n", Problem.CONTROL_CHARACTER),
    ("ada\t@example.com", Problem.CONTROL_CHARACTER),
    ("ada\x00@example.com", Problem.CONTROL_CHARACTER),
    ("ada@example.com\u2028", Problem.CONTROL_CHARACTER),
    ("ada\u200b@example.com", Problem.INVISIBLE_CHARACTER),
    ("ada@exa\u200dmple.com", Problem.INVISIBLE_CHARACTER),
    ("ada@exam\u00adple.com", Problem.INVISIBLE_CHARACTER),
    ("\u202eada@example.com", Problem.INVISIBLE_CHARACTER),
    ("ada@example.com\u2066", Problem.INVISIBLE_CHARACTER),
    ("ada\ufeff@example.com", Problem.INVISIBLE_CHARACTER),
    ("ada\ufe0f@example.com", Problem.INVISIBLE_CHARACTER),
    ("ada@exam\u3164ple.com", Problem.INVISIBLE_CHARACTER),
    ("Eve <eve@elsewhere.example>", Problem.DISPLAY_NAME),
    ("<ada@example.com>", Problem.DISPLAY_NAME),
    ("a@example.com, b@elsewhere.example", Problem.SEVERAL_ADDRESSES),
    ("a@example.com;b@elsewhere.example", Problem.SEVERAL_ADDRESSES),
    ("ada(work)@example.com", Problem.COMMENT),
    ('"ada"@example.com', Problem.QUOTED),
    ('"a@b"@example.com', Problem.QUOTED),
    ("ada@[127.0.0.1]", Problem.IP_LITERAL),
    ("ada@[IPv6:::1]", Problem.IP_LITERAL),
    ("ada@example.com.", Problem.TRAILING_DOT),
    (f"ada@ex{CYRILLIC_A}mple.com", Problem.MIXED_SCRIPT),
    (f"{CYRILLIC_A}da@example.com", Problem.MIXED_SCRIPT),
    (f"ada@ex{GREEK_ALPHA}mple.com", Problem.MIXED_SCRIPT),
    ("ada", Problem.SYNTAX),
    ("ada@", Problem.SYNTAX),
    ("@example.com", Problem.SYNTAX),
    ("ada@@example.com", Problem.SYNTAX),
    ("a@b@example.com", Problem.SYNTAX),
    ("ada..b@example.com", Problem.SYNTAX),
    ("a" * 65 + "@example.com", Problem.SYNTAX),  # RFC 5321: 64 octets before the @
    (".ada@example.com", Problem.SYNTAX),
    ("ada @example.com", Problem.SYNTAX),
    ("ada@exam_ple.com", Problem.SYNTAX),
    ("ada@-example.com", Problem.SYNTAX),
    ("ada@example", Problem.SYNTAX),
    ("ada@localhost", Problem.SYNTAX),
    ("ada@mail.local", Problem.SYNTAX),
    ("ada@elsewhere.test", Problem.SYNTAX),
    ("ada@1.2.3.4", Problem.SYNTAX),
    ("ada@" + "a" * 64 + ".com", Problem.SYNTAX),
]


@pytest.mark.parametrize(("text", "normalized", "key"), ACCEPTED)
def test_an_accepted_address_is_stored_normalized_and_compared_by_its_key(
    text: str, normalized: str, key: str
) -> None:
    address = parse_email_address(text)

    assert address.normalized == normalized
    assert address.key == key


@pytest.mark.parametrize(("text", "problem"), REFUSED)
def test_a_refused_address_says_why(text: str, problem: Problem) -> None:
    with pytest.raises(AddressRefused) as refused:
        parse_email_address(text)

    assert refused.value.problem is problem
    assert refused.value.detail.startswith(problem.value)


def test_the_table_is_large_enough_to_mean_something() -> None:
    assert len(ACCEPTED) + len(REFUSED) >= 40


@pytest.mark.parametrize("text", [text for text, _problem in REFUSED if text.strip()])
def test_no_refusal_echoes_the_address(text: str) -> None:
    with pytest.raises(AddressRefused) as refused:
        parse_email_address(text)

    assert text.strip() not in refused.value.detail


def test_a_syntax_refusal_carries_the_validators_explanation() -> None:
    with pytest.raises(AddressRefused) as refused:
        parse_email_address("ada@localhost")

    assert refused.value.detail == (
        "This is not a valid email address. "
        "The part after the @-sign is not valid. It should have a period."
    )


# Lookalikes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lookalike",
    [
        "ADA@EXAMPLE.COM",
        "Ada@Example.com",
        f"{FULL_WIDTH_ADA}@example.com",
        f"ada@{FULL_WIDTH_EXAMPLE}.com",
        f"{FULL_WIDTH_ADA.upper()}@{FULL_WIDTH_EXAMPLE.upper()}.COM",
        " ada@example.com\u3000",
    ],
)
def test_lookalikes_of_an_address_have_its_key(lookalike: str) -> None:
    assert parse_email_address(lookalike).key == parse_email_address("ada@example.com").key


def test_compatibility_and_case_variants_of_a_unicode_local_part_share_a_key() -> None:
    composed, decomposed = "jos\u00e9@example.com", "JOSE\u0301@example.com"
    assert parse_email_address(composed).key == parse_email_address(decomposed).key
    assert (
        parse_email_address("STRASSE@example.de").key
        == parse_email_address("stra\u00dfe@example.de").key
    )


def test_a_unicode_domain_and_its_ascii_form_share_a_key() -> None:
    assert parse_email_address(f"ada@{BUECHER}.de").key == (
        parse_email_address("ada@XN--BCHER-KVA.DE").key
    )


@pytest.mark.parametrize(
    "lookalike",
    [
        "ada\u200b@example.com",  # zero-width space
        "ada@example.com.",  # trailing dot
        f"ada@ex{CYRILLIC_A}mple.com",  # Cyrillic letter in a Latin label
        "ada@exa\u200cmple.com",  # zero-width non-joiner
    ],
)
def test_lookalikes_that_cannot_share_a_key_are_refused(lookalike: str) -> None:
    with pytest.raises(AddressRefused):
        parse_email_address(lookalike)


# Keys kept from before ---------------------------------------------------------------------


def key_before_this_policy(key: bytes, text: str) -> str:
    """The lookup hash earlier versions stored: HMAC-SHA256 of ``"email\\0" + strip().lower()``."""
    message = b"email\x00" + text.strip().lower().encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("text", [text for text, _normalized, _key in ACCEPTED if text.isascii()])
def test_the_lookup_hash_of_an_ascii_address_is_the_one_stored_before(text: str) -> None:
    key = secrets.token_bytes(32)

    assert EmailHasher(key)(parse_email_address(text)) == key_before_this_policy(key, text)


# Stored values ----------------------------------------------------------------------------


def test_a_usable_stored_address_is_parsed() -> None:
    address = usable_email_address("Ada@Example.com")
    assert address is not None
    assert address.envelope == "Ada@example.com"


@pytest.mark.parametrize(
    "stored", [None, "a@example.com, eve@elsewhere.example", "Eve <eve@elsewhere.example>"]
)
def test_an_unusable_stored_address_is_none(stored: str | None) -> None:
    assert usable_email_address(stored) is None


def test_the_envelope_of_an_internationalized_domain_is_ascii() -> None:
    assert parse_email_address(f"ada@{BUECHER}.de").envelope == "ada@xn--bcher-kva.de"


def test_the_envelope_of_an_internationalized_local_part_needs_smtputf8() -> None:
    address = parse_email_address(f"{IVAN}@{PRIMER_RF}")
    assert address.ascii is None
    assert address.envelope == f"{IVAN}@{PRIMER_RF}"
