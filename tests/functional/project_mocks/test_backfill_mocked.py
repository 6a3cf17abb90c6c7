"""backfill run offline: every daily_rollup child it starts (``RunDailyRollup``,
``states:startExecution.sync:2``) answers from MockConfigFile.json, per Map iteration, in order
(``max_concurrency`` 1), retries included."""

from __future__ import annotations

import json
from typing import Any

from project_mocks_support import BACKFILL_ARN, DAILY_ROLLUP_ARN, Run

CHILD = DAILY_ROLLUP_ARN.replace(":stateMachine:", ":execution:") + ":"


def _task_events(history: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in history if event["type"].startswith("MapRun")]


def test_every_day_succeeding_ends_the_backfill_succeeded(run: Run) -> None:
    described = run(BACKFILL_ARN, "AllDaysSucceed", {"from": "2024-01-01", "to": "2024-01-03"})
    assert described["status"] == "SUCCEEDED", described.get("cause")
    output = json.loads(described["output"])
    assert (output["from"], output["to"]) == ("2024-01-01", "2024-01-03")
    assert output["dates"] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    # Each day's execution ARN is the one its (mocked) DescribeExecution answer names.
    assert {e["executionArn"] for e in output["executions"]} == {f"{CHILD}2024-01-01_mocked_r0"}
    assert "MapRunSucceeded" in _task_events(described["history"])


def test_a_failed_day_is_recorded_and_the_backfill_ends_days_failed(run: Run) -> None:
    described = run(
        BACKFILL_ARN, "SecondDayFails", {"from": "2024-01-01", "to": "2024-01-03", "max_concurrency": 1}
    )
    assert (described["status"], described["error"]) == ("FAILED", "MeterPipe.DaysFailed")
    assert described["cause"] == (
        "1 of 3 days failed: 2024-01-02. Each day ran as its own daily_rollup execution: redrive those "
        "(meterpipe redrive --failed), not this backfill."
    )
    # The Map Run tolerates every failure (ToleratedFailurePercentage 100): all three days ran.
    assert "MapRunSucceeded" in _task_events(described["history"])


def test_a_throttled_start_is_retried_with_the_next_mocked_answer(run: Run, sfn: Any) -> None:
    described = run(BACKFILL_ARN, "ThrottledThenStarted", {"from": "2024-01-01", "to": "2024-01-01"})
    assert described["status"] == "SUCCEEDED", described.get("cause")
    started = next(e for e in described["history"] if e["type"] == "MapRunStarted")
    map_run = started["mapRunStartedEventDetails"]["mapRunArn"]
    (child,) = sfn.list_executions(mapRunArn=map_run)["executions"]
    events = sfn.get_execution_history(executionArn=child["executionArn"])["events"]
    failures = [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]
    assert failures == ["StepFunctions.ThrottlingException"]
    assert [e["type"] for e in events].count("TaskScheduled") == 2
    assert json.loads(described["output"])["executions"] == [
        {"date": "2024-01-01", "executionArn": f"{CHILD}2024-01-01_mocked_r0"}
    ]


def test_an_invalid_range_fails_before_any_day_starts(run: Run) -> None:
    described = run(BACKFILL_ARN, "NoServiceCalls", {"from": "2024-01-05", "to": "2024-01-01"})
    assert (described["status"], described["error"]) == ("FAILED", "MeterPipe.InvalidInput")
    assert described["cause"] == "from 2024-01-05 is after to 2024-01-01"
    assert not any(event["type"].startswith("MapRun") for event in described["history"])
