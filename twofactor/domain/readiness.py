"""Readiness: the components the service needs, each behind a check that says if it answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping


class ReadinessChecks:
    """Implements ``twofactor.domain.services.Readiness`` over named checks."""

    def __init__(self, checks: Mapping[str, Callable[[], bool]]) -> None:
        self._checks = dict(checks)

    def check(self) -> dict[str, bool]:
        # Every check runs, so that the answer names each component that is down.
        return {name: reachable() for name, reachable in self._checks.items()}
