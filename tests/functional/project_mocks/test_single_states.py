"""Single states of the project's state machines through TestState (boto3, against the same
localcloud): the input rules backfill's ValidateRange applies."""

from __future__ import annotations

import json
from typing import Any

import pytest


def _plan(test_state: Any, rendered: dict[str, dict[str, Any]], payload: Any) -> dict[str, Any]:
    answer = test_state.test_state(
        definition=json.dumps(rendered["backfill"]),
        stateName="ValidateRange",
        input=json.dumps(payload),
        inspectionLevel="DEBUG",
    )
    assert answer["status"] == "SUCCEEDED", answer
    assert answer["nextState"] == "CheckRange"
    variables: dict[str, Any] = json.loads(answer["inspectionData"]["variables"])
    return variables["plan"]  # type: ignore[no-any-return]


def test_a_range_becomes_its_dates(test_state: Any, rendered: dict[str, dict[str, Any]]) -> None:
    plan = _plan(test_state, rendered, {"from": "2024-02-28", "to": "2024-03-01", "max_concurrency": 2})
    assert plan["problem"] is None
    assert plan["dates"] == ["2024-02-28", "2024-02-29", "2024-03-01"]
    assert plan["max_concurrency"] == 2


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        # JSONata's regular expressions are JavaScript's: $ does not match before a final newline.
        ({"from": "2024-01-01\n", "to": "2024-01-02"}, "from must be a YYYY-MM-DD string, got 2024-01-01\n"),
        ({"from": "2023-02-29", "to": "2023-03-01"}, "from 2023-02-29 is not a real calendar date"),
        ({"from": "2024-01-05", "to": "2024-01-01"}, "from 2024-01-05 is after to 2024-01-01"),
        ({"from": "2024-01-01"}, None),
    ],
)
def test_invalid_ranges_are_named(
    test_state: Any, rendered: dict[str, dict[str, Any]], payload: Any, problem: str | None
) -> None:
    plan = _plan(test_state, rendered, payload)
    if problem is None:
        assert plan["problem"].startswith("the input needs both from and to")
    else:
        assert plan["problem"] == problem
