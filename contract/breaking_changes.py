"""The breaking-change guard: ``openapi.yaml`` against the last released copy of it.

Clients generated from a released spec must keep working against every later version with the
same major version. So, compared with ``contract/released/openapi.yaml``, this fails when the new
spec removes or renames a path, an operation, a parameter, a request or response property, a
declared status, an error ``code`` or a security scheme, adds a required input, or narrows what
an input accepts (type, enum values, lengths, bounds, pattern, nullability, extra properties) or
what an output promises (type, required properties) -- unless ``info.version``'s major number
went up. Additions are never breaking.

Usage: ``python contract/breaking_changes.py [RELEASED] [CURRENT]``. Releasing a version means
copying ``openapi.yaml`` to ``contract/released/openapi.yaml`` in the release commit.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
RELEASED = ROOT / "contract" / "released" / "openapi.yaml"
CURRENT = ROOT / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

Spec = dict[str, Any]
Schema = dict[str, Any]

# Narrowings made on purpose within a major version, each with its reason; the guard reports them
# but does not fail on them. Every entry is one exact finding, so nothing else slips through.
_NEVER_READ = (
    "Never answered: a new account is written, never read back, so nothing stored is decrypted "
    "(the response-coverage check found no cause); 500 DATABASE_FAILURE stays declared."
)
_TOKEN_OF_NO_ONE = (
    "Never answered: a {token} whose principal is gone is answered 401 {code}, "
    "which the operation declares (the response-coverage check found no cause of a 404)."
)
ACCEPTED: dict[str, str] = {
    "POST /auth/step-up request: no longer accepts null": (
        "The body was nullable only so that the framework let a guest send no body, and a "
        "nullable optional body crashes generated clients (openapi-python-client sends UNSET). "
        "`default: {}` now admits the absent body; only a literal JSON null body is refused."
    ),
    "POST /auth/register 500: error code DATABASE_ENCRYPTION_FAILURE removed": _NEVER_READ,
    "POST /guests 500: error code DATABASE_ENCRYPTION_FAILURE removed": _NEVER_READ,
    "POST /auth/refresh: response 404 removed": _TOKEN_OF_NO_ONE.format(
        token="refresh token", code="REFRESH_TOKEN_INVALID"
    ),
    **{
        f"POST {path}: response 404 removed": _TOKEN_OF_NO_ONE.format(
            token="pending 2FA token", code="TWO_FACTOR_TOKEN_INVALID"
        )
        for path in ("/auth/2fa/login", "/auth/2fa/step-up", "/auth/2fa/totp/recover")
    },
}


def breaking_changes(old: Spec, new: Spec) -> list[str]:
    """Every way ``new`` breaks a client written against ``old`` (empty: compatible)."""
    found: list[str] = []
    for scheme in old.get("components", {}).get("securitySchemes", {}):
        if scheme not in new.get("components", {}).get("securitySchemes", {}):
            found.append(f"security scheme {scheme} removed")
    for where, old_op in _operations(old):
        new_op = _operation(new, where)
        if new_op is None:
            found.append(f"{where}: operation removed")
            continue
        found += _parameters(where, old, new, old_op, new_op)
        found += _request_body(where, old, new, old_op, new_op)
        found += _responses(where, old, new, old_op, new_op)
    return found


def major(spec: Spec) -> int:
    return int(str(spec["info"]["version"]).split(".")[0])


def _operations(spec: Spec) -> Iterator[tuple[str, Spec]]:
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def _operation(spec: Spec, where: str) -> Spec | None:
    method, path = where.split(" ", 1)
    found: Spec | None = spec.get("paths", {}).get(path, {}).get(method.lower())
    return found


def resolve_ref(spec: Spec, node: Any) -> Any:
    """``node`` with its local ``$ref`` chain followed (``#/components/...``)."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _parameters(where: str, old: Spec, new: Spec, old_op: Spec, new_op: Spec) -> list[str]:
    def by_key(spec: Spec, op: Spec) -> dict[tuple[str, str], Spec]:
        params = [resolve_ref(spec, p) for p in op.get("parameters", [])]
        return {(p["in"], p["name"]): p for p in params}

    before, after = by_key(old, old_op), by_key(new, new_op)
    found = [f"{where}: {kind} parameter {name} removed" for kind, name in before.keys() - after]
    for key, param in after.items():
        label = f"{where}: {key[0]} parameter {key[1]}"
        if key not in before:
            if param.get("required"):
                found.append(f"{label} added as required")
            continue
        if param.get("required") and not before[key].get("required"):
            found.append(f"{label} became required")
        found += _input(label, old, new, before[key].get("schema", {}), param.get("schema", {}))
    return found


def _request_body(where: str, old: Spec, new: Spec, old_op: Spec, new_op: Spec) -> list[str]:
    before = resolve_ref(old, old_op.get("requestBody"))
    after = resolve_ref(new, new_op.get("requestBody"))
    if after is None:
        return [f"{where}: request body removed"] if before is not None else []
    if after.get("required") and not (before or {}).get("required"):
        return [f"{where}: request body became required"]
    if before is None:
        return []
    found: list[str] = []
    for media, content in before.get("content", {}).items():
        if media not in after.get("content", {}):
            found.append(f"{where}: request media type {media} removed")
            continue
        new_schema = after["content"][media].get("schema", {})
        found += _input(f"{where} request", old, new, content.get("schema", {}), new_schema)
    return found


def _responses(where: str, old: Spec, new: Spec, old_op: Spec, new_op: Spec) -> list[str]:
    found: list[str] = []
    for status, old_response in old_op.get("responses", {}).items():
        if status not in new_op.get("responses", {}):
            found.append(f"{where}: response {status} removed")
            continue
        before = resolve_ref(old, old_response)
        after = resolve_ref(new, new_op["responses"][status])
        label = f"{where} {status}"
        lost = _codes(old, before) - _codes(new, after)
        found += [f"{label}: error code {code} removed" for code in sorted(lost)]
        for media, content in before.get("content", {}).items():
            if media not in after.get("content", {}):
                found.append(f"{label}: media type {media} removed")
                continue
            new_schema = after["content"][media].get("schema", {})
            found += _output(label, old, new, content.get("schema", {}), new_schema)
    return found


def _codes(spec: Spec, response: Spec) -> set[str]:
    """The error codes a response declares: its schema's ``code`` enum or ``x-known-values`` (an
    open set documented for generators, see ``openapi.yaml``) and its examples."""
    codes: set[str] = set()
    for content in response.get("content", {}).values():
        for example in content.get("examples", {}).values():
            value = resolve_ref(spec, example).get("value", {})
            if isinstance(value, dict) and isinstance(value.get("code"), str):
                codes.add(value["code"])
        for schema in _flatten(spec, content.get("schema", {})):
            code = resolve_ref(spec, schema.get("properties", {}).get("code", {}))
            codes.update(str(value) for value in code.get("enum", []))
            codes.update(str(value) for value in code.get("x-known-values", []))
    return codes


def _flatten(spec: Spec, schema: Any) -> list[Schema]:
    """A schema and the parts of its ``allOf``, resolved."""
    schema = resolve_ref(spec, schema) or {}
    parts = [schema]
    for part in schema.get("allOf", []):
        parts += _flatten(spec, part)
    return parts


def _merged(spec: Spec, schema: Any) -> Schema:
    merged: Schema = {"properties": {}, "required": []}
    for part in _flatten(spec, schema):
        for key, value in part.items():
            if key == "properties":
                merged["properties"].update(value)
            elif key == "required":
                merged["required"] += value
            elif key != "allOf":
                merged[key] = value
    return merged


def _input(label: str, old: Spec, new: Spec, old_schema: Any, new_schema: Any) -> list[str]:
    """What a client could send before and now cannot."""
    before, after = _merged(old, old_schema), _merged(new, new_schema)
    found = _narrowed(label, before, after)
    for name in set(after["required"]) - set(before["required"]):
        found.append(f"{label}: property {name} became required")
    for name, schema in before["properties"].items():
        if name not in after["properties"]:
            if after.get("additionalProperties", True) is False:
                found.append(f"{label}: property {name} removed")
            continue
        found += _input(f"{label}.{name}", old, new, schema, after["properties"][name])
    if before.get("additionalProperties", True) is not False and (
        after.get("additionalProperties", True) is False
    ):
        found.append(f"{label}: additional properties no longer accepted")
    if "items" in before and "items" in after:
        found += _input(f"{label}[]", old, new, before["items"], after["items"])
    return found


def _output(label: str, old: Spec, new: Spec, old_schema: Any, new_schema: Any) -> list[str]:
    """What a client could rely on in an answer before and cannot now."""
    before, after = _merged(old, old_schema), _merged(new, new_schema)
    found: list[str] = []
    if before.get("type") != after.get("type"):
        found.append(f"{label}: type {before.get('type')} became {after.get('type')}")
    for name in set(before["required"]) - set(after["required"]):
        found.append(f"{label}: property {name} no longer always present")
    for name, schema in before["properties"].items():
        if name not in after["properties"]:
            found.append(f"{label}: property {name} removed")
            continue
        found += _output(f"{label}.{name}", old, new, schema, after["properties"][name])
    if not before.get("nullable") and after.get("nullable"):
        found.append(f"{label}: may now be null")
    if "items" in before and "items" in after:
        found += _output(f"{label}[]", old, new, before["items"], after["items"])
    return found


def _narrowed(label: str, before: Schema, after: Schema) -> list[str]:
    found: list[str] = []
    if before.get("type") != after.get("type") and before.get("type") is not None:
        found.append(f"{label}: type {before.get('type')} became {after.get('type')}")
    if "enum" in after:
        lost = set(map(str, before.get("enum", after["enum"]))) - set(map(str, after["enum"]))
        if "enum" not in before or lost:
            found.append(f"{label}: accepted values narrowed ({', '.join(sorted(lost)) or 'enum'})")
    for bound, lower_is_narrower in (
        ("maxLength", True),
        ("maxItems", True),
        ("maximum", True),
        ("minLength", False),
        ("minItems", False),
        ("minimum", False),
    ):
        if bound not in after:
            continue
        was = before.get(bound)
        if was is None or (after[bound] < was if lower_is_narrower else after[bound] > was):
            found.append(f"{label}: {bound} {was} became {after[bound]}")
    if "pattern" in after and after["pattern"] != before.get("pattern"):
        found.append(f"{label}: pattern changed")
    if before.get("nullable") and not after.get("nullable"):
        found.append(f"{label}: no longer accepts null")
    return found


def main(argv: list[str]) -> int:
    released_path = Path(argv[0]) if argv else RELEASED
    current_path = Path(argv[1]) if len(argv) > 1 else CURRENT
    released = yaml.safe_load(released_path.read_text())
    current = yaml.safe_load(current_path.read_text())
    found = []
    for change in breaking_changes(released, current):
        if change in ACCEPTED:
            print(f"  accepted: {change} ({ACCEPTED[change]})")
        else:
            found.append(change)
    versions = f"{released['info']['version']} -> {current['info']['version']}"
    if not found:
        print(f"breaking changes: none ({versions})")
        return 0
    for change in found:
        print(f"  {change}")
    if major(current) > major(released):
        print(f"breaking changes: {len(found)}, allowed by the new major version ({versions})")
        return 0
    print(f"breaking changes: {len(found)} without a new major version ({versions})")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
