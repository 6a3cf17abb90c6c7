"""Single states of the project's state machines through TestState (boto3, against the same
localcloud): the input rules of backfill's ValidateRange and daily_rollup's ResolveDate, and
daily_rollup's Reconcile."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from project_mocks_support import VALUES

from meterpipe.definitions import render_state_machines


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


# ---- daily_rollup's ResolveDate and Reconcile ----------------------------------------------------------

USAGE = (
    'start daily_rollup with {"date": "YYYY-MM-DD"} or {"scheduled_time": "<ISO 8601 timestamp>"}, '
    'optionally with "maxBadReadings" and "minCompletenessPercent"'
)


def _resolved(test_state: Any, definition: dict[str, Any], payload: Any) -> dict[str, Any]:
    answer = test_state.test_state(
        definition=json.dumps(definition),
        stateName="ResolveDate",
        input=json.dumps(payload),
        inspectionLevel="DEBUG",
    )
    assert answer["status"] == "SUCCEEDED", answer
    assert answer["nextState"] == "ResolveOptions"
    run: dict[str, Any] = json.loads(answer["inspectionData"]["variables"])["run"]
    return run


def test_resolve_date_takes_a_real_calendar_date(
    test_state: Any, rendered: dict[str, dict[str, Any]]
) -> None:
    run = _resolved(test_state, rendered["daily_rollup"], {"date": "2024-02-29"})
    assert [run[k] for k in ("problem", "source", "date", "year", "month", "day")] == [
        None, "date", "2024-02-29", "2024", "02", "29"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"date": "2023-02-29"}, "date 2023-02-29 is not a real calendar date"),
        # JSONata's regular expressions are JavaScript's: $ does not match before a final newline.
        ({"date": "2024-01-01\n"}, "date must be a YYYY-MM-DD string, got 2024-01-01\n"),
        ({"date": 20240101}, "date must be a YYYY-MM-DD string, got 20240101"),
        (
            {"date": "2024-01-01", "scheduled_time": "2024-01-02T03:30:00Z"},
            "give either date or scheduled_time, not both",
        ),
        (
            {"scheduled_time": "2024-02-30T03:30:00Z"},
            "scheduled_time 2024-02-30T03:30:00Z is not a real date and time",
        ),
        ({"day": "2024-01-01"}, f"unexpected input field(s): day; {USAGE}"),
        ({}, f"the input has neither date nor scheduled_time; {USAGE}"),
        ([], f"the input must be a JSON object; {USAGE}"),
    ],
)
def test_resolve_date_names_what_is_wrong(
    test_state: Any, rendered: dict[str, dict[str, Any]], payload: Any, problem: str
) -> None:
    assert _resolved(test_state, rendered["daily_rollup"], payload)["problem"] == problem


@pytest.mark.parametrize(
    ("zone", "scheduled"),
    [
        ("UTC", "2024-01-05T03:30:00Z"),
        ("America/New_York", "2024-03-10T04:30:00Z"),
        ("Europe/Paris", "2024-03-31T22:30:00Z"),
    ],
)
def test_a_scheduled_run_resolves_yesterday_in_the_deployments_zone(
    test_state: Any, zone: str, scheduled: str
) -> None:
    values = dataclasses.replace(VALUES, timezone=zone)
    definition = json.loads(render_state_machines(values)["daily_rollup"])
    local_day = dt.datetime.fromisoformat(scheduled).astimezone(ZoneInfo(zone)).date()
    run = _resolved(test_state, definition, {"scheduled_time": scheduled})
    assert (run["problem"], run["source"]) == (None, "scheduled_time")
    assert run["date"] == (local_day - dt.timedelta(days=1)).isoformat()


def _reconcile(test_state: Any, definition: dict[str, Any], state: str, variables: dict[str, Any]) -> Any:
    return test_state.test_state(
        definition=json.dumps(definition), stateName=state, input="{}", variables=json.dumps(variables)
    )


def test_reconcile_records_success_when_every_query_row_was_written(
    test_state: Any, rendered: dict[str, dict[str, Any]]
) -> None:
    answer = _reconcile(test_state, rendered["daily_rollup"], "Reconcile", {"mismatches": []})
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", "RecordSuccess")


def test_reconcile_fails_the_day_naming_each_granularity_that_differs(
    test_state: Any, rendered: dict[str, dict[str, Any]]
) -> None:
    mismatches = [
        {"granularity": "hour", "rows": 72, "items_written": 70},
        {"granularity": "day", "rows": 3, "items_written": 2},
    ]
    variables = {"mismatches": mismatches, "run": {"date": "2024-01-02"}}
    answer = _reconcile(test_state, rendered["daily_rollup"], "Reconcile", variables)
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", "ReconcileFailed")
    failed = _reconcile(test_state, rendered["daily_rollup"], "ReconcileFailed", variables)
    assert (failed["status"], failed["error"]) == ("FAILED", "MeterPipe.ReconcileFailed")
    assert failed["cause"] == (
        "hour: the query returned 72 rows but 70 items were written; "
        "day: the query returned 3 rows but 2 items were written (date 2024-01-02)"
    )
