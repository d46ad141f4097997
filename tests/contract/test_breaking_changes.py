"""The breaking-change guard: every narrowing of the spec is found; additions are not."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from contract.breaking_changes import ACCEPTED, CURRENT, RELEASED, breaking_changes, main

SPEC: dict[str, Any] = yaml.safe_load(CURRENT.read_text())
CORE = ("/auth/2fa/totp", "delete")
REGISTER = ("/auth/register", "post")


def changed(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    spec = copy.deepcopy(SPEC)
    edit(spec)
    return spec


def schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = spec["components"]["schemas"][name]
    return found


def operation(spec: dict[str, Any], where: tuple[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = spec["paths"][where[0]][where[1]]
    return found


BREAKING: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "path removed": (lambda s: s["paths"].pop("/guests"), "POST /guests: operation removed"),
    "operation removed": (
        lambda s: s["paths"]["/auth/2fa/totp"].pop("delete"),
        "DELETE /auth/2fa/totp: operation removed",
    ),
    "parameter removed": (
        lambda s: operation(s, CORE).update(parameters=[]),
        "DELETE /auth/2fa/totp: query parameter locale removed",
    ),
    "parameter made required": (
        lambda s: operation(s, CORE).update(
            parameters=[{"name": "locale", "in": "query", "required": True, "schema": {}}]
        ),
        "query parameter locale became required",
    ),
    "required parameter added": (
        lambda s: operation(s, REGISTER).update(
            parameters=[{"name": "x", "in": "query", "required": True, "schema": {}}]
        ),
        "query parameter x added as required",
    ),
    "request property removed": (
        lambda s: schema(s, "RegisterRequest")["properties"].pop("name"),
        "POST /auth/register request: property name removed",
    ),
    "request property became required": (
        lambda s: schema(s, "LoginRequest")["required"].append("session"),
        "POST /auth/login request: property session became required",
    ),
    "request string shortened": (
        lambda s: schema(s, "RegisterRequest")["properties"]["name"].update(maxLength=10),
        "request.name: maxLength 100 became 10",
    ),
    "request minimum raised": (
        lambda s: schema(s, "RegisterRequest")["properties"]["password"].update(minLength=20),
        "request.password: minLength 12 became 20",
    ),
    "request type changed": (
        lambda s: schema(s, "RegisterRequest")["properties"]["name"].update(type="integer"),
        "request.name: type string became integer",
    ),
    "request enum narrowed": (
        lambda s: schema(s, "TwoFactorMethod").update(enum=["totp"]),
        "request.method: accepted values narrowed (email)",
    ),
    "request pattern added": (
        lambda s: schema(s, "RegisterRequest")["properties"]["name"].update(pattern="^[a-z]+$"),
        "request.name: pattern changed",
    ),
    "response status removed": (
        lambda s: operation(s, CORE)["responses"].pop("304"),
        "DELETE /auth/2fa/totp: response 304 removed",
    ),
    "error code removed": (
        lambda s: operation(s, CORE)["responses"].update(
            {"400": {"description": "x", "content": {}}}
        ),
        "400: error code CANNOT_DISABLE_ONLY_TWO_FACTOR_METHOD removed",
    ),
    "response property removed": (
        lambda s: schema(s, "PrincipalResponse")["properties"].pop("twoFactorMethods"),
        "property twoFactorMethods removed",
    ),
    "response property no longer required": (
        lambda s: schema(s, "PrincipalResponse").update(required=[]),
        "property id no longer always present",
    ),
    "security scheme removed": (
        lambda s: s["components"]["securitySchemes"].pop("stepUpToken"),
        "security scheme stepUpToken removed",
    ),
}


@pytest.mark.parametrize("name", BREAKING)
def test_a_breaking_change_is_found(name: str) -> None:
    edit, expected = BREAKING[name]

    found = breaking_changes(SPEC, changed(edit))

    assert any(expected in change for change in found), found


ADDITIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "new path": lambda s: s["paths"].update(
        {"/new": {"get": {"responses": {"200": {"description": "ok"}}}}}
    ),
    "new optional request property": lambda s: schema(s, "LoginRequest")["properties"].update(
        extra={"type": "string"}
    ),
    "longer request string": lambda s: schema(s, "RegisterRequest")["properties"]["name"].update(
        maxLength=200
    ),
    "new response status": lambda s: operation(s, CORE)["responses"].update(
        {"418": {"description": "teapot"}}
    ),
    "new response property": lambda s: schema(s, "PrincipalResponse")["properties"].update(
        extra={"type": "string"}
    ),
    "descriptions reworded": lambda s: operation(s, CORE).update(description="Reworded."),
}


@pytest.mark.parametrize("name", ADDITIONS)
def test_an_addition_is_not_breaking(name: str) -> None:
    assert breaking_changes(SPEC, changed(ADDITIONS[name])) == []


def write(tmp_path: Path, name: str, spec: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def test_a_breaking_change_fails_unless_the_major_version_goes_up(tmp_path: Path) -> None:
    broken = changed(lambda s: s["paths"].pop("/guests"))
    released = write(tmp_path, "released.yaml", SPEC)

    assert main([released, write(tmp_path, "same-major.yaml", broken)]) == 1
    broken["info"]["version"] = f"{int(SPEC['info']['version'].split('.')[0]) + 1}.0.0"
    assert main([released, write(tmp_path, "next-major.yaml", broken)]) == 0


def test_the_spec_keeps_every_promise_of_the_released_copy() -> None:
    assert main([str(RELEASED), str(CURRENT)]) == 0


def test_an_error_code_dropped_from_an_open_code_set_is_found() -> None:
    def drop(spec: dict[str, Any]) -> None:
        bad_request = operation(spec, CORE)["responses"]["400"]["content"]
        code = bad_request["application/problem+json"]["schema"]["allOf"][1]["properties"]["code"]
        code["x-known-values"].remove("NO_PASSWORD_PROVIDER")
        bad_request["application/problem+json"]["examples"].pop("NO_PASSWORD_PROVIDER")

    found = breaking_changes(SPEC, changed(drop))

    assert "DELETE /auth/2fa/totp 400: error code NO_PASSWORD_PROVIDER removed" in found


def test_an_accepted_narrowing_is_reported_but_does_not_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nullable = changed(lambda s: schema(s, "StepUpRequest").update(nullable=True))
    released = write(tmp_path, "released.yaml", nullable)

    assert main([released, str(CURRENT)]) == 0
    assert f"accepted: {next(iter(ACCEPTED))}" in capsys.readouterr().out


def test_an_accepted_narrowing_excuses_nothing_else(tmp_path: Path) -> None:
    nullable = changed(lambda s: schema(s, "StepUpRequest").update(nullable=True))
    broken = changed(lambda s: s["paths"].pop("/guests"))

    assert main([write(tmp_path, "r.yaml", nullable), write(tmp_path, "c.yaml", broken)]) == 1
