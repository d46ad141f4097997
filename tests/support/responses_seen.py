"""The responses the test suites actually produced, for the response-coverage report.

Every request the service answers leaves an access record (logger ``twofactor.access``) with the
operation, the status and the problem ``code`` (for a 304, the ``X-Error-Code``). Nothing here
looks at the tests' own assertions: what counts is what the server said. Two sources:

- apps in the test process (in-process and ``live=True``): a logging handler installed by the
  suites' ``conftest.py`` (``install``);
- served processes (``twofactor serve``, the contract stage's live server): their JSON logs, read
  when they stop (``record_log``).

Each process appends ``{"operation", "status", "code"}`` lines to its own file under
``SEEN_DIRECTORY`` (pytest-xdist runs several), which ``make test`` empties before the suites
run and ``contract/response_coverage.py`` reads at the end.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from twofactor.logs import FIELDS

SEEN_DIRECTORY = Path(__file__).resolve().parents[2] / ".responses-seen"
ACCESS_LOGGER = "twofactor.access"


def _append(lines: list[str], directory: Path = SEEN_DIRECTORY) -> None:
    if not lines:
        return
    directory.mkdir(exist_ok=True)
    with (directory / f"{os.getpid()}.jsonl").open("a") as seen:
        seen.write("".join(lines))


def _line(fields: dict[str, Any]) -> str | None:
    if not isinstance(fields.get("operation"), str) or not isinstance(fields.get("status"), int):
        return None
    code = fields.get("code") or ""
    seen = {"operation": fields["operation"], "status": fields["status"], "code": code}
    return json.dumps(seen) + "\n"


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self._lock_file = threading.Lock()
        self.paused = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.paused:
            return
        fields = getattr(record, FIELDS, None)
        line = _line(fields) if isinstance(fields, dict) else None
        if line is not None:
            with self._lock_file:
                _append([line])


def install() -> None:
    """Record the access records of the apps this process runs (once per process)."""
    access = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(handler, _Recorder) for handler in access.handlers):
        access.addHandler(_Recorder())
        # The service logs access records at INFO; the test process's root logger would drop
        # them before any handler saw them.
        access.setLevel(logging.INFO)


@contextmanager
def paused() -> Iterator[None]:
    """Record nothing meanwhile: for tests of the access log itself over toy apps, whose answers
    are not the service's."""
    recorders = [h for h in logging.getLogger(ACCESS_LOGGER).handlers if isinstance(h, _Recorder)]
    for recorder in recorders:
        recorder.paused = True
    try:
        yield
    finally:
        for recorder in recorders:
            recorder.paused = False


def record_log(log: Path, directory: Path = SEEN_DIRECTORY) -> None:
    """Record the access records of a served process's JSON log."""
    lines = []
    for text in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(text)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("logger") == ACCESS_LOGGER:
            line = _line(entry)
            if line is not None:
                lines.append(line)
    _append(lines, directory)
