"""A Python client generated from openapi.yaml by openapi-python-client on every run.

Generated into pytest's temporary directory (never committed, never patched) and imported from
there, so the tests drive exactly what a user of the generator gets."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = "twofactor_client"
# No post hooks: the generator otherwise runs ruff from PATH, which a fresh clone may not have.
CONFIG = f"post_hooks: []\npackage_name_override: {PACKAGE}\nproject_name_override: {PACKAGE}\n"
GENERATION_BUDGET_S = 30.0


def generate(into: Path) -> float:
    """Generate the client under ``into``; returns the seconds it took."""
    config = into / "config.yaml"
    config.write_text(CONFIG)
    generator = Path(sys.executable).parent / "openapi-python-client"
    started = time.monotonic()
    spec = str(ROOT / "openapi.yaml")
    command = [str(generator), "generate", "--path", spec, "--meta", "none"]
    command += ["--output-path", str(into / PACKAGE), "--config", str(config)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    # The generator's warnings name spec constructs it could not turn into code.
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    return elapsed


@pytest.fixture(scope="session")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    into = tmp_path_factory.mktemp("generated")
    elapsed = generate(into)
    print(f"openapi-python-client generated {PACKAGE} in {elapsed:.2f} s")
    assert elapsed < GENERATION_BUDGET_S
    sys.path.insert(0, str(into))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(into))
