"""The name policy: what a display name may contain, and the form it is stored in."""

from __future__ import annotations

import pytest

from twofactor.security.names import MAX_LENGTH, NameRefused, parse_display_name


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("Ada Lovelace", "Ada Lovelace"),
        ("  Ada Lovelace\u3000", "Ada Lovelace"),
        ("Jose\u0301", "Jos\u00e9"),  # NFC: one code point for e + combining acute
        ("\u674e\u5c0f\u9f8d", "\u674e\u5c0f\u9f8d"),
        (
            "\u0627\u0644\u062e\u0648\u0627\u0631\u0632\u0645\u064a",
            "\u0627\u0644\u062e\u0648\u0627\u0631\u0632\u0645\u064a",
        ),
        ("\u2764\ufe0f fan", "\u2764\ufe0f fan"),  # a variation selector makes an emoji
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),  # escaped where shown
        ("\ufb01ne", "\ufb01ne"),  # NFC, not NFKC: the ligature stays as written
        ("x" * MAX_LENGTH, "x" * MAX_LENGTH),
    ],
)
def test_an_accepted_name_is_trimmed_and_stored_in_nfc(text: str, stored: str) -> None:
    assert parse_display_name(text) == stored


@pytest.mark.parametrize(
    "text",
    [
        "Ada\nLovelace",
        "Ada\r\nBcc: eve@elsewhere.example",
        "Ada\tLovelace",
        "Ada\x00",
        "Ada\x7f",
        "Ada\x85",
        "Ada\u2028Lovelace",
        "Ada\u2029",
        "\u202eecalevoL adA",  # right-to-left override
        "Ada \u2067Lovelace\u2069",  # right-to-left isolate
        "Ada\u200e",  # left-to-right mark
        "Ada\u200bLovelace",  # zero-width space
        "Ada\u200dLovelace",  # zero-width joiner
        "\ufeffAda",
        "Ada\u00adLovelace",  # soft hyphen
        "\u3164",  # Hangul filler: looks blank
        "Ada\U000e0041",  # tag character
    ],
)
def test_control_line_break_and_invisible_characters_are_refused(text: str) -> None:
    with pytest.raises(NameRefused, match="control character, a line break or an invisible"):
        parse_display_name(text)


@pytest.mark.parametrize("text", ["", " ", "\u3000 \u00a0"])
def test_a_name_empty_after_trimming_is_refused(text: str) -> None:
    with pytest.raises(NameRefused, match="empty"):
        parse_display_name(text)


def test_a_name_longer_than_the_limit_after_nfc_is_refused() -> None:
    # U+0958 is excluded from composition: NFC turns each into two code points.
    text = "\u0958" * 60
    assert len(text) <= MAX_LENGTH

    with pytest.raises(NameRefused, match="longer than 100"):
        parse_display_name(text)
