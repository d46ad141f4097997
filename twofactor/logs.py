"""Logging set-up of the server processes (the command line and each uvicorn worker).

``LOG_FORMAT=json`` (the default) writes one JSON object per line, for log collectors;
``text`` writes the classic one-line format, for a terminal. The stdlib is enough for both: the
JSON formatter below is a dozen lines, and a log library would bring its own idea of handlers
and of uvicorn's loggers for no gain here.

Every record carries ``timestamp``, ``level``, ``logger`` and ``message``; the access log adds its
fields (``requestId``, ``method``, ``path``, ``status``, ...) through ``extra={"fields": {...}}``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

#: The ``extra`` key whose dictionary becomes top-level fields of a JSON line.
FIELDS = "fields"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        # ``default=str``: a stray value of an unexpected type must not lose the line.
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(log_format: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # ``force``: the command line configures once with the default, then again with the
    # configured format once the settings are read.
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    # Connexion logs request validation failures with the offending values at INFO: those can be
    # passwords or codes. Keep only its warnings and errors.
    logging.getLogger("connexion").setLevel(logging.WARNING)
    # uvicorn's own loggers propagate to the root: the same format for its start-up and errors.
    # Its access log stays off (``serve`` passes ``access_log=False``): ours has more to say.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
