"""What the error handlers read from openapi.yaml: the methods of a path (for ``Allow``) and
whether a request that passed no security alternative lacks only its 2FA token."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers._http.spec_index import SpecIndex

SPECIFICATION = Path(__file__).resolve().parents[3] / "openapi.yaml"


@pytest.fixture(scope="module")
def spec() -> SpecIndex:
    return SpecIndex.load(SPECIFICATION)


def test_the_base_path_is_the_server_url(spec: SpecIndex) -> None:
    assert spec.base_path == "/api"


# Allowed methods ---------------------------------------------------------------------------


def test_the_totp_setup_path_allows_get_post_and_head(spec: SpecIndex) -> None:
    methods = spec.allowed_methods("/api/auth/2fa/totp/setup")
    assert sorted(methods) == ["GET", "HEAD", "POST"]
    assert len(methods) == len(set(methods))


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/auth/login", ["POST"]),
        ("/api/auth/2fa/totp", ["DELETE"]),
        ("/api/auth/2fa/email", ["DELETE"]),
        ("/api/users/me", ["GET", "HEAD"]),
        ("/api/health", ["GET", "HEAD"]),
    ],
)
def test_a_path_allows_the_methods_of_its_operations(
    spec: SpecIndex, path: str, methods: list[str]
) -> None:
    assert sorted(spec.allowed_methods(path)) == methods


def test_head_is_allowed_only_where_get_is(spec: SpecIndex) -> None:
    for path, operations in spec.operations.items():
        allowed = spec.allowed_methods(f"/api{path}")
        assert ("HEAD" in allowed) == ("GET" in operations), path


@pytest.mark.parametrize(
    "path",
    [
        "/api/nowhere",
        "/api/auth/2fa/totp/setup/extra",
        "/api/auth/2fa",
        "/api",
        "/",
        "",
    ],
)
def test_an_unknown_path_allows_no_method(spec: SpecIndex, path: str) -> None:
    assert spec.allowed_methods(path) == []


# Missing 2FA token -------------------------------------------------------------------------


@pytest.mark.parametrize("has_access", [True, False])
@pytest.mark.parametrize("path", ["/api/auth/2fa/login", "/api/auth/2fa/totp/recover"])
def test_a_2fa_token_operation_always_reports_the_missing_2fa_token(
    spec: SpecIndex, path: str, has_access: bool
) -> None:
    assert spec.missing_two_factor_token(path, "POST", has_access) is True


def test_2fa_step_up_reports_the_missing_2fa_token_when_the_access_token_is_there(
    spec: SpecIndex,
) -> None:
    assert spec.missing_two_factor_token("/api/auth/2fa/step-up", "POST", True) is True


def test_2fa_step_up_does_not_report_the_2fa_token_when_the_access_token_is_missing_too(
    spec: SpecIndex,
) -> None:
    assert spec.missing_two_factor_token("/api/auth/2fa/step-up", "POST", False) is False


@pytest.mark.parametrize("has_access", [True, False])
@pytest.mark.parametrize(
    ("path", "method"),
    [
        # An access token alone is enough here: the 2FA token is one choice among others.
        ("/api/auth/2fa/email/send", "POST"),
        ("/api/auth/refresh", "POST"),
        # Step-up, not 2FA.
        ("/api/auth/2fa/totp", "DELETE"),
        ("/api/auth/2fa/totp/setup", "POST"),
        ("/api/users/me", "GET"),
        # No security at all.
        ("/api/auth/login", "POST"),
        ("/api/health", "GET"),
    ],
)
def test_other_operations_never_report_a_missing_2fa_token(
    spec: SpecIndex, path: str, method: str, has_access: bool
) -> None:
    assert spec.missing_two_factor_token(path, method, has_access) is False


def test_the_method_is_matched_whatever_its_case(spec: SpecIndex) -> None:
    assert spec.missing_two_factor_token("/api/auth/2fa/login", "post", False) is True


@pytest.mark.parametrize(
    ("path", "method"),
    [("/api/auth/2fa/login", "GET"), ("/api/nowhere", "POST"), ("/api/auth/2fa/login/x", "POST")],
)
def test_an_unknown_operation_does_not_report_a_missing_2fa_token(
    spec: SpecIndex, path: str, method: str
) -> None:
    assert spec.missing_two_factor_token(path, method, True) is False


# Loading -----------------------------------------------------------------------------------


def test_operations_without_their_own_security_take_the_document_default(
    tmp_path: Path,
) -> None:
    specification = tmp_path / "openapi.yaml"
    specification.write_text(
        """
openapi: 3.0.3
servers: [{url: /v1/}]
security: [{twoFactorToken: []}]
paths:
  /a:
    get: {}
    post: {security: []}
    parameters: []
"""
    )
    spec = SpecIndex.load(specification)
    assert spec.base_path == "/v1"
    assert sorted(spec.allowed_methods("/v1/a")) == ["GET", "HEAD", "POST"]
    assert spec.missing_two_factor_token("/v1/a", "GET", False) is True
    assert spec.missing_two_factor_token("/v1/a", "POST", False) is False


def test_the_operation_of_a_request_is_found_by_its_path_and_method(tmp_path: Path) -> None:
    specification = tmp_path / "openapi.yaml"
    specification.write_text(
        """
openapi: 3.0.3
servers: [{url: /v1}]
paths:
  /a:
    get: {operationId: pkg.a.read}
    post: {}
"""
    )
    spec = SpecIndex.load(specification)

    assert spec.operation_id("/v1/a", "get") == "pkg.a.read"
    assert spec.operation_id("/v1/a", "POST") is None
    assert spec.operation_id("/v1/b", "GET") is None
