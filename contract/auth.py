"""The Schemathesis auth hook of the in-process run: real credentials, fresh for every case.

A step-up token authorises one security change and is consumed by it, and a successful
``DELETE /auth/2fa/totp`` leaves the user without TOTP. So every case that carries credentials
gets a new session and a step-up token of the principal's current generation, and before each
such case of an operation the seeded user's second factors are put into the next state of a
fixed cycle (``METHOD_STATES``): the core operation then really answers 200, 304 and 400.

Two steps, because Schemathesis builds the spec's explicit examples at collection time, before
any fixture (and so the database) exists, and may send cases in another order than it built
them:

1. Generation: the hook (``SeededUserAuth``) decides *which* credentials a case carries, with
   Schemathesis's own rules (no credentials when it negates the security parameters; generated
   cookie alternatives dropped), and writes placeholders.
2. Sending: ``CaseCredentials.fill`` seeds the state and replaces the placeholders with freshly
   minted tokens right before the request.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from schemathesis import APIOperation, AuthContext, Case

from contract.support import METHOD_STATES, Seeder, Tokens

Operation = APIOperation[Any, Any, Any, Any]
GeneratedCase = Case[Any]

# Header-borne security schemes of openapi.yaml: the header each is read from, and the
# placeholder written at generation time. The cookie schemes are alternatives of these.
_SCHEMES: dict[str, tuple[str, str]] = {
    "accessToken": ("Authorization", "Bearer <seeded access token>"),
    "refreshToken": ("Authorization", "Bearer <seeded refresh token>"),
    "stepUpToken": ("X-Step-Up-Token", "<seeded step-up token>"),
    "twoFactorToken": ("X-Two-Factor-Authentication-Token", "<seeded 2FA token>"),
}
# Where two schemes share ``Authorization`` (no operation does today), the last one wins.
_ORDER = ("refreshToken", "twoFactorToken", "stepUpToken", "accessToken")


def security_schemes(operation: Operation) -> frozenset[str]:
    """Every scheme named by any alternative of the operation's security requirements."""
    raw: dict[str, Any] = operation.definition.raw
    requirements = raw.get("security", operation.schema.raw_schema.get("security", []))
    return frozenset(name for alternative in requirements for name in alternative)


class SeededUserAuth:
    """Registered with ``schema.auth(refresh_interval=None)``: no caching, one call per case."""

    def get(self, case: GeneratedCase, context: AuthContext) -> frozenset[str] | None:
        schemes = security_schemes(case.operation) & _SCHEMES.keys()
        return schemes or None

    def set(self, case: GeneratedCase, data: frozenset[str], context: AuthContext) -> None:
        for scheme in _ORDER:
            if scheme in data:
                header, placeholder = _SCHEMES[scheme]
                case.headers[header] = placeholder


class CaseCredentials:
    """Seeds the state for the next case of an operation and mints its credentials."""

    def __init__(self, seeder: Seeder, principal_id: str) -> None:
        self._seeder = seeder
        self.principal_id = principal_id
        self._cases: Counter[str] = Counter()

    def fill(self, case: GeneratedCase) -> None:
        """Replace the hook's placeholders in ``case`` with real credentials of a new session."""
        wanted = {
            header: scheme
            for scheme, (header, placeholder) in _SCHEMES.items()
            if case.headers.get(header) == placeholder
        }
        if not wanted:
            return
        tokens = self._next_case(case.operation)
        values = {
            "accessToken": f"Bearer {tokens.access}",
            "refreshToken": f"Bearer {tokens.refresh}",
            "stepUpToken": tokens.step_up,
            "twoFactorToken": tokens.two_factor,
        }
        for header, scheme in wanted.items():
            case.headers[header] = values[scheme]

    def _next_case(self, operation: Operation) -> Tokens:
        # Counted per operation, so each operation walks the whole cycle whatever runs before it.
        number = self._cases[operation.label]
        self._cases[operation.label] += 1
        wanted = METHOD_STATES[number % len(METHOD_STATES)]
        if self._seeder.methods(self.principal_id) != wanted:
            self._seeder.set_methods(self.principal_id, wanted)
        return self._seeder.tokens(self.principal_id)
