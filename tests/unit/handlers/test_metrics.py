"""The exposition of the metrics: this process's registry, or the worker files of a directory."""

from __future__ import annotations

from pathlib import Path

from handlers._http.metrics import Exposition, observe


def test_without_a_directory_the_process_registry_is_exposed() -> None:
    observe("handlers.health.live", 200, "", 0.001)

    assert b'twofactor_http_requests_total{code="",operation="handlers.health.live"' in (
        Exposition(None).render()
    )


def test_with_a_directory_only_the_workers_files_are_exposed(tmp_path: Path) -> None:
    # This process counts in its own registry, not in the directory: nothing of it shows.
    observe("handlers.health.live", 200, "", 0.001)

    assert Exposition(tmp_path).render() == b""
