"""What a request body claims to be, settled before Connexion looks at it.

Media types are case-insensitive (RFC 9110 §8.3.1), but Connexion matches them as written, and a
body without any ``Content-Type`` made it fail inside its validator (500). So the body gate
(``bodies``) lower-cases the type and subtype (``lower_cased_media_type``; parameters are left
alone), and answers a body that does not say what it is 415 ``UNSUPPORTED_MEDIA_TYPE``
(``refuse``) before Connexion reads it.
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from handlers._http.problems import send_problem

UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"


def has_body(content_length: bytes | None, transfer_encoding: bytes | None) -> bool:
    """Whether a request with these headers (``None``: not sent) has a body."""
    length = (content_length or b"0").strip()
    return transfer_encoding is not None or not length.isdigit() or int(length) > 0


def lower_cased_media_type(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    result = []
    for name, value in headers:
        if name.lower() == b"content-type":
            media_type, separator, parameters = value.partition(b";")
            value = media_type.strip().lower() + separator + parameters
        result.append((name, value))
    return result


UNTYPED_BODY = "The request body must say its media type: Content-Type: application/json."
NO_BODY_TAKEN = "This operation takes no request body."


async def refuse(scope: Scope, receive: Receive, send: Send, detail: str = UNTYPED_BODY) -> None:
    await send_problem(scope, receive, send, 415, UNSUPPORTED_MEDIA_TYPE, detail)
