"""JSON request bodies, read strictly before Connexion parses them.

Python's ``json`` module is lenient in ways a hostile client can use: it recurses once per nesting
level (a few thousand levels raise ``RecursionError``), turns ``"\\ud800"`` into a string that
cannot be encoded again, converts a 5,000-digit number into an ``int`` (or fails with
``ValueError`` past Python's digit limit), keeps the *last* of two equal keys (so two readers of the
same body can disagree on what it says), accepts ``NaN`` and ``Infinity``, and guesses UTF-16 or
UTF-32 from the first bytes. Connexion parses with it, and each of those turned into a 500.

``check_json_body`` refuses all of that with one ``InvalidRequest`` (400 ``INVALID_REQUEST``), and
the body gate (``bodies``) applies it to every JSON body before the rest of the application sees
it (it reads the body within the size limit first, so what is checked here is already bounded).
The limits are far above anything the API's schemas allow, so a valid request never meets them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from twofactor.errors import InvalidRequest

#: Deeper than any schema of the API (its deepest body nests two objects).
MAX_DEPTH = 32
#: Characters of one number literal: room for any 64-bit integer or double in any notation.
MAX_NUMBER_LENGTH = 32

# A string literal (skipped whole, so brackets inside strings do not count) or a bracket.
_STRING_OR_BRACKET = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_OPENING = frozenset(b"[{")


def check_json_body(body: bytes) -> None:
    """Refuse a body that is not strict UTF-8 JSON within the limits; return quietly otherwise."""
    try:
        text = body.decode("utf-8")  # strict: also refuses encoded surrogates and overlong forms
    except UnicodeDecodeError:
        raise InvalidRequest("The request body is not valid UTF-8.") from None
    if text.startswith("\ufeff"):
        raise InvalidRequest("The request body must not start with a byte order mark.")
    _check_depth(body)
    try:
        document = json.loads(
            text,
            object_pairs_hook=_without_duplicate_keys,
            parse_int=_bounded_int,
            parse_float=_bounded_float,
            parse_constant=_no_constant,
        )
    except _Refused as refused:
        raise InvalidRequest(str(refused)) from None
    except ValueError:
        raise InvalidRequest("The request body is not valid JSON.") from None
    try:
        # Escaped surrogate pairs were joined into one character by the parser; a lone
        # surrogate escape was not, and is the only thing that can fail to encode here.
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest("The request body has an unpaired surrogate escape.") from None


class _Refused(Exception):
    """A limit met while parsing; its message is the safe detail of the 400."""


def _check_depth(body: bytes) -> None:
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(body):
        token = match.group()
        if len(token) != 1:
            continue  # a string literal
        if token[0] in _OPENING:
            depth += 1
            if depth > MAX_DEPTH:
                raise InvalidRequest(f"The request body nests deeper than {MAX_DEPTH} levels.")
        else:
            depth -= 1


def _without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise _Refused("The request body repeats a key in one object.")
    return document


def _bounded_int(literal: str) -> int:
    _check_number_length(literal)
    return int(literal)


def _bounded_float(literal: str) -> float:
    _check_number_length(literal)
    return float(literal)


def _check_number_length(literal: str) -> None:
    if len(literal) > MAX_NUMBER_LENGTH:
        raise _Refused(f"The request body has a number longer than {MAX_NUMBER_LENGTH} characters.")


def _no_constant(literal: str) -> float:
    raise _Refused(f"The request body has {literal}, which is not JSON.")


def is_json_media_type(content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")
