"""The benchmark end to end in its smallest mode: it runs, verifies every 200, reports all.

Figures are never asserted: only that the benchmark completes, that its own verification of every
DELETE → 200 (database and alert mail) passed, and that its table has every scenario.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.report import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]


def test_bench_smoke_run_verifies_every_200_and_reports_every_scenario(tmp_path: Path) -> None:
    output = tmp_path / "run.md"

    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    report = output.read_text()
    assert "VERIFICATION FAILED" not in report
    assert "Verification: all 5 DELETE→200 checked" in report
    rows = [line for line in report.splitlines() if line.startswith("| ")]
    for scenario in SCENARIOS:
        assert any(row.startswith(f"| {scenario} | 1 |") for row in rows), scenario
    assert any(row.startswith("| database: raw `find_one`") for row in rows)
    # Database commands were counted for every scenario that reaches the service.
    for scenario in SCENARIOS[1:]:
        assert f"- {scenario}: " in report, scenario
    assert report in finished.stdout
