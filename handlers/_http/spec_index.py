"""What the error handlers need to know of ``openapi.yaml``: the methods of each path and the
credentials each operation asks for."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_ACCESS_SCHEMES = {"accessToken", "accessTokenCookie"}
_TWO_FACTOR_SCHEMES = {"twoFactorToken", "twoFactorTokenCookie"}


@dataclass(frozen=True)
class SpecIndex:
    base_path: str
    #: path -> method (upper case) -> the security alternatives, each a set of scheme names
    operations: dict[str, dict[str, list[frozenset[str]]]]
    #: (path, method in upper case) -> operationId
    operation_ids: dict[tuple[str, str], str]
    #: (path, method in upper case) of the operations that declare no request body
    bodiless: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def load(cls, specification: Path) -> SpecIndex:
        document: dict[str, Any] = yaml.safe_load(specification.read_text())
        base_path = str(document.get("servers", [{}])[0].get("url", "")).rstrip("/")
        default_security = document.get("security", [])
        operations: dict[str, dict[str, list[frozenset[str]]]] = {}
        operation_ids: dict[tuple[str, str], str] = {}
        bodiless: set[tuple[str, str]] = set()
        for path, item in document.get("paths", {}).items():
            for method in _METHODS:
                if "operationId" in item.get(method, {}):
                    operation_ids[(path, method.upper())] = str(item[method]["operationId"])
                    if "requestBody" not in item[method]:
                        bodiless.add((path, method.upper()))
            operations[path] = {
                method.upper(): [
                    frozenset(alternative)
                    for alternative in item[method].get("security", default_security)
                ]
                for method in _METHODS
                if method in item
            }
        return cls(
            base_path=base_path,
            operations=operations,
            operation_ids=operation_ids,
            bodiless=frozenset(bodiless),
        )

    def operation_id(self, request_path: str, method: str) -> str | None:
        """The operation a request is for, from its path and method alone (the spec's paths have
        no templates): for answers given before Connexion routes the request (the body gate)."""
        path = request_path.removeprefix(self.base_path) or "/"
        return self.operation_ids.get((path, method.upper()))

    def takes_no_body(self, request_path: str, method: str) -> bool:
        """Whether the operation a request is for declares no request body (an unknown path or
        method is left to routing)."""
        path = request_path.removeprefix(self.base_path) or "/"
        return (path, method.upper()) in self.bodiless

    def allowed_methods(self, request_path: str) -> list[str]:
        methods = list(self._operation_map(request_path))
        if "GET" in methods and "HEAD" not in methods:
            methods.append("HEAD")
        return methods

    def missing_two_factor_token(
        self, request_path: str, method: str, has_access_credential: bool
    ) -> bool:
        """Whether a request that satisfied no security alternative lacks its 2FA token (rather
        than any credential): every alternative needs one, and the access part is there."""
        alternatives = self._operation_map(request_path).get(method.upper(), [])
        if not alternatives or not all(a & _TWO_FACTOR_SCHEMES for a in alternatives):
            return False
        needs_access = all(a & _ACCESS_SCHEMES for a in alternatives)
        return has_access_credential or not needs_access

    def _operation_map(self, request_path: str) -> dict[str, list[frozenset[str]]]:
        path = request_path.removeprefix(self.base_path) or "/"
        return self.operations.get(path, {})
