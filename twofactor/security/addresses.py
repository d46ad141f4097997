"""Which email addresses the service accepts, the form it stores and the key it compares.

One policy for every place that takes or uses an address (register, login, the mail adapter):

- **Syntax** is email-validator's (RFC 5321/5322 addr-spec, RFC 6531 internationalized local
  parts, IDNA 2008 with the UTS #46 mapping for the domain), with its DNS checks off (no network
  at request time) and its unsafe options off: no display name (``Name <a@b>``), no quoted local
  part, no IP literal, no special-use domain (``localhost``, ``.local``, ``.test``, ...). Lists
  (``a@b, c@d``), comments and a trailing dot in the domain are not addr-spec syntax at all, so
  they are refused rather than "repaired": an address is used exactly as it was understood.
- **No control or invisible characters** anywhere (``Cc``, ``Cf``, line separators, and the
  Default_Ignorable code points such as zero-width characters, fillers and variation
  selectors), so that no address looks like another or carries a header.
- **One script per label** (UTS #39 "highly restrictive"): every domain label and every
  dot-separated part of the local part is written in one of the scripts Unicode recommends for
  identifiers (UAX #31), digits and punctuation aside; Han may go with Hiragana/Katakana,
  Bopomofo or Hangul, and Latin with those. ``example.com`` spelled with U+0430 CYRILLIC
  SMALL LETTER A is refused. The scripts come from the ``regex`` module's Script_Extensions
  data, which follows each Unicode release; whole-script lookalikes (a label written entirely
  in Cyrillic letters that look Latin) are not detected.
- Surrounding spaces are trimmed; nothing else is changed by hand.

The stored form is email-validator's normalized one (NFC local part, domain in Unicode). The
comparison key is the compatibility-caseless form of the local part (Unicode 3.13 D146: case
folded and NFKC-normalized, so full-width or differently cased spellings collide) and the ASCII
(IDNA) form of the domain. For a plain ASCII address the key is ``address.strip().lower()``,
exactly the key of accounts registered before this policy, so they keep signing in.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import regex
from email_validator import EmailNotValidError, validate_email

#: RFC 5321 path limit minus the angle brackets; also the ``maxLength`` of openapi.yaml.
MAX_LENGTH = 254

_CONTROL = regex.compile(r"[\p{Cc}\p{Cs}\p{Zl}\p{Zp}]")
_INVISIBLE = regex.compile(r"[\p{Cf}\p{Default_Ignorable_Code_Point}]")
_SURROUNDING_SPACES = regex.compile(r"^\p{Zs}+|\p{Zs}+$")

# UAX #31 Table 5 (Recommended Scripts), by their Unicode script names.
_RECOMMENDED_SCRIPTS = (
    "Arabic", "Armenian", "Bengali", "Bopomofo", "Cyrillic", "Devanagari", "Ethiopic",
    "Georgian", "Greek", "Gujarati", "Gurmukhi", "Han", "Hangul", "Hebrew", "Hiragana",
    "Kannada", "Katakana", "Khmer", "Lao", "Latin", "Malayalam", "Myanmar", "Oriya", "Sinhala",
    "Tamil", "Telugu", "Thaana", "Thai", "Tibetan",
)  # fmt: skip
# UTS #39 5.2 "highly restrictive": one script, or one of these sets.
_SCRIPT_SETS = (
    *((script,) for script in _RECOMMENDED_SCRIPTS),
    ("Latin", "Han", "Hiragana", "Katakana"),
    ("Latin", "Han", "Bopomofo"),
    ("Latin", "Han", "Hangul"),
)
# A character whose Script_Extensions is Common or Inherited (digits, hyphen, combining marks)
# goes with any script.
_SINGLE_SCRIPT = tuple(
    regex.compile(
        "[" + "".join(rf"\p{{scx={name}}}" for name in ("Common", "Inherited", *scripts)) + "]*"
    )
    for scripts in _SCRIPT_SETS
)


class Problem(StrEnum):
    """Why an address is refused; the value is the safe sentence a client is shown."""

    EMPTY = "The email address is empty."
    TOO_LONG = f"The email address is longer than {MAX_LENGTH} characters."
    CONTROL_CHARACTER = "The email address contains a control character or a line break."
    INVISIBLE_CHARACTER = "The email address contains an invisible character."
    DISPLAY_NAME = "Send the address alone, without a name or angle brackets."
    SEVERAL_ADDRESSES = "Send exactly one email address."
    COMMENT = "Comments in parentheses are not accepted in an email address."
    QUOTED = "Quoted text is not accepted in an email address."
    IP_LITERAL = "An IP address is not accepted as the domain of an email address."
    TRAILING_DOT = "The domain of an email address cannot end with a period."
    MIXED_SCRIPT = "A part of the email address mixes letters of different scripts."
    SYNTAX = "This is not a valid email address."


class AddressRefused(ValueError):
    def __init__(self, problem: Problem, explanation: str | None = None) -> None:
        super().__init__(problem.value)
        self.problem = problem
        #: email-validator's own explanation, for ``Problem.SYNTAX`` (names characters, never
        #: echoes the address).
        self.explanation = explanation

    @property
    def detail(self) -> str:
        if self.explanation:
            return f"{self.problem.value} {self.explanation}"
        return self.problem.value


@dataclass(frozen=True)
class EmailAddress:
    """An address that passed the policy: build it only with ``parse_email_address``."""

    #: What is stored and shown: email-validator's normalized form.
    normalized: str
    #: The address with the domain in ASCII (IDNA) form; ``None`` when the local part itself
    #: is internationalized (then only an SMTPUTF8 server can take it).
    ascii: str | None
    #: What two addresses are compared by (and what the lookup hash is computed from).
    key: str

    @property
    def envelope(self) -> str:
        """The form to hand to a mail server: ASCII whenever the address has one."""
        return self.ascii or self.normalized


def parse_email_address(text: str) -> EmailAddress:
    """The address ``text`` stands for, or ``AddressRefused`` saying why it is not accepted."""
    address = _SURROUNDING_SPACES.sub("", text)
    _precheck(address)
    try:
        valid = validate_email(
            address,
            check_deliverability=False,
            allow_smtputf8=True,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
            allow_empty_local=False,
            globally_deliverable=True,
            # RFC 5321's 64-octet limit on the local part: longer ones are refused by mail servers.
            strict=True,
        )
    except EmailNotValidError as error:
        raise AddressRefused(Problem.SYNTAX, str(error)) from None
    parts = [*valid.local_part.split("."), *valid.domain.split(".")]
    if not all(_single_script(part) for part in parts):
        raise AddressRefused(Problem.MIXED_SCRIPT)
    key = f"{_caseless(valid.local_part)}@{valid.ascii_domain.lower()}"
    return EmailAddress(normalized=valid.normalized, ascii=valid.ascii_email, key=key)


def usable_email_address(text: str | None) -> EmailAddress | None:
    """The parsed address, or ``None`` when ``text`` (as stored) cannot be mailed."""
    if text is None:
        return None
    try:
        return parse_email_address(text)
    except AddressRefused:
        return None


def _precheck(address: str) -> None:
    """The refusals that deserve their own words (email-validator would call them syntax)."""
    if not address:
        raise AddressRefused(Problem.EMPTY)
    if len(address) > MAX_LENGTH:
        raise AddressRefused(Problem.TOO_LONG)
    if _CONTROL.search(address):
        raise AddressRefused(Problem.CONTROL_CHARACTER)
    if _INVISIBLE.search(address):
        raise AddressRefused(Problem.INVISIBLE_CHARACTER)
    if "<" in address or ">" in address:
        raise AddressRefused(Problem.DISPLAY_NAME)
    if "," in address or ";" in address:
        raise AddressRefused(Problem.SEVERAL_ADDRESSES)
    if "(" in address or ")" in address:
        raise AddressRefused(Problem.COMMENT)
    if '"' in address:
        raise AddressRefused(Problem.QUOTED)
    domain = address.rpartition("@")[2]
    if domain.startswith("["):
        raise AddressRefused(Problem.IP_LITERAL)
    if domain.endswith("."):
        raise AddressRefused(Problem.TRAILING_DOT)


def _single_script(part: str) -> bool:
    return part.isascii() or any(pattern.fullmatch(part) for pattern in _SINGLE_SCRIPT)


def _caseless(text: str) -> str:
    # Unicode 3.13 D146 (compatibility caseless match), recomposed so the key stays short.
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFD", text).casefold())
    return unicodedata.normalize("NFKC", folded.casefold())
