from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from meterpipe.ops.calendar import month_calendar
from meterpipe.ops.dates import DateRange
from meterpipe.ops.history import (
    build_spans,
    day_history,
    first_failed_child,
    readable_cause,
    timeline,
)
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.runs import UnknownExecution, start_run
from tests.unit.ops.conftest import RESULTS
from tests.unit.ops.fake_sfn import DAILY_ROLLUP_ARN, FakeStepFunctions, failed, succeeded

T0 = dt.datetime(2024, 1, 6, 3, 30, tzinfo=dt.UTC)


def event(n: int, kind: str, previous: int, seconds: float, **details: Any) -> dict[str, Any]:
    return {
        "id": n,
        "type": kind,
        "previousEventId": previous,
        "timestamp": T0 + dt.timedelta(seconds=seconds),
        **details,
    }


def test_events_are_attributed_to_their_state_across_parallel_branches_with_retries() -> None:
    athena = {"resourceType": "athena", "resource": "startQueryExecution.sync"}
    events = [
        event(1, "ExecutionStarted", 0, 0),
        event(2, "ParallelStateEntered", 1, 0, stateEnteredEventDetails={"name": "RollUp"}),
        event(3, "ParallelStateStarted", 2, 0),
        event(4, "TaskStateEntered", 3, 0, stateEnteredEventDetails={"name": "RunHourlyQuery"}),
        event(5, "TaskStateEntered", 3, 0, stateEnteredEventDetails={"name": "RunDailyQuery"}),
        event(
            6,
            "TaskScheduled",
            4,
            0.1,
            taskScheduledEventDetails={**athena, "region": "x", "parameters": "{}"},
        ),
        event(
            7,
            "TaskScheduled",
            5,
            0.1,
            taskScheduledEventDetails={**athena, "region": "x", "parameters": "{}"},
        ),
        event(
            8,
            "TaskFailed",
            6,
            1,
            taskFailedEventDetails={
                **athena,
                "error": "Athena.TooManyRequestsException",
                "cause": "slow down",
            },
        ),
        event(
            9,
            "TaskSucceeded",
            7,
            2,
            taskSucceededEventDetails={
                **athena,
                "output": json.dumps(
                    {
                        "QueryExecution": {
                            "QueryExecutionId": "q-day",
                            "Statistics": {"DataScannedInBytes": 2048},
                        }
                    }
                ),
            },
        ),
        event(
            10, "TaskScheduled", 8, 3, taskScheduledEventDetails={**athena, "region": "x", "parameters": "{}"}
        ),
        event(11, "TaskStateExited", 9, 2.5, stateExitedEventDetails={"name": "RunDailyQuery"}),
        event(
            12,
            "TaskSucceeded",
            10,
            4,
            taskSucceededEventDetails={
                **athena,
                "output": json.dumps(
                    {
                        "QueryExecution": {
                            "QueryExecutionId": "q-hour",
                            "Statistics": {"DataScannedInBytes": 4096},
                        }
                    }
                ),
            },
        ),
        event(13, "TaskStateExited", 12, 4.5, stateExitedEventDetails={"name": "RunHourlyQuery"}),
        event(14, "ExecutionRedriven", 13, 9, executionRedrivenEventDetails={"redriveCount": 1}),
    ]
    spans, redrives = build_spans(events)
    by_name = {s.name: s for s in spans}
    hourly, daily = by_name["RunHourlyQuery"], by_name["RunDailyQuery"]
    assert (hourly.retries, hourly.query_execution_id, hourly.bytes_scanned, hourly.error) == (
        1,
        "q-hour",
        4096,
        None,
    )
    assert (daily.retries, daily.query_execution_id, daily.bytes_scanned) == (0, "q-day", 2048)
    assert hourly.duration(T0) == 4.5 and hourly.status == "succeeded"
    assert by_name["RollUp"].status == "running"
    assert redrives == [T0 + dt.timedelta(seconds=9)]


@pytest.mark.parametrize(
    ("end", "status"), [("ExecutionAborted", "aborted"), ("ExecutionTimedOut", "timed out")]
)
def test_states_still_running_when_the_execution_is_stopped_end_with_it(end: str, status: str) -> None:
    # AWS records the stop (or the execution's timeout) alone: no exit for the states then running.
    events = [
        event(1, "ExecutionStarted", 0, 0),
        event(2, "PassStateEntered", 1, 0, stateEnteredEventDetails={"name": "Prepare"}),
        event(3, "PassStateExited", 2, 0.5, stateExitedEventDetails={"name": "Prepare"}),
        event(4, "WaitStateEntered", 3, 0.5, stateEnteredEventDetails={"name": "Hold"}),
        event(5, end, 4, 30),
    ]
    spans, _ = build_spans(events)
    assert [(s.name, s.status, s.end) for s in spans] == [
        ("Prepare", "succeeded", T0 + dt.timedelta(seconds=0.5)),
        ("Hold", status, T0 + dt.timedelta(seconds=30)),
    ]


