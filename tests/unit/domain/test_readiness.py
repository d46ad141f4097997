"""Readiness names every component that does not answer, in the order they were given."""

from __future__ import annotations

from twofactor.domain.readiness import ReadinessChecks


def test_every_component_answering_means_ready() -> None:
    checks = ReadinessChecks({"database": lambda: True, "mail": lambda: True})

    assert checks.unavailable() == ()


def test_each_component_that_does_not_answer_is_named() -> None:
    asked: list[str] = []

    def down(name: str) -> bool:
        asked.append(name)
        return False

    checks = ReadinessChecks(
        {
            "database": lambda: down("database"),
            "allowlist": lambda: True,
            "mail": lambda: down("mail"),
        }
    )

    assert checks.unavailable() == ("database", "mail")
    assert asked == ["database", "mail"]
