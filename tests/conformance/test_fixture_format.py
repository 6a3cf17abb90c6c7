"""Every conformance case file follows the fixture format (README.md beside this file).

Checks, per file: valid JSON, the required fields, only the documented keys, a source that names
a documentation page by URL, a known folder and a file name unique across folders. A final test
prints how many cases each folder holds.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

CASES_DIR = Path(__file__).resolve().parent / "cases"
CASE_FILES = sorted(CASES_DIR.rglob("*.json"))

FOLDERS = {
    "pass", "task", "choice", "wait", "succeed_fail", "parallel", "map_inline", "map_distributed",
    "jsonpath", "intrinsics", "jsonata", "variables", "retry_catch", "errors", "validation",
    "history", "redrive", "integrations", "context_object",
}  # fmt: skip
TOP_KEYS = {
    "description", "source", "definition", "input", "execution", "services", "expected", "stop",
    "redrive", "skip_on", "skip_reason",
}  # fmt: skip
REQUIRED_KEYS = {"description", "source", "definition", "expected"}
EXECUTION_KEYS = {"name", "state_machine_name", "start_time", "region", "account", "type"}
SERVICE_KEYS = {"lambda", "s3", "dynamodb", "state_machines", "callbacks"}
EXPECTED_KEYS = {
    "status", "output", "error", "cause", "cause_contains", "definition_errors", "history",
    "history_contains", "history_events",
}  # fmt: skip
STOP_KEYS = {"after_seconds", "error", "cause"}
REDRIVE_KEYS = {"after_seconds", "services", "refused", "expected"}
HISTORY_ID_KEYS = {"id", "previousEventId", "timestamp"}
STATUSES = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "INVALID_DEFINITION"}
LAMBDA_ENTRY_KEYS = {"return", "raise", "timeout"}
CALLBACK_KEYS = {"success", "failure", "heartbeat", "none"}
SCRIPT_STEP_KEYS = {"wait", "success", "failure", "heartbeat"}
DOCS_URL = re.compile(r"https://(docs\.aws\.amazon\.com|states-language\.net)/\S+")


def _ids() -> list[str]:
    return [p.relative_to(CASES_DIR).as_posix() for p in CASE_FILES]


def _check_expected(expected: Any, where: str) -> None:
    assert isinstance(expected, dict), f"{where} must be an object"
    unknown = set(expected) - EXPECTED_KEYS
    assert not unknown, f"{where} has undocumented keys {sorted(unknown)}"
    status = expected.get("status")
    assert status in STATUSES, f"{where}.status must be one of {sorted(STATUSES)}, got {status!r}"
    assert not ("cause" in expected and "cause_contains" in expected), f"{where}: cause or cause_contains"
    if status in {"FAILED", "TIMED_OUT"}:
        assert isinstance(expected.get("error"), str), f"{where}: a {status} case names its error"
    if status == "INVALID_DEFINITION":
        errors = expected.get("definition_errors")
        assert isinstance(errors, list) and errors, f"{where}: list the definition_errors"
        for item in errors:
            assert set(item) == {"path", "contains"}, f"{where}: each definition error has path and contains"
            pointer = item["path"]
            assert pointer == "" or pointer.startswith("/"), f"{where}: {pointer!r} is no JSON Pointer"
    for key in ("history", "history_contains"):
        if key in expected:
            assert all(isinstance(t, str) for t in expected[key]), f"{where}.{key} lists event types"
    if "history_events" in expected:
        _check_history_events(expected["history_events"], f"{where}.history_events")


def _check_history_events(wanted: Any, where: str) -> None:
    assert isinstance(wanted, dict) and set(wanted) <= {"include_execution_data", "events"}, where
    assert isinstance(wanted.get("include_execution_data", True), bool), f"{where}.include_execution_data"
    events = wanted.get("events")
    assert isinstance(events, list) and events, f"{where}.events lists the events"
    for event in events:
        assert isinstance(event, dict) and isinstance(event.get("type"), str), f"{where}: {event}"
        assert not set(event) & HISTORY_ID_KEYS, f"{where}: ids and timestamps are not listed: {event}"
        details = set(event) - {"type"}
        assert all(key.endswith("EventDetails") for key in details), f"{where}: {event}"


def _check_stop(stop: Any, where: str) -> None:
    assert isinstance(stop, dict) and set(stop) <= STOP_KEYS, f"{where} has keys {sorted(STOP_KEYS)}"
    after = stop.get("after_seconds", 0)
    assert isinstance(after, int | float) and after >= 0, f"{where}.after_seconds: seconds, at least 0"
    for key in ("error", "cause"):
        assert isinstance(stop.get(key, ""), str), f"{where}.{key} is text"


def _check_redrive(case: dict[str, Any]) -> None:
    redrive = case["redrive"]
    assert set(redrive) <= REDRIVE_KEYS and "expected" in redrive, f"redrive has keys {sorted(REDRIVE_KEYS)}"
    assert case["expected"]["status"] in {"FAILED", "TIMED_OUT", "ABORTED"}, "only a failed run redrives"
    after = redrive.get("after_seconds", 0)
    assert isinstance(after, int | float) and after >= 0, "redrive.after_seconds: seconds, at least 0"
    if "refused" in redrive:
        refused = redrive["refused"]
        assert set(refused) == {"error", "message"}, "redrive.refused has error and message"
        assert refused["error"] == "ExecutionNotRedrivable", "RedriveExecution's refusal is this error"
    _check_services(redrive.get("services", {}), "redrive.services")
    _check_expected(redrive["expected"], "redrive.expected")


def _check_services(services: Any, where: str) -> None:
    assert isinstance(services, dict), f"{where} must be an object"
    unknown = set(services) - SERVICE_KEYS
    assert not unknown, f"{where} has undocumented keys {sorted(unknown)}"
    for function, entries in (services.get("lambda") or {}).items():
        assert isinstance(entries, list) and entries, f"{where}.lambda.{function} lists invocations"
        for entry in entries:
            assert len(entry) == 1 and set(entry) <= LAMBDA_ENTRY_KEYS, f"{where}.lambda.{function}: {entry}"
    for uri in services.get("s3") or {}:
        assert uri.startswith("s3://"), f"{where}.s3 keys are s3:// URIs, got {uri!r}"
    for name, machine in (services.get("state_machines") or {}).items():
        assert isinstance(machine.get("definition"), dict), f"{where}.state_machines.{name} has a definition"
    for answer in services.get("callbacks") or []:
        if isinstance(answer, list):  # a worker's script: timed steps for one token
            for step in answer:
                assert len(step) == 1 and set(step) <= SCRIPT_STEP_KEYS, f"{where}.callbacks: {step}"
                if "wait" in step:
                    assert isinstance(step["wait"], int | float) and step["wait"] >= 0, f"{where}: {step}"
            continue
        assert len(answer) == 1 and set(answer) <= CALLBACK_KEYS, f"{where}.callbacks: {answer}"


@pytest.mark.parametrize("path", CASE_FILES, ids=_ids())
def test_case_file_follows_the_fixture_format(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(case, dict)
    assert path.parent.parent == CASES_DIR and path.parent.name in FOLDERS, "cases sit in one area folder"
    missing = REQUIRED_KEYS - set(case)
    assert not missing, f"missing required fields {sorted(missing)}"
    unknown = set(case) - TOP_KEYS
    assert not unknown, f"undocumented keys {sorted(unknown)}"
    assert isinstance(case["description"], str) and case["description"].strip()
    assert DOCS_URL.search(case["source"]), "source must name the documentation page by URL"
    assert isinstance(case["definition"], dict)
    unknown = set(case.get("execution", {})) - EXECUTION_KEYS
    assert not unknown, f"execution has undocumented keys {sorted(unknown)}"
    _check_services(case.get("services", {}), "services")
    _check_expected(case["expected"], "expected")
    if "stop" in case:
        _check_stop(case["stop"], "stop")
    if "redrive" in case:
        _check_redrive(case)
    if "skip_on" in case:
        assert isinstance(case["skip_on"], list) and case.get("skip_reason"), "skip_on needs a skip_reason"


def test_case_file_names_are_unique_across_folders() -> None:
    counts = Counter(p.name for p in CASE_FILES)
    assert [name for name, n in counts.items() if n > 1] == []


def test_every_area_has_cases_and_the_total_meets_the_issue(capsys: pytest.CaptureFixture[str]) -> None:
    per_folder = Counter(p.parent.name for p in CASE_FILES)
    with capsys.disabled():
        print("\nconformance cases per folder:")
        for folder in sorted(FOLDERS):
            print(f"  {folder:<16} {per_folder.get(folder, 0):>4}")
        print(f"  {'total':<16} {sum(per_folder.values()):>4}")
    assert sorted(FOLDERS - set(per_folder)) == []
    assert sum(per_folder.values()) >= 200
