"""Log lines: one JSON object per record (``LOG_FORMAT=json``) or the classic text line."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest

from twofactor.logs import FIELDS, JsonFormatter, configure_logging


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("twofactor.test", logging.WARNING, __file__, 1, message, args, None)
    for name, value in extra.items():
        setattr(made, name, value)
    return made


def test_a_record_becomes_one_json_line_with_time_level_logger_and_message() -> None:
    line = JsonFormatter().format(record("alert %s not sent", "a1"))

    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["level"] == "WARNING"
    assert parsed["logger"] == "twofactor.test"
    assert parsed["message"] == "alert a1 not sent"
    assert parsed["timestamp"].endswith("Z")


def test_the_fields_of_a_record_become_top_level_keys() -> None:
    fields = {"requestId": "ab12", "status": 401, "code": "AUTHENTICATION_REQUIRED"}

    parsed = json.loads(JsonFormatter().format(record("GET /api/users/me 401", **{FIELDS: fields})))

    assert parsed | fields == parsed


def test_control_characters_of_a_hostile_value_stay_inside_the_line() -> None:
    line = JsonFormatter().format(record("path %s", '/api/x\r\n{"level": "ERROR"}'))

    assert "\n" not in line
    assert "\r" not in line
    assert json.loads(line)["level"] == "WARNING"


def test_an_exception_is_kept_in_the_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        failed = record("failed")
        failed.exc_info = sys.exc_info()

    parsed = json.loads(JsonFormatter().format(failed))

    assert "ValueError: boom" in parsed["exception"]


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restored_logging")
@pytest.mark.parametrize(("log_format", "formatter"), [("json", JsonFormatter), ("text", None)])
def test_the_configured_format_is_the_root_handlers(
    log_format: str, formatter: type | None
) -> None:
    configure_logging(log_format)

    [handler] = logging.getLogger().handlers
    assert handler.formatter is not None
    assert isinstance(handler.formatter, JsonFormatter) == (formatter is JsonFormatter)
    assert logging.getLogger("connexion").level == logging.WARNING
    assert logging.getLogger("uvicorn.error").propagate
