"""The hostile-input corpus: requests an attacker sends, each with the exact answer it must get.

Every case is refused before anything changes (the runner checks the database and the mail sink),
so the corpus can run against one shared account in any order. Credentials are placeholders
(``ACCESS``, ``STEP_UP``) filled in with the account's real tokens when the case runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

#: Placeholders for the shared account's real tokens.
ACCESS = "{access}"
STEP_UP = "{step_up}"
#: The shared account's address, for lookalikes of an existing account.
EXISTING_EMAIL = "{email}"

JSON = "application/json"
LIMIT = 64 * 1024
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    status: int
    code: str
    body: bytes | None = None
    content_type: str | None = JSON
    headers: tuple[tuple[str, str | bytes], ...] = ()
    #: Send the shared account's access token / step-up token as headers.
    access: bool = False
    step_up: bool = False


def _json(document: object) -> bytes:
    return json.dumps(document).encode()


def _register(email: object = "new@example.com", name: object = "Ada", **more: object) -> bytes:
    return _json({"email": email, "password": PASSWORD, "name": name, **more})


def _register_raw(email_literal: bytes, name_literal: bytes = b'"Ada"') -> bytes:
    password = _json(PASSWORD)
    return (
        b'{"email": '
        + email_literal
        + b', "password": '
        + password
        + b', "name": '
        + (name_literal + b"}")
    )


def _bad_register(
    case_id: str, body: bytes, status: int = 400, code: str = "INVALID_REQUEST"
) -> Case:
    return Case(case_id, "POST", "/auth/register", status, code, body)


# --- sizes --------------------------------------------------------------------------------------

SIZES = [
    _bad_register("size-body-one-byte-over", _register(name="A" * LIMIT), 413, "PAYLOAD_TOO_LARGE"),
    _bad_register("size-body-one-mib", b" " * (1 << 20), 413, "PAYLOAD_TOO_LARGE"),
    Case("size-login-over", "POST", "/auth/login", 413, "PAYLOAD_TOO_LARGE", b"[" + b" " * LIMIT),
    Case(
        "size-guest-over", "POST", "/guests", 413, "PAYLOAD_TOO_LARGE", _json({"name": "g" * LIMIT})
    ),
    Case(
        "size-core-op-body-over",
        "DELETE",
        "/auth/2fa/totp",
        413,
        "PAYLOAD_TOO_LARGE",
        b"0" * (LIMIT + 1),
        access=True,
        step_up=True,
    ),
    _bad_register("size-name-over-schema", _register(name="A" * 101)),
    _bad_register("size-email-over-schema", _register(email="a" * 250 + "@example.com")),
    _bad_register(
        "size-password-over-schema",
        _json({"email": "p@example.com", "password": "p" * 129, "name": "P"}),
    ),
    _bad_register(
        "size-password-under-schema",
        _json({"email": "p@example.com", "password": "short", "name": "P"}),
    ),
    Case(
        "size-login-password-over",
        "POST",
        "/auth/login",
        400,
        "INVALID_REQUEST",
        _json({"email": "a@example.com", "password": "p" * 129}),
    ),
    Case(
        "size-guest-name-over",
        "POST",
        "/guests",
        400,
        "INVALID_REQUEST",
        _json({"name": "g" * 101}),
    ),
    Case("size-guest-name-empty", "POST", "/guests", 400, "INVALID_REQUEST", _json({"name": ""})),
    Case(
        "size-step-up-password-over",
        "POST",
        "/auth/step-up",
        400,
        "INVALID_REQUEST",
        _json({"password": "p" * 129}),
        access=True,
    ),
    Case(
        "size-totp-code-long",
        "POST",
        "/auth/2fa/totp/setup",
        400,
        "INVALID_REQUEST",
        _json({"token": "t", "code": "1" * 7}),
        access=True,
        step_up=True,
    ),
    # Credentials are checked before the schema: without a 2FA token the length never matters.
    Case(
        "size-recovery-code-long-unauthenticated",
        "POST",
        "/auth/2fa/totp/recover",
        401,
        "TWO_FACTOR_TOKEN_MISSING",
        _json({"code": "r" * 65}),
    ),
]

# --- nesting ------------------------------------------------------------------------------------

NESTING = [
    _bad_register("nest-depth-33", b"[" * 33 + b"]" * 33),
    _bad_register(
        "nest-depth-5000-in-name", _register_raw(b'"a@example.com"', b"[" * 5000 + b"]" * 5000)
    ),
    _bad_register("nest-depth-unclosed-100k", b"[" * 60_000),
    _bad_register("nest-objects-5000", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    Case(
        "nest-login-deep",
        "POST",
        "/auth/login",
        400,
        "INVALID_REQUEST",
        b'{"email": ' + b"[" * 40 + b"]" * 40 + b"}",
    ),
    Case(
        "nest-guest-deep",
        "POST",
        "/guests",
        400,
        "INVALID_REQUEST",
        b'{"name": ' + b'{"a":' * 40 + b"1" + b"}" * 41,
    ),
    Case(
        "nest-step-up-deep",
        "POST",
        "/auth/step-up",
        400,
        "INVALID_REQUEST",
        b"[" * 1000 + b"]" * 1000,
        access=True,
    ),
    Case(
        "nest-recover-deep",
        "POST",
        "/auth/2fa/totp/recover",
        400,
        "INVALID_REQUEST",
        b"[" * 64 + b"]" * 64,
    ),
    _bad_register("nest-top-level-array", _json([{"email": "a@example.com"}])),
    _bad_register("nest-top-level-string", _json("a@example.com")),
    _bad_register("nest-top-level-null", b"null"),
    _bad_register("nest-object-for-email", _register(email={"address": "a@example.com"})),
    _bad_register("nest-array-for-name", _register(name=["Ada", "Eve"])),
    _bad_register(
        "nest-session-depth",
        _json(
            {
                "email": "a@example.com",
                "password": PASSWORD,
                "name": "A",
                "session": {"browser": {"x": {"y": 1}}},
            }
        ),
    ),
    Case(
        "nest-login-session-array",
        "POST",
        "/auth/login",
        400,
        "INVALID_REQUEST",
        _json({"email": "a@example.com", "password": PASSWORD, "session": [1, 2]}),
    ),
]

# --- encodings ----------------------------------------------------------------------------------

ENCODINGS = [
    _bad_register("enc-lone-high-surrogate-name", _register_raw(b'"s@example.com"', b'"\\ud800"')),
    _bad_register("enc-lone-low-surrogate-name", _register_raw(b'"s@example.com"', b'"\\udfff"')),
    _bad_register("enc-reversed-pair-name", _register_raw(b'"s@example.com"', b'"\\udc00\\ud800"')),
    _bad_register("enc-lone-surrogate-email", _register_raw(b'"s\\ud800@example.com"')),
    Case(
        "enc-lone-surrogate-login-password",
        "POST",
        "/auth/login",
        400,
        "INVALID_REQUEST",
        b'{"email": "a@example.com", "password": "\\ud83dpassword-long"}',
    ),
    Case(
        "enc-lone-surrogate-key",
        "POST",
        "/guests",
        400,
        "INVALID_REQUEST",
        b'{"\\ud800": "x", "name": "G"}',
    ),
    _bad_register(
        "enc-utf8-encoded-surrogate", _register_raw(b'"s@example.com"', b'"\xed\xa0\x80"')
    ),
    _bad_register("enc-overlong-slash", _register_raw(b'"s@example.com"', b'"\xc0\xaf"')),
    _bad_register("enc-invalid-byte-ff", _register_raw(b'"s@example.com"', b'"\xff\xfe"')),
    _bad_register("enc-truncated-sequence", _register_raw(b'"s@example.com"', b'"\xe2\x82"')),
    _bad_register("enc-latin1-body", _register_raw(b'"s@example.com"', '"José"'.encode("latin-1"))),
    _bad_register("enc-utf16-body", _register().decode().encode("utf-16")),
    _bad_register("enc-utf16le-no-bom", _register().decode().encode("utf-16-le")),
    _bad_register("enc-utf32-body", _register().decode().encode("utf-32")),
    _bad_register("enc-utf8-bom", b"\xef\xbb\xbf" + _register(email="bom@example.com")),
    _bad_register("enc-raw-tab-in-string", _register_raw(b'"s@example.com"', b'"A\tda"')),
    _bad_register("enc-raw-newline-in-string", _register_raw(b'"s@example.com"', b'"A\nda"')),
    _bad_register("enc-raw-nul-in-string", _register_raw(b'"s@example.com"', b'"A\x00da"')),
    _bad_register("enc-single-quotes", b"{'email': 'a@example.com'}"),
    _bad_register("enc-trailing-comma", b'{"email": "a@example.com",}'),
    _bad_register("enc-comment", b'{"email": "a@example.com" /* hi */}'),
    _bad_register("enc-two-documents", _register(email="one@example.com") + b" " + _register()),
    _bad_register("enc-unterminated-string", b'{"email": "a@example.com'),
    _bad_register("enc-bad-escape", _register_raw(b'"a\\x41@example.com"')),
    _bad_register("enc-short-unicode-escape", _register_raw(b'"a\\u41@example.com"')),
    Case("enc-body-only-whitespace", "POST", "/auth/register", 400, "INVALID_REQUEST", b" \r\n\t "),
    Case("enc-body-empty-with-json-type", "POST", "/auth/register", 400, "INVALID_REQUEST", b""),
    Case("enc-guest-body-garbage", "POST", "/guests", 400, "INVALID_REQUEST", b"\x00\x01\x02\x03"),
]

# --- media types --------------------------------------------------------------------------------

MEDIA_TYPES = [
    Case(
        "media-missing", "POST", "/auth/register", 415, "UNSUPPORTED_MEDIA_TYPE", _register(), None
    ),
    Case(
        "media-text-plain",
        "POST",
        "/auth/register",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        _register(),
        "text/plain",
    ),
    Case(
        "media-form",
        "POST",
        "/auth/register",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        b"email=a%40example.com&password=x",
        "application/x-www-form-urlencoded",
    ),
    Case(
        "media-multipart",
        "POST",
        "/auth/login",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        b"--b\r\n\r\nx\r\n--b--",
        "multipart/form-data; boundary=b",
    ),
    Case(
        "media-xml",
        "POST",
        "/auth/login",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        b"<login/>",
        "application/xml",
    ),
    Case(
        "media-json-suffix-other",
        "POST",
        "/guests",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        _json({"name": "G"}),
        "application/merge-patch+json",
    ),
    Case(
        "media-json-lookalike",
        "POST",
        "/guests",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        _json({"name": "G"}),
        "application/jsonx",
    ),
    Case(
        "media-empty-type",
        "POST",
        "/guests",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        _json({"name": "G"}),
        "",
    ),
    Case(
        "media-garbage-type",
        "POST",
        "/guests",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        _json({"name": "G"}),
        "!!!/???",
    ),
    Case(
        "media-capitals-still-checked",
        "POST",
        "/auth/register",
        400,
        "INVALID_REQUEST",
        b'{"email": 1}',
        "APPLICATION/JSON",
    ),
    Case(
        "media-charset-utf16-declared",
        "POST",
        "/auth/register",
        400,
        "INVALID_REQUEST",
        _register().decode().encode("utf-16"),
        "application/json; charset=utf-16",
    ),
    Case(
        "media-missing-on-login",
        "POST",
        "/auth/login",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        _json({"email": "a@example.com", "password": PASSWORD}),
        None,
    ),
    Case(
        "media-missing-on-core-op-body",
        "DELETE",
        "/auth/2fa/totp",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        b"{}",
        None,
        access=True,
        step_up=True,
    ),
    Case(
        "media-missing-on-recover",
        "POST",
        "/auth/2fa/totp/recover",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        _json({"code": "x"}),
        None,
    ),
]

# --- numbers ------------------------------------------------------------------------------------

NUMBERS = [
    _bad_register("num-5000-digits-for-password", _register_raw(b'"n@example.com"', b"9" * 5000)),
    _bad_register("num-33-digits", _register_raw(b'"n@example.com"', b"1" * 33)),
    _bad_register("num-long-fraction", _register_raw(b'"n@example.com"', b"0." + b"1" * 40)),
    _bad_register("num-long-exponent", _register_raw(b'"n@example.com"', b"1e" + b"9" * 40)),
    _bad_register("num-float-overflow", _register_raw(b'"n@example.com"', b"1e999")),
    _bad_register("num-negative-zero", _register_raw(b'"n@example.com"', b"-0")),
    _bad_register("num-int-for-email", _register_raw(b"12345")),
    _bad_register("num-nan", _register_raw(b'"n@example.com"', b"NaN")),
    _bad_register("num-infinity", _register_raw(b'"n@example.com"', b"Infinity")),
    _bad_register("num-minus-infinity", _register_raw(b'"n@example.com"', b"-Infinity")),
    _bad_register("num-hex", _register_raw(b'"n@example.com"', b"0x10")),
    _bad_register("num-leading-zeros", _register_raw(b'"n@example.com"', b"0001")),
    _bad_register("num-plus-sign", _register_raw(b'"n@example.com"', b"+1")),
    Case(
        "num-totp-code-as-number",
        "POST",
        "/auth/2fa/totp/setup",
        400,
        "INVALID_REQUEST",
        b'{"token": "t", "code": 123456}',
        access=True,
        step_up=True,
    ),
    Case(
        "num-recover-code-as-number",
        "POST",
        "/auth/2fa/totp/recover",
        400,
        "INVALID_REQUEST",
        b'{"code": ' + b"7" * 5000 + b"}",
    ),
    Case("num-guest-name-as-number", "POST", "/guests", 400, "INVALID_REQUEST", b'{"name": 1e308}'),
    Case(
        "num-step-up-password-bool",
        "POST",
        "/auth/step-up",
        400,
        "INVALID_REQUEST",
        b'{"password": true}',
        access=True,
    ),
]

# --- duplicate keys and shapes ------------------------------------------------------------------

SHAPES = [
    _bad_register(
        "dup-email",
        b'{"email": "a@example.com", "email": "b@elsewhere.test", "password": "'
        + PASSWORD.encode()
        + b'", "name": "A"}',
    ),
    _bad_register(
        "dup-password",
        b'{"email": "d@example.com", "password": "x", "password": "'
        + PASSWORD.encode()
        + b'", "name": "A"}',
    ),
    _bad_register("dup-name", _register_raw(b'"d@example.com"', b'"A", "name": "B"')),
    Case(
        "dup-login-email",
        "POST",
        "/auth/login",
        400,
        "INVALID_REQUEST",
        b'{"email": "x@example.com", "email": "' + b"{email}" + b'", "password": "p"}',
    ),
    Case(
        "dup-guest-name", "POST", "/guests", 400, "INVALID_REQUEST", b'{"name": "a", "name": "b"}'
    ),
    Case(
        "dup-nested-session",
        "POST",
        "/auth/login",
        400,
        "INVALID_REQUEST",
        b'{"email": "x@example.com", "password": "p", "session": {"os": "a", "os": "b"}}',
    ),
    Case(
        "dup-case-variants-are-distinct-keys",
        "POST",
        "/guests",
        400,
        "INVALID_REQUEST",
        b'{"name": "a", "Name": "b"}',
    ),
    _bad_register("shape-extra-property", _register(admin=True)),
    _bad_register("shape-roles-injection", _register(roles=["admin"])),
    _bad_register("shape-id-injection", _register(_id="000000000000000000000000")),
    _bad_register("shape-mongo-operator-email", _register(email={"$ne": None})),
    _bad_register("shape-mongo-operator-name", _register(name={"$gt": ""})),
    Case(
        "shape-login-operator",
        "POST",
        "/auth/login",
        400,
        "INVALID_REQUEST",
        _json({"email": {"$regex": ".*"}, "password": {"$ne": "x"}}),
    ),
    _bad_register("shape-null-email", _register(email=None)),
    _bad_register("shape-null-name", _register(name=None)),
    _bad_register("shape-bool-email", _register(email=True)),
    _bad_register("shape-missing-email", _json({"password": PASSWORD, "name": "A"})),
    _bad_register("shape-missing-password", _json({"email": "m@example.com", "name": "A"})),
    _bad_register("shape-empty-object", b"{}"),
    Case(
        "shape-guest-extra",
        "POST",
        "/guests",
        400,
        "INVALID_REQUEST",
        _json({"name": "G", "roles": ["admin"]}),
    ),
    Case(
        "shape-preferred-unknown-method",
        "POST",
        "/auth/2fa/preferred-method",
        400,
        "INVALID_REQUEST",
        _json({"method": "sms"}),
        access=True,
        step_up=True,
    ),
    Case(
        "shape-preferred-method-case",
        "POST",
        "/auth/2fa/preferred-method",
        400,
        "INVALID_REQUEST",
        _json({"method": "TOTP"}),
        access=True,
        step_up=True,
    ),
    Case(
        "shape-2fa-login-bad-token-before-bad-body",
        "POST",
        "/auth/2fa/login",
        401,
        "TWO_FACTOR_TOKEN_INVALID",
        _json({"totp": 123456}),
        headers=(("X-Two-Factor-Authentication-Token", "x"),),
    ),
    Case(
        "shape-email-enable-code-letters",
        "POST",
        "/auth/2fa/email/enable",
        400,
        "INVALID_REQUEST",
        _json({"code": "abcdef"}),
        access=True,
        step_up=True,
    ),
]

# --- headers and credentials --------------------------------------------------------------------

_JWT_LIKE = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

HEADERS = [
    Case(
        "hdr-bearer-without-token",
        "GET",
        "/users/me",
        401,
        "ACCESS_TOKEN_INVALID",
        None,
        None,
        (("Authorization", "Bearer"),),
    ),
    Case(
        "hdr-bearer-garbage",
        "GET",
        "/users/me",
        401,
        "ACCESS_TOKEN_INVALID",
        None,
        None,
        (("Authorization", "Bearer garbage"),),
    ),
    Case(
        "hdr-bearer-jwt-unsigned",
        "GET",
        "/users/me",
        401,
        "ACCESS_TOKEN_INVALID",
        None,
        None,
        (("Authorization", f"Bearer {_JWT_LIKE}"),),
    ),
    Case(
        "hdr-bearer-alg-none",
        "GET",
        "/users/me",
        401,
        "ACCESS_TOKEN_INVALID",
        None,
        None,
        (("Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),),
    ),
    Case(
        "hdr-bearer-8k",
        "GET",
        "/users/me",
        401,
        "ACCESS_TOKEN_INVALID",
        None,
        None,
        (("Authorization", "Bearer " + "a" * 8000),),
    ),
    Case(
        "hdr-bearer-non-ascii",
        "GET",
        "/users/me",
        401,
        "ACCESS_TOKEN_INVALID",
        None,
        None,
        (("Authorization", "Bearer t\xe9st".encode("latin-1")),),
    ),
    Case(
        "hdr-bearer-utf8-bytes",
        "GET",
        "/users/me",
        401,
        "ACCESS_TOKEN_INVALID",
        None,
        None,
        (("Authorization", "Bearer ✓".encode()),),
    ),
    Case(
        "hdr-basic-scheme",
        "GET",
        "/users/me",
        401,
        "AUTHENTICATION_REQUIRED",
        None,
        None,
        (("Authorization", "Basic YTpi"),),
    ),
    Case(
        "hdr-bearer-double-space",
        "GET",
        "/users/me",
        401,
        "ACCESS_TOKEN_INVALID",
        None,
        None,
        (("Authorization", "Bearer  " + _JWT_LIKE),),
    ),
    Case(
        "hdr-step-up-garbage",
        "DELETE",
        "/auth/2fa/totp",
        401,
        "STEP_UP_TOKEN_INVALID",
        None,
        None,
        (("X-Step-Up-Token", "garbage"),),
        access=True,
    ),
    Case(
        "hdr-step-up-with-bearer-prefix",
        "DELETE",
        "/auth/2fa/totp",
        401,
        "STEP_UP_TOKEN_INVALID",
        None,
        None,
        (("X-Step-Up-Token", "Bearer " + _JWT_LIKE),),
        access=True,
    ),
    Case(
        "hdr-step-up-access-token-in-its-place",
        "DELETE",
        "/auth/2fa/totp",
        401,
        "STEP_UP_TOKEN_INVALID",
        None,
        None,
        (("X-Step-Up-Token", ACCESS),),
        access=True,
    ),
    Case(
        "hdr-step-up-8k",
        "DELETE",
        "/auth/2fa/totp",
        401,
        "STEP_UP_TOKEN_INVALID",
        None,
        None,
        (("X-Step-Up-Token", "s" * 8000),),
        access=True,
    ),
    Case(
        "hdr-step-up-invalid-header-wins-over-cookie",
        "DELETE",
        "/auth/2fa/totp",
        401,
        "STEP_UP_TOKEN_INVALID",
        None,
        None,
        (("X-Step-Up-Token", "x"), ("Cookie", "step_up_token=" + STEP_UP)),
        access=True,
    ),
    Case(
        "hdr-access-as-step-up-only",
        "DELETE",
        "/auth/2fa/totp",
        401,
        "AUTHENTICATION_REQUIRED",
        None,
        None,
        (("X-Step-Up-Token", STEP_UP),),
    ),
    Case(
        "hdr-step-up-token-as-access",
        "GET",
        "/users/me",
        401,
        "ACCESS_TOKEN_INVALID",
        None,
        None,
        (("Authorization", "Bearer " + STEP_UP),),
    ),
    Case(
        "hdr-cookie-garbage",
        "GET",
        "/users/me",
        401,
        "ACCESS_TOKEN_INVALID",
        None,
        None,
        (("Cookie", "access_token=garbage"),),
    ),
    Case(
        "hdr-cookie-malformed-jar",
        "GET",
        "/users/me",
        401,
        "AUTHENTICATION_REQUIRED",
        None,
        None,
        (("Cookie", '";;;=;=";"\\'),),
    ),
    Case(
        "hdr-cookie-huge",
        "GET",
        "/users/me",
        401,
        "ACCESS_TOKEN_INVALID",
        None,
        None,
        (("Cookie", "access_token=" + "c" * 6000),),
    ),
    Case(
        "hdr-2fa-token-garbage",
        "POST",
        "/auth/2fa/login",
        401,
        "TWO_FACTOR_TOKEN_INVALID",
        _json({"totp": "123456"}),
        JSON,
        (("X-Two-Factor-Authentication-Token", "garbage"),),
    ),
    Case(
        "hdr-2fa-token-missing",
        "POST",
        "/auth/2fa/login",
        401,
        "TWO_FACTOR_TOKEN_MISSING",
        _json({"totp": "123456"}),
    ),
    Case(
        "hdr-2fa-token-is-access",
        "POST",
        "/auth/2fa/totp/recover",
        401,
        "TWO_FACTOR_TOKEN_INVALID",
        _json({"code": "abcd-efgh"}),
        JSON,
        (("X-Two-Factor-Authentication-Token", ACCESS),),
    ),
    Case(
        "hdr-refresh-with-access",
        "POST",
        "/auth/refresh",
        401,
        "REFRESH_TOKEN_INVALID",
        None,
        None,
        (("Authorization", "Bearer " + ACCESS),),
    ),
    Case(
        "hdr-refresh-garbage",
        "POST",
        "/auth/refresh",
        401,
        "REFRESH_TOKEN_INVALID",
        None,
        None,
        (("Authorization", "Bearer x.y.z"),),
    ),
    Case(
        "hdr-request-id-injection",
        "GET",
        "/auth/2fa/totp/setup",
        401,
        "AUTHENTICATION_REQUIRED",
        None,
        None,
        (("X-Request-Id", "evil\u2028<script>".encode()),),
    ),
]

# --- query strings ------------------------------------------------------------------------------


def _core_op(case_id: str, query: str, status: int = 400, code: str = "INVALID_REQUEST") -> Case:
    return Case(
        case_id,
        "DELETE",
        "/auth/2fa/totp" + query,
        status,
        code,
        None,
        None,
        access=True,
        step_up=True,
    )


QUERIES = [
    _core_op("query-locale-empty", "?locale="),
    _core_op("query-locale-too-long", "?locale=" + "a" * 36),
    _core_op("query-locale-path-traversal", "?locale=..%2F..%2Fetc%2Fpasswd"),
    _core_op("query-locale-nul", "?locale=en%00"),
    _core_op("query-locale-crlf", "?locale=en%0D%0ASet-Cookie:%20x=1"),
    _core_op("query-locale-unicode", "?locale=%E2%80%AEen"),
    _core_op("query-locale-digits", "?locale=12"),
    _core_op("query-locale-single-letter", "?locale=e"),
    _core_op("query-locale-script-injection", "?locale=%3Cscript%3E"),
    _core_op("query-locale-bad-percent", "?locale=%ZZ"),
    _core_op("query-locale-array", "?locale[]=en"),
    _core_op("query-unknown-parameter", "?admin=1"),
    _core_op("query-huge-unknown", "?x=" + "y" * 4000),
    Case(
        "query-on-register", "POST", "/auth/register?debug=1", 400, "INVALID_REQUEST", _register()
    ),
    Case("query-on-health", "GET", "/health?x=1", 400, "INVALID_REQUEST", None, None),
]

# --- routing ------------------------------------------------------------------------------------

ROUTING = [
    Case("route-unknown", "GET", "/admin", 404, "NOT_FOUND", None, None),
    Case("route-traversal", "GET", "/auth/../../etc/passwd", 404, "NOT_FOUND", None, None),
    Case(
        "route-encoded-traversal",
        "GET",
        "/auth/%2e%2e/%2e%2e/etc/passwd",
        404,
        "NOT_FOUND",
        None,
        None,
    ),
    Case(
        "route-case",
        "DELETE",
        "/AUTH/2FA/TOTP",
        404,
        "NOT_FOUND",
        None,
        None,
        access=True,
        step_up=True,
    ),
    Case(
        "route-method-put-on-core-op",
        "PUT",
        "/auth/2fa/totp",
        405,
        "METHOD_NOT_ALLOWED",
        b"{}",
        access=True,
        step_up=True,
    ),
    Case(
        "route-method-get-on-register",
        "GET",
        "/auth/register",
        405,
        "METHOD_NOT_ALLOWED",
        None,
        None,
    ),
    Case(
        "route-method-patch-guests",
        "PATCH",
        "/guests",
        405,
        "METHOD_NOT_ALLOWED",
        _json({"name": "G"}),
    ),
    Case("route-long-path", "GET", "/" + "a" * 4000, 404, "NOT_FOUND", None, None),
    Case("route-nul-in-path", "GET", "/auth/status%00", 404, "NOT_FOUND", None, None),
]

CORPUS: list[Case] = [
    *SIZES,
    *NESTING,
    *ENCODINGS,
    *MEDIA_TYPES,
    *NUMBERS,
    *SHAPES,
    *HEADERS,
    *QUERIES,
    *ROUTING,
]
