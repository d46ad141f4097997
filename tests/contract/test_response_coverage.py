"""The response-coverage report: what a spec declares, what counts as produced, what fails."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from contract.response_coverage import (
    declared,
    judge,
    produced,
    read_known_gaps,
)
from tests.support.responses_seen import record_log

SPEC: dict[str, Any] = yaml.safe_load(
    """
openapi: 3.0.3
paths:
  /things:
    delete:
      operationId: pkg.things.remove
      responses:
        '200': {description: gone, content: {application/json: {examples: {shown: {value: {}}}}}}
        '304':
          description: already gone
          headers:
            X-Error-Code: {schema: {type: string, enum: [ALREADY_GONE]}}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '500': {$ref: '#/components/responses/ServerError'}
        default: {$ref: '#/components/responses/Problem'}
components:
  responses:
    Unauthorized:
      description: no
      content:
        application/problem+json:
          schema:
            allOf:
              - {type: object}
              - properties: {code: {type: string, x-known-values: [NO_TOKEN, BAD_TOKEN]}}
    ServerError:
      description: broken
      content:
        application/problem+json:
          schema: {properties: {code: {type: string, x-known-values: [STORE_DOWN, INTERNAL_ERROR]}}}
    Problem:
      description: anything else
      content:
        application/problem+json:
          examples:
            NOT_FOUND: {$ref: '#/components/examples/NotFound'}
  examples:
    NotFound: {value: {status: 404, code: NOT_FOUND}}
"""
)
OPERATION = "pkg.things.remove"


def test_each_status_is_declared_with_the_codes_its_schema_or_header_lists() -> None:
    spec = declared(SPEC)

    assert spec.required == {
        (OPERATION, 200, ""),
        (OPERATION, 304, "ALREADY_GONE"),
        (OPERATION, 401, "NO_TOKEN"),
        (OPERATION, 401, "BAD_TOKEN"),
        (OPERATION, 500, "STORE_DOWN"),
    }
    assert spec.anywhere == {(404, "NOT_FOUND")}


def test_an_internal_error_is_declared_but_required_of_no_operation() -> None:
    spec = declared(SPEC)

    assert spec.defects == {(OPERATION, 500, "INTERNAL_ERROR")}
    assert judge(spec, Counter(dict.fromkeys(spec.required, 1)), {}).passed


def test_a_run_that_produced_an_internal_error_fails() -> None:
    spec = declared(SPEC)
    seen = Counter(dict.fromkeys(spec.required, 1)) + Counter(
        {(OPERATION, 500, "INTERNAL_ERROR"): 1}
    )

    verdict = judge(spec, seen, {})

    assert verdict.defects == [(OPERATION, 500, "INTERNAL_ERROR")]
    assert verdict.undeclared == []
    assert not verdict.passed


def test_a_declared_response_never_produced_fails_unless_it_is_a_listed_gap() -> None:
    spec = declared(SPEC)
    seen = Counter(
        {
            (OPERATION, 200, ""): 3,
            (OPERATION, 304, "ALREADY_GONE"): 1,
            (OPERATION, 500, "STORE_DOWN"): 1,
        }
    )

    verdict = judge(spec, seen, {(OPERATION, 401, "BAD_TOKEN"): "why"})

    assert verdict.missing == [(OPERATION, 401, "NO_TOKEN")]
    assert verdict.known == [(OPERATION, 401, "BAD_TOKEN")]
    assert not verdict.passed


def test_a_produced_response_the_spec_does_not_declare_fails() -> None:
    spec = declared(SPEC)
    every = Counter(dict.fromkeys(spec.required, 1))
    seen = every + Counter({(OPERATION, 401, "EXPIRED"): 1, ("unmatched", 404, "NOT_FOUND"): 2})

    verdict = judge(spec, seen, {})

    # A default answer's example may come from anywhere; an unknown 401 code may not.
    assert verdict.undeclared == [(OPERATION, 401, "EXPIRED")]
    assert not verdict.passed
    assert judge(spec, every, {}).passed


def test_a_listed_gap_that_is_produced_is_reported_for_removal() -> None:
    spec = declared(SPEC)
    every = Counter(dict.fromkeys(spec.required, 1))

    verdict = judge(spec, every, {(OPERATION, 401, "NO_TOKEN"): "why"})

    assert verdict.still_listed == [(OPERATION, 401, "NO_TOKEN")]
    assert verdict.passed


def test_access_records_of_a_served_log_are_read_back_as_produced(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    access = {"logger": "twofactor.access", "operation": OPERATION, "status": 304}
    lines = [
        json.dumps({**access, "code": "ALREADY_GONE"}),
        json.dumps({"logger": "uvicorn.error", "message": "started"}),
        "not json at all",
        json.dumps({**access, "status": 200, "code": None}),
    ]
    log.write_text("\n".join(lines) + "\n")
    seen_directory = tmp_path / "seen"

    record_log(log, seen_directory)

    assert produced(seen_directory) == Counter(
        {(OPERATION, 304, "ALREADY_GONE"): 1, (OPERATION, 200, ""): 1}
    )


def test_known_gaps_are_read_with_their_reasons(tmp_path: Path) -> None:
    gaps = tmp_path / "gaps.txt"
    gaps.write_text(
        f"# a comment\n\n{OPERATION} 401 NO_TOKEN  # needs a clock\n{OPERATION} 200 -\n"
    )

    assert read_known_gaps(gaps) == {
        (OPERATION, 401, "NO_TOKEN"): "needs a clock",
        (OPERATION, 200, ""): "",
    }
