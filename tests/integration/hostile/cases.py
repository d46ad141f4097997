"""The hostile-input corpus: requests an attacker sends, each with the exact answer it must get.

Every case is refused before anything changes (the runner checks the database and the mail sink),
so the corpus can run against one shared account in any order. Credentials are placeholders
(``ACCESS``, ``STEP_UP``) filled in with the account's real tokens when the case runs.

Order of the checks a case meets (which decides its code): the ASGI gates first (413 size, 415
media type, 400 strict JSON), then the credentials of the operation (401), then the schema (400).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

#: Placeholders for the shared account's real tokens and address.
ACCESS = "{access}"
STEP_UP = "{step_up}"
EXISTING_EMAIL = "{email}"
#: The shared account's address in capitals: the same account by the comparison key.
EXISTING_EMAIL_UPPER = "{EMAIL}"

JSON = "application/json"
LIMIT = 64 * 1024
PASSWORD = "correct horse battery staple"

Headers = tuple[tuple[str, str | bytes], ...]


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    status: int
    code: str
    body: bytes | None = None
    content_type: str | None = JSON
    headers: Headers = ()
    #: Send the shared account's access token / step-up token as headers.
    access: bool = False
    step_up: bool = False


class Endpoint:
    """Cases for one operation; by default a 400 ``INVALID_REQUEST``."""

    def __init__(
        self,
        method: str,
        path: str,
        *,
        content_type: str | None = JSON,
        access: bool = False,
        step_up: bool = False,
    ) -> None:
        self._method, self._path, self._content_type = method, path, content_type
        self._access, self._step_up = access, step_up

    def __call__(
        self,
        case_id: str,
        body: bytes | None = None,
        status: int = 400,
        code: str = "INVALID_REQUEST",
        *,
        headers: Headers = (),
        content_type: str | bool | None = True,
        query: str = "",
    ) -> Case:
        chosen = self._content_type if content_type is True else content_type
        assert not isinstance(chosen, bool)
        return Case(
            case_id,
            self._method,
            self._path + query,
            status,
            code,
            body,
            chosen,
            headers,
            self._access,
            self._step_up,
        )


register = Endpoint("POST", "/auth/register")
login = Endpoint("POST", "/auth/login")
guests = Endpoint("POST", "/guests")
step_up = Endpoint("POST", "/auth/step-up", access=True)
second_factor_login = Endpoint("POST", "/auth/2fa/login")
confirm_totp = Endpoint("POST", "/auth/2fa/totp/setup", access=True, step_up=True)
recover = Endpoint("POST", "/auth/2fa/totp/recover")
enable_email = Endpoint("POST", "/auth/2fa/email/enable", access=True, step_up=True)
preferred = Endpoint("POST", "/auth/2fa/preferred-method", access=True, step_up=True)
refresh = Endpoint("POST", "/auth/refresh", content_type=None)
me = Endpoint("GET", "/users/me", content_type=None)
disable_totp = Endpoint("DELETE", "/auth/2fa/totp", content_type=None, access=True, step_up=True)
disable_totp_access_only = Endpoint("DELETE", "/auth/2fa/totp", content_type=None, access=True)
disable_totp_no_credentials = Endpoint("DELETE", "/auth/2fa/totp", content_type=None)


def _json(document: object) -> bytes:
    return json.dumps(document).encode()


def _registration(email: object = "new@example.com", name: object = "Ada", **more: object) -> bytes:
    return _json({"email": email, "password": PASSWORD, "name": name, **more})


def _registration_raw(email_literal: bytes, name_literal: bytes = b'"Ada"') -> bytes:
    password = _json(PASSWORD)
    return b'{"email": %s, "password": %s, "name": %s}' % (email_literal, password, name_literal)


def _with_name(literal: bytes) -> bytes:
    return _registration_raw(b'"s@example.com"', literal)


TOO_LARGE = (413, "PAYLOAD_TOO_LARGE")

# --- sizes --------------------------------------------------------------------------------------

SIZES = [
    register("size-body-one-byte-over", _registration(name="A" * LIMIT), *TOO_LARGE),
    register("size-body-one-mib", b" " * (1 << 20), *TOO_LARGE),
    login("size-login-over", b"[" + b" " * LIMIT, *TOO_LARGE),
    guests("size-guest-over", _json({"name": "g" * LIMIT}), *TOO_LARGE),
    disable_totp("size-core-op-body-over", b"0" * (LIMIT + 1), *TOO_LARGE, content_type=JSON),
    register("size-name-over-schema", _registration(name="A" * 101)),
    register("size-email-over-schema", _registration(email="a" * 250 + "@example.com")),
    register("size-password-over-schema", _registration(password="p" * 129)),
    register("size-password-under-schema", _registration(password="short")),
    login("size-login-password-over", _json({"email": "a@example.com", "password": "p" * 129})),
    guests("size-guest-name-over", _json({"name": "g" * 101})),
    guests("size-guest-name-empty", _json({"name": ""})),
    step_up("size-step-up-password-over", _json({"password": "p" * 129})),
    confirm_totp("size-totp-code-long", _json({"token": "t", "code": "1" * 7})),
    # Credentials are checked before the schema: without a 2FA token the length never matters.
    recover(
        "size-recovery-code-long-unauthenticated",
        _json({"code": "r" * 65}),
        401,
        "TWO_FACTOR_TOKEN_MISSING",
    ),
]

# --- nesting ------------------------------------------------------------------------------------

NESTING = [
    register("nest-depth-33", b"[" * 33 + b"]" * 33),
    register("nest-depth-5000-in-name", _with_name(b"[" * 5000 + b"]" * 5000)),
    register("nest-depth-unclosed-60k", b"[" * 60_000),
    register("nest-objects-5000", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    login("nest-login-deep", b'{"email": ' + b"[" * 40 + b"]" * 40 + b"}"),
    guests("nest-guest-deep", b'{"name": ' + b'{"a":' * 40 + b"1" + b"}" * 41),
    step_up("nest-step-up-deep", b"[" * 1000 + b"]" * 1000),
    recover("nest-recover-deep", b"[" * 64 + b"]" * 64),
    register("nest-top-level-array", _json([{"email": "a@example.com"}])),
    register("nest-top-level-string", _json("a@example.com")),
    register("nest-top-level-null", b"null"),
    register("nest-object-for-email", _registration(email={"address": "a@example.com"})),
    register("nest-array-for-name", _registration(name=["Ada", "Eve"])),
    register("nest-session-depth", _registration(session={"browser": {"x": {"y": 1}}})),
    login(
        "nest-login-session-array",
        _json({"email": "a@example.com", "password": PASSWORD, "session": [1, 2]}),
    ),
]

# --- encodings ----------------------------------------------------------------------------------

ENCODINGS = [
    register("enc-lone-high-surrogate-name", _with_name(b'"\\ud800"')),
    register("enc-lone-low-surrogate-name", _with_name(b'"\\udfff"')),
    register("enc-reversed-pair-name", _with_name(b'"\\udc00\\ud800"')),
    register("enc-lone-surrogate-email", _registration_raw(b'"s\\ud800@example.com"')),
    login(
        "enc-lone-surrogate-login-password",
        b'{"email": "a@example.com", "password": "\\ud83dpassword-long"}',
    ),
    guests("enc-lone-surrogate-key", b'{"\\ud800": "x", "name": "G"}'),
    register("enc-utf8-encoded-surrogate", _with_name(b'"\xed\xa0\x80"')),
    register("enc-overlong-slash", _with_name(b'"\xc0\xaf"')),
    register("enc-invalid-byte-ff", _with_name(b'"\xff\xfe"')),
    register("enc-truncated-sequence", _with_name(b'"\xe2\x82"')),
    register("enc-latin1-body", _with_name('"José"'.encode("latin-1"))),
    register("enc-utf16-body", _registration().decode().encode("utf-16")),
    register("enc-utf16le-no-bom", _registration().decode().encode("utf-16-le")),
    register("enc-utf32-body", _registration().decode().encode("utf-32")),
    register("enc-utf8-bom", b"\xef\xbb\xbf" + _registration(email="bom@example.com")),
    register("enc-raw-tab-in-string", _with_name(b'"A\tda"')),
    register("enc-raw-newline-in-string", _with_name(b'"A\nda"')),
    register("enc-raw-nul-in-string", _with_name(b'"A\x00da"')),
    register("enc-single-quotes", b"{'email': 'a@example.com'}"),
    register("enc-trailing-comma", b'{"email": "a@example.com",}'),
    register("enc-comment", b'{"email": "a@example.com" /* hi */}'),
    register("enc-two-documents", _registration(email="one@example.com") + b" " + _registration()),
    register("enc-unterminated-string", b'{"email": "a@example.com'),
    register("enc-bad-escape", _registration_raw(b'"a\\x41@example.com"')),
    register("enc-short-unicode-escape", _registration_raw(b'"a\\u41@example.com"')),
    register("enc-body-only-whitespace", b" \r\n\t "),
    register("enc-body-empty-with-json-type", b""),
    guests("enc-guest-body-garbage", b"\x00\x01\x02\x03"),
]

# --- media types --------------------------------------------------------------------------------

UNSUPPORTED = (415, "UNSUPPORTED_MEDIA_TYPE")
GUEST = _json({"name": "G"})

MEDIA_TYPES = [
    register("media-missing", _registration(), *UNSUPPORTED, content_type=None),
    register("media-text-plain", _registration(), *UNSUPPORTED, content_type="text/plain"),
    register(
        "media-form",
        b"email=a%40example.com&password=x",
        *UNSUPPORTED,
        content_type="application/x-www-form-urlencoded",
    ),
    login(
        "media-multipart",
        b"--b\r\n\r\nx\r\n--b--",
        *UNSUPPORTED,
        content_type="multipart/form-data; boundary=b",
    ),
    login("media-xml", b"<login/>", *UNSUPPORTED, content_type="application/xml"),
    guests(
        "media-json-suffix-other", GUEST, *UNSUPPORTED, content_type="application/merge-patch+json"
    ),
    guests("media-json-lookalike", GUEST, *UNSUPPORTED, content_type="application/jsonx"),
    guests("media-empty-type", GUEST, *UNSUPPORTED, content_type=""),
    guests("media-garbage-type", GUEST, *UNSUPPORTED, content_type="!!!/???"),
    register("media-capitals-still-checked", b'{"email": 1}', content_type="APPLICATION/JSON"),
    register(
        "media-charset-utf16-declared",
        _registration().decode().encode("utf-16"),
        content_type="application/json; charset=utf-16",
    ),
    login(
        "media-missing-on-login",
        _json({"email": "a@example.com", "password": PASSWORD}),
        *UNSUPPORTED,
        content_type=None,
    ),
    disable_totp("media-missing-on-core-op-body", b"{}", *UNSUPPORTED),
    recover("media-missing-on-recover", _json({"code": "x"}), *UNSUPPORTED, content_type=None),
]

# --- numbers ------------------------------------------------------------------------------------

NUMBERS = [
    register("num-5000-digits-for-name", _with_name(b"9" * 5000)),
    register("num-33-digits", _with_name(b"1" * 33)),
    register("num-long-fraction", _with_name(b"0." + b"1" * 40)),
    register("num-long-exponent", _with_name(b"1e" + b"9" * 40)),
    register("num-float-overflow", _with_name(b"1e999")),
    register("num-negative-zero", _with_name(b"-0")),
    register("num-int-for-email", _registration_raw(b"12345")),
    register("num-nan", _with_name(b"NaN")),
    register("num-infinity", _with_name(b"Infinity")),
    register("num-minus-infinity", _with_name(b"-Infinity")),
    register("num-hex", _with_name(b"0x10")),
    register("num-leading-zeros", _with_name(b"0001")),
    register("num-plus-sign", _with_name(b"+1")),
    confirm_totp("num-totp-code-as-number", b'{"token": "t", "code": 123456}'),
    recover("num-recover-code-5000-digits", b'{"code": ' + b"7" * 5000 + b"}"),
    guests("num-guest-name-as-number", b'{"name": 1e308}'),
    step_up("num-step-up-password-bool", b'{"password": true}'),
]

# --- duplicate keys and shapes ------------------------------------------------------------------

SHAPES = [
    register(
        "dup-email",
        b'{"email": "a@example.com", "email": "b@elsewhere.test", "password": %s, "name": "A"}'
        % _json(PASSWORD),
    ),
    register(
        "dup-password",
        b'{"email": "d@example.com", "password": "x", "password": %s, "name": "A"}'
        % _json(PASSWORD),
    ),
    register("dup-name", _with_name(b'"A", "name": "B"')),
    login("dup-login-email", b'{"email": "x@example.com", "email": "{email}", "password": "p"}'),
    guests("dup-guest-name", b'{"name": "a", "name": "b"}'),
    login(
        "dup-nested-session",
        b'{"email": "x@example.com", "password": "p", "session": {"os": "a", "os": "b"}}',
    ),
    guests("dup-case-variants-are-distinct-keys", b'{"name": "a", "Name": "b"}'),
    register("shape-extra-property", _registration(admin=True)),
    register("shape-roles-injection", _registration(roles=["admin"])),
    register("shape-id-injection", _registration(_id="000000000000000000000000")),
    register("shape-mongo-operator-email", _registration(email={"$ne": None})),
    register("shape-mongo-operator-name", _registration(name={"$gt": ""})),
    login("shape-login-operator", _json({"email": {"$regex": ".*"}, "password": {"$ne": "x"}})),
    register("shape-null-email", _registration(email=None)),
    register("shape-null-name", _registration(name=None)),
    register("shape-bool-email", _registration(email=True)),
    register("shape-missing-email", _json({"password": PASSWORD, "name": "A"})),
    register("shape-missing-password", _json({"email": "m@example.com", "name": "A"})),
    register("shape-empty-object", b"{}"),
    guests("shape-guest-extra", _json({"name": "G", "roles": ["admin"]})),
    preferred("shape-preferred-unknown-method", _json({"method": "sms"})),
    preferred("shape-preferred-method-case", _json({"method": "TOTP"})),
    second_factor_login(
        "shape-2fa-login-bad-token-before-bad-body",
        _json({"totp": 123456}),
        401,
        "TWO_FACTOR_TOKEN_INVALID",
        headers=(("X-Two-Factor-Authentication-Token", "x"),),
    ),
    enable_email("shape-email-enable-code-letters", _json({"code": "abcdef"})),
]

# --- headers and credentials --------------------------------------------------------------------

_JWT_LIKE = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
INVALID_ACCESS = (401, "ACCESS_TOKEN_INVALID")
INVALID_STEP_UP = (401, "STEP_UP_TOKEN_INVALID")
NO_CREDENTIAL = (401, "AUTHENTICATION_REQUIRED")


def _authorization(value: str | bytes) -> Headers:
    return (("Authorization", value),)


HEADERS = [
    me("hdr-bearer-without-token", None, *INVALID_ACCESS, headers=_authorization("Bearer")),
    me("hdr-bearer-garbage", None, *INVALID_ACCESS, headers=_authorization("Bearer garbage")),
    me(
        "hdr-bearer-jwt-unsigned",
        None,
        *INVALID_ACCESS,
        headers=_authorization(f"Bearer {_JWT_LIKE}"),
    ),
    me(
        "hdr-bearer-alg-none",
        None,
        *INVALID_ACCESS,
        headers=_authorization("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
    ),
    me("hdr-bearer-8k", None, *INVALID_ACCESS, headers=_authorization("Bearer " + "a" * 8000)),
    me("hdr-bearer-non-ascii", None, *INVALID_ACCESS, headers=_authorization(b"Bearer t\xe9st")),
    me("hdr-bearer-utf8-bytes", None, *INVALID_ACCESS, headers=_authorization("Bearer ✓".encode())),
    me("hdr-basic-scheme", None, *NO_CREDENTIAL, headers=_authorization("Basic YTpi")),
    me(
        "hdr-bearer-double-space",
        None,
        *INVALID_ACCESS,
        headers=_authorization("Bearer  " + _JWT_LIKE),
    ),
    me(
        "hdr-step-up-token-as-access",
        None,
        *INVALID_ACCESS,
        headers=_authorization("Bearer " + STEP_UP),
    ),
    me("hdr-cookie-garbage", None, *INVALID_ACCESS, headers=(("Cookie", "access_token=garbage"),)),
    me("hdr-cookie-malformed-jar", None, *NO_CREDENTIAL, headers=(("Cookie", '";;;=;=";"\\'),)),
    me(
        "hdr-cookie-huge",
        None,
        *INVALID_ACCESS,
        headers=(("Cookie", "access_token=" + "c" * 6000),),
    ),
    disable_totp_access_only(
        "hdr-step-up-garbage", None, *INVALID_STEP_UP, headers=(("X-Step-Up-Token", "garbage"),)
    ),
    disable_totp_access_only(
        "hdr-step-up-with-bearer-prefix",
        None,
        *INVALID_STEP_UP,
        headers=(("X-Step-Up-Token", "Bearer " + _JWT_LIKE),),
    ),
    disable_totp_access_only(
        "hdr-step-up-access-token-in-its-place",
        None,
        *INVALID_STEP_UP,
        headers=(("X-Step-Up-Token", ACCESS),),
    ),
    disable_totp_access_only(
        "hdr-step-up-8k", None, *INVALID_STEP_UP, headers=(("X-Step-Up-Token", "s" * 8000),)
    ),
    disable_totp_access_only(
        "hdr-step-up-invalid-header-wins-over-cookie",
        None,
        *INVALID_STEP_UP,
        headers=(("X-Step-Up-Token", "x"), ("Cookie", "step_up_token=" + STEP_UP)),
    ),
    disable_totp_no_credentials(
        "hdr-step-up-without-access", None, *NO_CREDENTIAL, headers=(("X-Step-Up-Token", STEP_UP),)
    ),
    second_factor_login(
        "hdr-2fa-token-garbage",
        _json({"totp": "123456"}),
        401,
        "TWO_FACTOR_TOKEN_INVALID",
        headers=(("X-Two-Factor-Authentication-Token", "garbage"),),
    ),
    second_factor_login(
        "hdr-2fa-token-missing", _json({"totp": "123456"}), 401, "TWO_FACTOR_TOKEN_MISSING"
    ),
    recover(
        "hdr-2fa-token-is-access",
        _json({"code": "abcd-efgh"}),
        401,
        "TWO_FACTOR_TOKEN_INVALID",
        headers=(("X-Two-Factor-Authentication-Token", ACCESS),),
    ),
    refresh(
        "hdr-refresh-with-access",
        None,
        401,
        "REFRESH_TOKEN_INVALID",
        headers=_authorization("Bearer " + ACCESS),
    ),
    refresh(
        "hdr-refresh-garbage",
        None,
        401,
        "REFRESH_TOKEN_INVALID",
        headers=_authorization("Bearer x.y.z"),
    ),
    Case(
        "hdr-request-id-injection",
        "GET",
        "/auth/2fa/totp/setup",
        *NO_CREDENTIAL,
        content_type=None,
        headers=(("X-Request-Id", "evil\u2028<script>".encode()),),
    ),
]

# --- addresses ----------------------------------------------------------------------------------

INVALID_ADDRESS = (400, "INVALID_EMAIL_ADDRESS")
CYRILLIC_A = "\u0430"
#: Addresses that can never be an account's: refused at registration, and answered at sign-in
#: exactly like a wrong password (no lookup, no hash, no budget spent).
REFUSED_ADDRESSES = {
    "list": "a@example.com, eve@elsewhere.example",
    "list-semicolon": "a@example.com; eve@elsewhere.example",
    "display-name": "Eve <eve@elsewhere.example>",
    "display-name-quoted": '"Ada" <ada@example.com>',
    "crlf-bcc": "ada@example.com\r\nBcc: eve@elsewhere.example",
    "lf": "ada@example.com\n",
    "nul": "ada\x00@example.com",
    "zero-width-space": "ada\u200b@example.com",
    "zero-width-joiner": "a\u200dda@example.com",
    "bidi-override": "\u202eada@example.com",
    "soft-hyphen": "ada\u00ad@example.com",
    "trailing-dot-domain": "ada@example.com.",
    "cyrillic-in-latin-domain": "ada@ex" + CYRILLIC_A + "mple.com",
    "quoted-local-part": '"ada"@example.com',
    "comment": "ada(comment)@example.com",
    "ip-literal": "ada@[127.0.0.1]",
    "ipv6-literal": "ada@[IPv6:::1]",
    "localhost": "ada@localhost",
    "no-at-sign": "ada.example.com",
    "two-at-signs": "ada@eve@example.com",
    "empty-local-part": "@example.com",
    "empty": "",
    "spaces-only": "   ",
    "local-part-over-64": "a" * 65 + "@example.com",
    "label-over-63": "ada@" + "b" * 64 + ".com",
    "dot-dot": "ada..lovelace@example.com",
}

ADDRESSES = [
    *(
        register(f"addr-register-{name}", _registration(email=address), *INVALID_ADDRESS)
        for name, address in REFUSED_ADDRESSES.items()
    ),
    *(
        login(
            f"addr-login-{name}",
            _json({"email": address, "password": PASSWORD}),
            401,
            "INVALID_CREDENTIALS",
        )
        for name, address in list(REFUSED_ADDRESSES.items())[:12]
    ),
    # Spellings of the shared account's own address: the same account, so 409 and nothing new.
    register(
        "addr-lookalike-upper-case",
        b'{"email": "{EMAIL}", "password": %s, "name": "E"}' % _json(PASSWORD),
        409,
        "EMAIL_ALREADY_REGISTERED",
    ),
]

# --- names --------------------------------------------------------------------------------------

INVALID_NAME = (400, "INVALID_NAME")
REFUSED_NAMES = {
    "newline": "Ada\nLovelace",
    "crlf-header": "Ada\r\nBcc: eve@elsewhere.example",
    "nul": "Ada\x00",
    "escape-sequence": "Ada\x1b[31m",
    "delete-char": "Ada\x7f",
    "bidi-override": "\u202eAda",
    "bidi-isolate": "\u2066Ada\u2069",
    "zero-width-space": "Ada\u200b",
    "hangul-filler": "\u3164",
    "blank": "   ",
    "line-separator": "Ada\u2028",
}

NAMES = [
    *(
        register(
            f"name-register-{key}", _registration(email="n@example.com", name=name), *INVALID_NAME
        )
        for key, name in REFUSED_NAMES.items()
    ),
    *(
        guests(f"name-guest-{key}", _json({"name": name}), *INVALID_NAME)
        for key, name in list(REFUSED_NAMES.items())[:6]
    ),
]

# --- query strings ------------------------------------------------------------------------------

QUERIES = [
    disable_totp("query-locale-empty", query="?locale="),
    disable_totp("query-locale-too-long", query="?locale=" + "a" * 36),
    disable_totp("query-locale-path-traversal", query="?locale=..%2F..%2Fetc%2Fpasswd"),
    disable_totp("query-locale-nul", query="?locale=en%00"),
    disable_totp("query-locale-crlf", query="?locale=en%0D%0ASet-Cookie:%20x=1"),
    disable_totp("query-locale-unicode", query="?locale=%E2%80%AEen"),
    disable_totp("query-locale-digits", query="?locale=12"),
    disable_totp("query-locale-single-letter", query="?locale=e"),
    disable_totp("query-locale-script-injection", query="?locale=%3Cscript%3E"),
    disable_totp("query-locale-bad-percent", query="?locale=%ZZ"),
    disable_totp("query-locale-array", query="?locale[]=en"),
    disable_totp("query-unknown-parameter", query="?admin=1"),
    disable_totp("query-huge-unknown", query="?x=" + "y" * 4000),
    register("query-on-register", _registration(), query="?debug=1"),
    Case("query-on-health", "GET", "/health?x=1", 400, "INVALID_REQUEST", content_type=None),
]

# --- routing ------------------------------------------------------------------------------------

NOT_FOUND = (404, "NOT_FOUND")
NOT_ALLOWED = (405, "METHOD_NOT_ALLOWED")

ROUTING = [
    Case("route-unknown", "GET", "/admin", *NOT_FOUND, content_type=None),
    Case("route-traversal", "GET", "/auth/../../etc/passwd", *NOT_FOUND, content_type=None),
    Case(
        "route-encoded-traversal",
        "GET",
        "/auth/%2e%2e/%2e%2e/etc/passwd",
        *NOT_FOUND,
        content_type=None,
    ),
    Case("route-case", "DELETE", "/AUTH/2FA/TOTP", *NOT_FOUND, None, None, (), True, True),
    Case(
        "route-put-on-core-op", "PUT", "/auth/2fa/totp", *NOT_ALLOWED, b"{}", JSON, (), True, True
    ),
    Case("route-get-on-register", "GET", "/auth/register", *NOT_ALLOWED, content_type=None),
    Case("route-patch-guests", "PATCH", "/guests", *NOT_ALLOWED, GUEST),
    Case("route-long-path", "GET", "/" + "a" * 4000, *NOT_FOUND, content_type=None),
    Case("route-nul-in-path", "GET", "/auth/status%00", *NOT_FOUND, content_type=None),
]

CORPUS: list[Case] = [
    *SIZES,
    *NESTING,
    *ENCODINGS,
    *MEDIA_TYPES,
    *NUMBERS,
    *SHAPES,
    *ADDRESSES,
    *NAMES,
    *HEADERS,
    *QUERIES,
    *ROUTING,
]