def test_a_timeline_shows_queries_map_runs_and_the_first_failed_batch(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    lambda_error = json.dumps(
        {"errorType": "InvalidBatchError", "errorMessage": "2 bad rows (3, 9)\nrow 3: total_kwh is empty"}
    )
    fake_sfn.day_outcome = lambda day: failed()
    run = start_run(pipeline, dt.date(2024, 1, 5))
    map_run = next(arn for arn in fake_sfn.map_runs if "/hourly:" in arn)
    prefix = f"map-results/daily_rollup/hour/{map_run.rsplit(':', 1)[-1]}/"
    s3 = pipeline.client("s3")
    s3.put_object(
        Bucket=RESULTS,
        Key=prefix + "FAILED_0.json",
        Body=json.dumps([{"Error": "InvalidBatchError", "Cause": lambda_error}]),
    )
    s3.put_object(
        Bucket=RESULTS,
        Key=prefix + "manifest.json",
        Body=json.dumps({"ResultFiles": {"FAILED": [{"Key": prefix + "FAILED_0.json", "Size": 1}]}}),
    )

    found = timeline(pipeline, "2024-01-05")
    assert found.machine == "daily_rollup" and found.execution.arn == run.arn
    names = [s.name for s in found.spans]
    assert names[:4] == ["ResolveDate", "CheckInput", "RollUp", "RunHourlyQuery"]
    hourly_map = next(s for s in found.spans if s.name == "WriteHourlyRollups")
    assert hourly_map.status == "failed" and hourly_map.item_counts is not None
    assert hourly_map.item_counts["failed"] == 1
    assert found.error == "States.ExceedToleratedFailureThreshold"
    assert found.root_cause == "InvalidBatchError: 2 bad rows (3, 9); row 3: total_kwh is empty"


def test_a_map_runs_failure_falls_back_to_nothing_when_no_record_says(pipeline: Pipeline) -> None:
    assert first_failed_child(pipeline, "arn:aws:states:us-east-1:1:mapRun:m/hourly:nope") is None


def test_an_unknown_execution_or_a_date_never_run_is_a_clear_error(pipeline: Pipeline) -> None:
    with pytest.raises(
        UnknownExecution,
        match="unknown execution 'nope': no such execution of meterpipe-daily-rollup or meterpipe-backfill",
    ):
        timeline(pipeline, "nope")
    with pytest.raises(UnknownExecution, match="2024-01-09 has never been run"):
        timeline(pipeline, "2024-01-09")


def test_day_history_has_one_line_per_date_with_its_latest_run(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "c0ffee", {"scheduled_time": "2024-01-04T03:30:00Z"}, failed())
    start_run(pipeline, dt.date(2024, 1, 2))
    lines = day_history(pipeline, DateRange(dt.date(2024, 1, 1), dt.date(2024, 1, 3)))
    assert [(line.date.day, line.status, line.runs) for line in lines] == [
        (1, "NEVER", 0),
        (2, "SUCCEEDED", 1),
        (3, "FAILED", 1),
    ]
    assert [line.date.day for line in day_history(pipeline, status="failed")] == [2 + 1]
    assert day_history(pipeline)[0].latest is not None  # open range: only dates with runs


def test_the_calendar_colours_each_day_by_its_latest_run(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "bad", {"date": "2024-02-03"}, failed())
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "good", {"date": "2024-02-04"}, succeeded())
    fake_sfn.polls_to_finish = 5
    start_run(pipeline, dt.date(2024, 2, 5))
    month = month_calendar(pipeline, dt.date(2024, 2, 1))
    assert len(month.days) == 29
    assert [d.category for d in month.days[2:6]] == ["failed", "succeeded", "running", "never"]
    assert month.counts() == {"succeeded": 1, "failed": 1, "running": 1, "never": 26}


def test_a_lambda_error_cause_reads_as_type_and_message() -> None:
    cause = json.dumps({"errorType": "InvalidBatchError", "errorMessage": "2 bad rows\nrow 1: x\nrow 2: y"})
    assert readable_cause(cause) == "InvalidBatchError: 2 bad rows; row 1: x (+1 more lines)"
    assert readable_cause("x" * 500, limit=10) == "x" * 9 + "…"


def test_a_failed_batch_is_named_when_its_error_does_not_say_which(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.day_outcome = lambda day: failed()
    start_run(pipeline, dt.date(2024, 1, 5))
    map_run = next(arn for arn in fake_sfn.map_runs if "/hourly:" in arn)
    prefix = f"map-results/daily_rollup/hour/{map_run.rsplit(':', 1)[-1]}/"
    batch_input = {
        "BatchInput": {"granularity": "hour", "date": "2024-01-05", "execution": "x"},
        "Items": [{}, {}],
    }
    failure = {
        "Error": "Lambda.ServiceException",
        "Cause": "Service unavailable",
        "Input": json.dumps(batch_input),
    }
    s3 = pipeline.client("s3")
    s3.put_object(Bucket=RESULTS, Key=prefix + "FAILED_0.json", Body=json.dumps([failure]))
    s3.put_object(
        Bucket=RESULTS,
        Key=prefix + "manifest.json",
        Body=json.dumps({"ResultFiles": {"FAILED": [{"Key": prefix + "FAILED_0.json", "Size": 1}]}}),
    )
    assert timeline(pipeline, "2024-01-05").root_cause == (
        "hour batch of 2024-01-05, 2 rows: Lambda.ServiceException: Service unavailable"
    )
