"""Differential check (issue 3): every moto-runnable JSONPath conformance case runs on moto's
interpreter and on ours, and both end the same way (status, output, error), except where moto is
known to diverge from the AWS documentation.

Known divergences live in moto_known_divergences.json (case path -> what moto does, what the docs
say, and the URL). For those cases the test expects moto's recorded behaviour (so a moto upgrade
that fixes or changes it is noticed) and ours to follow the fixture, i.e. the docs. Every other
case must give the same outcome on both engines, and that outcome must be the fixture's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from moto_runner import Outcome, load_cases, run_case, unsupported_reason
from ours_runner import run_ours

DIVERGENCES_FILE = Path(__file__).resolve().parent / "moto_known_divergences.json"
DIVERGENCES: dict[str, dict[str, Any]] = json.loads(DIVERGENCES_FILE.read_text(encoding="utf-8"))
ALL_CASES = load_cases()
RUNNABLE = [(path, case) for path, case in ALL_CASES if unsupported_reason(case) is None]


def _mismatches(outcome: Outcome, expected: dict[str, Any]) -> list[str]:
    problems = []
    if outcome.status != expected["status"]:
        problems.append(f"status {outcome.status!r} != {expected['status']!r}")
    if "output" in expected and outcome.output != expected["output"]:
        problems.append(f"output {json.dumps(outcome.output)} != {json.dumps(expected['output'])}")
    if "error" in expected and outcome.error != expected["error"]:
        problems.append(f"error {outcome.error!r} != {expected['error']!r}")
    if "cause" in expected and outcome.cause != expected["cause"]:
        problems.append(f"cause {outcome.cause!r} != {expected['cause']!r}")
    if "cause_contains" in expected and expected["cause_contains"] not in (outcome.cause or ""):
        problems.append(f"cause {outcome.cause!r} lacks {expected['cause_contains']!r}")
    if "history" in expected and outcome.history_types != expected["history"]:
        problems.append(f"history {outcome.history_types} != {expected['history']}")
    if "history_contains" in expected:
        remaining = iter(outcome.history_types)
        if not all(any(t == wanted for t in remaining) for wanted in expected["history_contains"]):
            problems.append(f"history {outcome.history_types} lacks {expected['history_contains']} in order")
    return problems


def _differences(ours: Outcome, moto: Outcome) -> list[str]:
    """Where the two engines disagree on how the execution ended."""
    out = []
    if ours.status != moto.status:
        out.append(f"status: ours {ours.status!r}, moto {moto.status!r}")
    if ours.status == "SUCCEEDED" and ours.output != moto.output:
        out.append(f"output: ours {json.dumps(ours.output)}, moto {json.dumps(moto.output)}")
    if ours.status == "FAILED" and ours.error != moto.error:
        out.append(f"error: ours {ours.error!r}, moto {moto.error!r}")
    return out


def test_known_divergences_name_existing_runnable_cases_and_cite_the_docs() -> None:
    runnable = {path for path, _ in RUNNABLE}
    for path, entry in DIVERGENCES.items():
        assert path in runnable, f"{path} is not a moto-runnable case"
        assert {"moto", "moto_outcome", "docs", "url"} <= set(entry), path
        assert entry["url"].startswith("https://docs.aws.amazon.com/"), path


def test_most_cases_run_on_both_engines() -> None:
    # A guard against the runnable predicate silently excluding everything.
    assert len(RUNNABLE) >= 250


@pytest.mark.parametrize(("path", "case"), RUNNABLE, ids=[path for path, _ in RUNNABLE])
def test_ours_and_moto_end_the_same_unless_moto_is_documented_wrong(path: str, case: dict[str, Any]) -> None:
    moto = run_case(case)
    ours = run_ours(case)
    assert _mismatches(ours, case["expected"]) == [], f"ours does not follow the fixture on {path}"
    if path in DIVERGENCES:
        recorded = DIVERGENCES[path]["moto_outcome"]
        assert _mismatches(moto, recorded) == [], f"moto no longer behaves as recorded for {path}"
        assert _differences(ours, moto) != [], f"moto now agrees with ours (and the docs) on {path}"
    else:
        assert _differences(ours, moto) == [], f"the engines differ on {path}"
        assert _mismatches(moto, case["expected"]) == []
