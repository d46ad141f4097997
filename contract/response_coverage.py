"""Response coverage: every answer openapi.yaml declares, and whether a test suite produced it.

``python contract/response_coverage.py`` (the last step of ``make test``) reads what the servers
answered during the run (``tests/support/responses_seen.py``: the access records of every app and
served process) and compares it with the spec:

- **declared**: for each operation, each explicit status with each problem ``code`` its schema
  lists (``x-known-values``, or the ``enum`` of a 304's ``X-Error-Code`` header); a success is
  declared with no code. A ``default`` answer is a catch-all for routing and negotiation
  problems: the codes of its examples, on any operation, are declared without being required.
- **produced**: the (operation, status, code) triples the servers logged.
- **defects**: ``500 INTERNAL_ERROR`` is the answer to an exception the service did not expect.
  Every operation declares it, because a client must be ready for it, but its only cause is a
  defect: no test may produce it, so it is required of no operation, and a run that produced it
  anywhere fails.

It prints one table per operation and fails (exit code 1) when a response was produced that the
spec does not declare, or a declared one was never produced, unless that one is listed in
``contract/response_gaps.txt`` (each with the reason it is not produced yet). A listed gap that a
test now produces is reported, to be taken off the list; it does not fail the run, so that an
answer a test produces only now and then (a race, a timeout) cannot fail CI either way.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contract.breaking_changes import resolve_ref  # noqa: E402
from tests.support.responses_seen import SEEN_DIRECTORY  # noqa: E402

Triple = tuple[str, int, str]

SPECIFICATION = ROOT / "openapi.yaml"
KNOWN_GAPS = ROOT / "contract" / "response_gaps.txt"
#: (status, code) whose only cause is a defect in the service (see the module docstring).
DEFECT_ANSWERS = frozenset({(500, "INTERNAL_ERROR")})
#: What the access log names a request no operation matched (routing 404/405).
UNMATCHED = "unmatched"
#: Swagger UI and the spec document (``/api/ui/``, ``/api/openapi.json``) are served beside the
#: operations, so their answers have no operation.
DOCUMENTATION: Triple = (UNMATCHED, 200, "")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@dataclass(frozen=True)
class Declared:
    #: (operation, status, code) each operation must produce.
    required: frozenset[Triple]
    #: (status, code) any request may get under ``default`` (routing, negotiation, ...).
    anywhere: frozenset[tuple[int, str]]
    #: (operation, status, code) declared for a defect: required of none, produced by none.
    defects: frozenset[Triple] = frozenset()


def known_codes(spec: Mapping[str, Any], schema: Any) -> set[str]:
    """The codes a problem schema lists: ``x-known-values`` of its ``code``, through ``allOf``."""
    schema = resolve_ref(spec, schema)
    if not isinstance(schema, dict):
        return set()
    codes: set[str] = set()
    for part in schema.get("allOf", []):
        codes |= known_codes(spec, part)
    code = resolve_ref(spec, schema.get("properties", {}).get("code"))
    if isinstance(code, dict):
        codes |= set(code.get("x-known-values", [])) | set(code.get("enum", []))
    return codes


def response_codes(spec: Mapping[str, Any], response: Any) -> set[str]:
    response = resolve_ref(spec, response)
    codes: set[str] = set()
    header = resolve_ref(spec, response.get("headers", {}).get("X-Error-Code"))
    if isinstance(header, dict):
        codes |= set(resolve_ref(spec, header.get("schema", {})).get("enum", []))
    problem = response.get("content", {}).get("application/problem+json")
    if problem is not None:
        codes |= known_codes(spec, problem.get("schema"))
        for example in problem.get("examples", {}).values():
            codes.add(str(resolve_ref(spec, example).get("value", {}).get("code")))
    return codes


def operations(spec: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for item in spec["paths"].values():
        for method in METHODS:
            if method in item:
                yield item[method]["operationId"], item[method]


def declared(spec: Mapping[str, Any]) -> Declared:
    required: set[Triple] = set()
    anywhere: set[tuple[int, str]] = set()
    defects: set[Triple] = set()
    for operation_id, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status == "default":
                anywhere |= default_answers(spec, response)
                continue
            codes = response_codes(spec, response)
            if int(status) < 300:
                required.add((operation_id, int(status), ""))
            for code in codes:
                answer = (operation_id, int(status), code)
                (defects if answer[1:] in DEFECT_ANSWERS else required).add(answer)
    return Declared(frozenset(required), frozenset(anywhere), frozenset(defects))


def default_answers(spec: Mapping[str, Any], response: Any) -> set[tuple[int, str]]:
    """(status, code) of each example of a ``default`` answer."""
    answers = set()
    for media in resolve_ref(spec, response).get("content", {}).values():
        for example in media.get("examples", {}).values():
            value = resolve_ref(spec, example).get("value", {})
            answers.add((int(value["status"]), str(value["code"])))
    return answers


def produced(directory: Path = SEEN_DIRECTORY) -> Counter[Triple]:
    seen: Counter[Triple] = Counter()
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            seen[(entry["operation"], entry["status"], entry["code"])] += 1
    return seen


def read_known_gaps(path: Path = KNOWN_GAPS) -> dict[Triple, str]:
    """``operation status code  # why`` per line; ``-`` stands for no code."""
    gaps: dict[Triple, str] = {}
    for line in path.read_text().splitlines():
        entry, _, why = line.partition("#")
        if not entry.strip():
            continue
        operation, status, code = entry.split()
        gaps[(operation, int(status), "" if code == "-" else code)] = why.strip()
    return gaps


