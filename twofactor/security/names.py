"""Which display names the service accepts (users and guests) and the form it stores.

A name is shown in responses and in the body of security emails, so it must read as what it
is: no control characters or line breaks (``Cc``, ``Zl``, ``Zp``), no invisible format
characters (``Cf``: bidirectional overrides and isolates that reorder the text around them,
zero-width characters) and no other Default_Ignorable code points (Hangul fillers that make a
name look blank) — variation selectors excepted, so ``❤️`` stays an emoji. Surrounding spaces
are trimmed and the rest is stored in Unicode NFC (canonically equivalent spellings become one;
NFKC is not used, it would change what people wrote, such as ``ﬁ`` or superscripts).
"""

from __future__ import annotations

import unicodedata

import regex

#: The ``maxLength`` of every name in openapi.yaml, in code points, checked after NFC.
MAX_LENGTH = 100

_REFUSED = regex.compile(
    r"[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\p{Cf}]|(?!\p{Variation_Selector})\p{Default_Ignorable_Code_Point}"
)


class NameRefused(ValueError):
    """The name is not accepted; the message is safe to show (it never echoes the name)."""


def parse_display_name(text: str) -> str:
    """The name to store for ``text``, or ``NameRefused``."""
    if _REFUSED.search(text):
        raise NameRefused(
            "The name contains a control character, a line break or an invisible character."
        )
    name = unicodedata.normalize("NFC", text.strip())
    if not name:
        raise NameRefused("The name is empty.")
    if len(name) > MAX_LENGTH:
        raise NameRefused(f"The name is longer than {MAX_LENGTH} characters.")
    return name
