"""Readiness runs every check and says of each component whether it answers."""

from __future__ import annotations

from twofactor.domain.readiness import ReadinessChecks


def test_every_check_runs_and_each_component_gets_its_own_answer() -> None:
    asked: list[str] = []

    def answers(name: str, reachable: bool) -> bool:
        asked.append(name)
        return reachable

    checks = ReadinessChecks(
        {
            "database": lambda: answers("database", False),
            "allowlist": lambda: answers("allowlist", True),
            "mail": lambda: answers("mail", False),
        }
    )

    assert checks.check() == {"database": False, "allowlist": True, "mail": False}
    assert asked == ["database", "allowlist", "mail"]
