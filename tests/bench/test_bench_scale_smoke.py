"""The scale benchmark in its smallest form: it fills the database, measures each size, verifies.

Figures are never asserted: only that it completes, that its own verification of every
DELETE → 200 passed, and that it reports a row per principal count with the database filled.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_scale_fills_each_size_and_reports_a_row_per_principal_count(
    tmp_path: Path,
) -> None:
    output = tmp_path / "scale.md"
    sizes = [
        "--principals",
        "2500,40",
        "--users",
        "5",
        "--pool",
        "1",
        "--connections",
        "2",
        "--rounds",
        "2",
    ]
    short = ["--duration", "0.5", "--warmup", "0.2", "--output", str(output)]

    finished = subprocess.run(
        [sys.executable, "-m", "bench.scale", *sizes, *short],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    report = output.read_text()
    rows = [
        line for line in report.splitlines() if line.startswith("| ") and "principals" not in line
    ]
    # Sizes in increasing order; the first one holds at least the users provisioned for it.
    assert [row.split(" | ")[0] for row in rows] == ["| 40", "| 2,500"]
    assert "p50 at 2,500 principals vs 40:" in report
    assert report in finished.stdout