@dataclass(frozen=True)
class Verdict:
    missing: list[Triple]
    undeclared: list[Triple]
    still_listed: list[Triple]
    known: list[Triple]
    #: Answers whose only cause is a defect, produced all the same.
    defects: list[Triple]

    @property
    def passed(self) -> bool:
        return not (self.missing or self.undeclared or self.defects)


def judge(spec: Declared, seen: Counter[Triple], gaps: Mapping[Triple, str]) -> Verdict:
    not_produced = sorted(spec.required - set(seen))
    undeclared = sorted(
        triple
        for triple in seen
        if triple not in spec.required | spec.defects
        and (triple[1], triple[2]) not in spec.anywhere
        and triple != DOCUMENTATION
    )
    return Verdict(
        missing=[t for t in not_produced if t not in gaps],
        undeclared=undeclared,
        still_listed=sorted(t for t in gaps if t in seen or t not in spec.required),
        known=[t for t in not_produced if t in gaps],
        defects=sorted(t for t in seen if t[1:] in DEFECT_ANSWERS),
    )


def print_table(spec: Declared, seen: Counter[Triple], gaps: Mapping[Triple, str]) -> None:
    rows = sorted(spec.required | set(seen) | spec.defects)
    print("===== response coverage: declared (operation, status, code) and times produced =====")
    current = None
    for operation, status, code in rows:
        if operation != current:
            print(f"\n{operation}")
            current = operation
        count = seen.get((operation, status, code), 0)
        if (operation, status, code) == DOCUMENTATION:
            mark = "documentation"
        elif (status, code) in DEFECT_ANSWERS:
            mark = "DEFECT" if count else "defect only"
        elif (operation, status, code) not in spec.required:
            mark = "default" if (status, code) in spec.anywhere else "UNDECLARED"
        elif count:
            mark = "ok"
        else:
            mark = "known gap" if (operation, status, code) in gaps else "MISSING"
        print(f"  {status}  {code or '-':45} {count:6}  {mark}")


def main() -> int:
    spec = declared(yaml.safe_load(SPECIFICATION.read_text()))
    seen = produced()
    if not seen:
        print(f"response coverage: nothing recorded in {SEEN_DIRECTORY}; run make test")
        return 1
    gaps = read_known_gaps()
    print_table(spec, seen, gaps)
    verdict = judge(spec, seen, gaps)
    covered = len(spec.required & set(seen))
    print(
        f"\n{covered} of {len(spec.required)} declared responses produced; "
        f"{len(verdict.known)} known gaps listed in {KNOWN_GAPS.relative_to(ROOT)}"
    )
    for operation, status, code in verdict.still_listed:
        print(f"NOTE (listed in {KNOWN_GAPS.name}, produced or no longer declared: take it off")
        print("  unless its reason says it is produced only now and then): ", end="")
        print(f"{operation} {status} {code or '-'}")
    for title, triples in (
        ("declared, never produced, not listed as a known gap", verdict.missing),
        ("produced, not declared in openapi.yaml", verdict.undeclared),
        ("produced, and only a defect in the service produces it", verdict.defects),
    ):
        for operation, status, code in triples:
            print(f"FAIL ({title}): {operation} {status} {code or '-'}")
    return 0 if verdict.passed else 1


if __name__ == "__main__":
    sys.exit(main())
