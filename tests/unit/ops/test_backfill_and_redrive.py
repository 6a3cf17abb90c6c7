from __future__ import annotations

import datetime as dt
import json

import pytest

from meterpipe.ops.backfill import BackfillError, plan_backfill, start_backfill, watch_backfills
from meterpipe.ops.dates import DateRange
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.redrive import NothingToRedrive, redrive_execution, redrive_failed
from meterpipe.ops.runs import list_runs, runs_by_day, start_run
from tests.unit.ops.conftest import RESULTS
from tests.unit.ops.fake_sfn import (
    BACKFILL_ARN,
    DAILY_ROLLUP_ARN,
    FakeStepFunctions,
    Outcome,
    failed,
    succeeded,
)

JAN = DateRange(dt.date(2024, 1, 1), dt.date(2024, 1, 7))


def test_a_dry_run_plan_says_why_each_day_runs(pipeline: Pipeline, fake_sfn: FakeStepFunctions) -> None:
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "a", {"date": "2024-01-02"}, succeeded())
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "b", {"date": "2024-01-03"}, failed("MeterPipe.ReconcileFailed"))
    plan = plan_backfill(pipeline, JAN)
    reasons = {d.date.day: d.reason for d in plan.days}
    assert reasons[1] == "never run"
    assert reasons[2].startswith("run again: latest run succeeded (2024-02-01")
    assert reasons[3] == "latest run FAILED: MeterPipe.ReconcileFailed"
    assert [str(r) for r in plan.ranges] == ["2024-01-01..2024-01-07"]


def test_only_missing_skips_succeeded_days_and_splits_the_range(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "a", {"date": "2024-01-03"}, succeeded())
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "b", {"date": "2024-01-04"}, succeeded())
    plan = plan_backfill(pipeline, JAN, only_missing=True)
    assert [str(r) for r in plan.ranges] == ["2024-01-01..2024-01-02", "2024-01-05..2024-01-07"]
    started = start_backfill(pipeline, plan, concurrency=2)
    inputs = [json.loads(p["input"]) for op, p in fake_sfn.calls if op == "StartExecution"]
    assert inputs == [
        {"from": "2024-01-01", "to": "2024-01-02", "max_concurrency": 2},
        {"from": "2024-01-05", "to": "2024-01-07", "max_concurrency": 2},
    ]
    assert all(s.name.startswith("bf_2024010") for s in started)


def test_a_backfill_longer_than_a_year_or_too_concurrent_is_refused(pipeline: Pipeline) -> None:
    with pytest.raises(BackfillError, match="spans 367 days; a backfill covers at most 366"):
        plan_backfill(pipeline, DateRange(dt.date(2023, 1, 1), dt.date(2024, 1, 2)))
    with pytest.raises(BackfillError, match="--concurrency must be from 1 to 40"):
        start_backfill(pipeline, plan_backfill(pipeline, JAN), concurrency=41)


def day_fails(*bad: int) -> object:
    return lambda day: (
        failed("States.TaskFailed", f"Athena: throttled (date {day})") if day.day in bad else succeeded()
    )


