"""Where each token travels, and the one rule for reading it: a header wins over its cookie.

Every token can come in a header (``Authorization: Bearer`` or a raw header of its own) or in a
cookie, and ``openapi.yaml`` declares the two as separate security schemes. Without one rule the
precedence ends up copied into every pair of security functions; here it is written once:
``credential(request, kind, source)`` returns the token from ``source``, and the cookie steps
aside when the header is present, so an invalid header fails even next to a valid cookie.

Reading never verifies: the security functions in ``handlers.security`` do that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from starlette.requests import cookie_parser

from twofactor.errors import AccessTokenInvalid, RefreshTokenInvalid, ServiceError


class CarriesHeaders(Protocol):
    """A request, as far as reading credentials goes (a Starlette or Connexion request)."""

    @property
    def headers(self) -> Mapping[str, str]: ...


class Source(Enum):
    HEADER = "header"
    COOKIE = "cookie"


@dataclass(frozen=True)
class Credential:
    """A kind of token: the header and the cookie it may travel in."""

    cookie: str
    #: The header's name; with ``bearer`` it is ``Authorization`` and holds ``Bearer <token>``.
    header: str = "Authorization"
    bearer: bool = False
    #: Raised when an ``Authorization: Bearer`` header carries no token.
    empty_bearer: type[ServiceError] = AccessTokenInvalid


ACCESS = Credential(cookie="access_token", bearer=True, empty_bearer=AccessTokenInvalid)
REFRESH = Credential(cookie="refresh_token", bearer=True, empty_bearer=RefreshTokenInvalid)
STEP_UP = Credential(cookie="step_up_token", header="X-Step-Up-Token")
TWO_FACTOR = Credential(
    cookie="two_factor_authentication_token", header="X-Two-Factor-Authentication-Token"
)


def credential(request: CarriesHeaders, kind: Credential, source: Source) -> str | None:
    """The token ``source`` carries, or ``None`` when it carries none.

    The cookie steps aside (``None``) when the header is present, valid or not. A bearer header
    without a token raises ``kind.empty_bearer`` from either source: it is present but unusable.
    """
    header = _header(request, kind)
    if source is Source.HEADER:
        return header
    if header is not None:
        return None
    return cookie(request.headers, kind.cookie)


def sent(request: CarriesHeaders, kind: Credential) -> str | None:
    """The token the request sends, wherever it is: the header's, else the cookie's."""
    header = credential(request, kind, Source.HEADER)
    return header if header is not None else credential(request, kind, Source.COOKIE)


def offered(request: CarriesHeaders, kind: Credential) -> bool:
    """Whether the request tries to send this credential at all, valid or not; never raises.

    Only used to word a 401 after every security alternative declined. For a bearer kind any
    ``Authorization`` value starting with ``bearer`` counts, even one ``credential`` would not
    read (``Bearerxyz``): that is how the service has always told the two 401s apart.
    """
    if kind.bearer:
        header = request.headers.get(kind.header, "").lower().startswith("bearer")
    else:
        header = request.headers.get(kind.header) is not None
    return header or cookie(request.headers, kind.cookie) is not None


def cookie(headers: Mapping[str, str], name: str) -> str | None:
    """A cookie's value, parsed leniently: one malformed cookie does not hide the others; an
    empty value counts as no cookie."""
    value = cookie_parser(headers.get("cookie", "")).get(name)
    return value or None


def _header(request: CarriesHeaders, kind: Credential) -> str | None:
    value = request.headers.get(kind.header)
    if value is None:
        return None
    if not kind.bearer:
        # A present but blank header still counts as present: it fails verification rather
        # than letting the cookie answer.
        return value.strip()
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None  # another scheme is not ours
    token = token.strip()
    if not token:
        raise kind.empty_bearer("The Authorization header has no token.")
    return token