def test_watching_a_backfill_reports_each_days_outcome_and_items(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.day_outcome = day_fails(3)  # type: ignore[assignment]
    fake_sfn.polls_to_finish = 2
    started = start_backfill(pipeline, plan_backfill(pipeline, JAN))
    seen: list[tuple[int, int, int]] = []
    result = watch_backfills(
        pipeline,
        started,
        poll_seconds=0,
        on_progress=lambda p: seen.append((p.succeeded, p.failed, p.pending)),
    )
    assert seen[0] == (6, 1, 0) or seen[0][2] > 0  # children appear as the fake starts them
    assert (result.succeeded, result.failed, result.items_written) == (6, 1, 6 * 52)
    assert result.backfills[0].error == "MeterPipe.DaysFailed"
    [bad] = result.failed_days
    assert bad.date == dt.date(2024, 1, 3) and bad.run is not None
    assert bad.run.error == "States.TaskFailed"
    assert not result.ok


def test_redrive_failed_redrives_each_failed_latest_run(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.day_outcome = day_fails(3, 5)  # type: ignore[assignment]
    watch_backfills(pipeline, start_backfill(pipeline, plan_backfill(pipeline, JAN)), poll_seconds=0)
    fake_sfn.day_outcome = lambda day: succeeded()
    actions = redrive_failed(pipeline, JAN)
    assert [(a.date, a.action) for a in actions] == [
        (dt.date(2024, 1, 3), "redrive"),
        (dt.date(2024, 1, 5), "redrive"),
    ]
    assert "redrivable" in actions[0].reason
    latest = runs_by_day(list_runs(pipeline, JAN))
    assert all(group.latest.status == "SUCCEEDED" for group in latest.values())
    assert latest[dt.date(2024, 1, 3)].latest.redrive_count == 1
    assert redrive_failed(pipeline, JAN) == []


def test_a_run_that_cannot_be_redriven_is_run_afresh_saying_why(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    old = Outcome(
        status="FAILED",
        error="States.TaskFailed",
        cause="x",
        redrivable=False,
        redrive_reason="Execution is older than 14 days",
    )
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "old", {"date": "2024-01-02"}, old)
    [action] = redrive_execution(pipeline, "old")
    assert action.action == "fresh run"
    assert action.reason == "not redrivable (Execution is older than 14 days): started a fresh run of the day"
    assert action.execution_name.startswith("2024-01-02_redrive_")


def test_redriving_a_backfill_redrives_its_failed_days_not_the_backfill(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.day_outcome = day_fails(2, 4)  # type: ignore[assignment]
    [started] = start_backfill(pipeline, plan_backfill(pipeline, JAN))
    fake_sfn.day_outcome = lambda day: succeeded()
    start_run(pipeline, dt.date(2024, 1, 4))  # the 4th was fixed since, by another run
    actions = redrive_execution(pipeline, started.name)
    assert [(a.date.day if a.date else 0, a.action) for a in actions] == [(2, "redrive"), (4, "nothing")]
    assert actions[1].reason.startswith("already succeeded since, by 2024-01-04_run_")
    assert not any(
        op == "RedriveExecution"
        and p["executionArn"].startswith(BACKFILL_ARN.replace("stateMachine", "execution"))
        for op, p in fake_sfn.calls
    )


def test_only_failed_runs_are_redriven(pipeline: Pipeline, fake_sfn: FakeStepFunctions) -> None:
    run = start_run(pipeline, dt.date(2024, 1, 2))
    with pytest.raises(NothingToRedrive, match="is SUCCEEDED: only failed"):
        redrive_execution(pipeline, run.arn)


def test_a_run_that_failed_in_a_fail_state_is_run_afresh_not_redriven(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.add_execution(
        DAILY_ROLLUP_ARN, "mismatch", {"date": "2024-01-02"}, failed("MeterPipe.ReconcileFailed")
    )
    [action] = redrive_execution(pipeline, "mismatch")
    assert action.action == "fresh run"
    assert action.reason == (
        "a redrive cannot succeed: it failed in its ReconcileFailed state (MeterPipe.ReconcileFailed), "
        "which a redrive would only run again: started a fresh run of the day"
    )


def test_rejected_batches_are_run_afresh_because_a_redrive_resends_the_same_rows(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    bad = fake_sfn.add_execution(DAILY_ROLLUP_ARN, "bad-rows", {"date": "2024-01-02"}, failed())
    map_run = next(
        arn
        for arn in fake_sfn.map_runs
        if "/hourly:" in arn and fake_sfn.map_runs[arn]["executionArn"] == bad.arn
    )
    prefix = f"map-results/daily_rollup/hour/{map_run.rsplit(':', 1)[-1]}/"
    s3 = pipeline.client("s3")
    failure = {
        "Error": "InvalidBatchError",
        "Cause": json.dumps({"errorType": "InvalidBatchError", "errorMessage": "row 3: total_kwh is empty"}),
    }
    s3.put_object(Bucket=RESULTS, Key=prefix + "FAILED_0.json", Body=json.dumps([failure]))
    s3.put_object(
        Bucket=RESULTS,
        Key=prefix + "manifest.json",
        Body=json.dumps({"ResultFiles": {"FAILED": [{"Key": prefix + "FAILED_0.json"}]}}),
    )
    [action] = redrive_failed(pipeline)
    assert action.action == "fresh run"
    assert "write_batch rejected rows of the day's query result (InvalidBatchError)" in action.reason
    [forced] = redrive_failed(pipeline, fresh=True) or [None]
    assert forced is None  # the fresh run succeeded: nothing left to redrive


def test_fresh_forces_a_fresh_run(pipeline: Pipeline, fake_sfn: FakeStepFunctions) -> None:
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "flaky", {"date": "2024-01-02"}, failed())
    [action] = redrive_execution(pipeline, "flaky", fresh=True)
    assert (action.action, action.reason) == (
        "fresh run",
        "asked for a fresh run (--fresh): started a fresh run of the day",
    )
