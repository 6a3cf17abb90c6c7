from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest

from meterpipe.ops.backfill import BackfillError, StartedBackfill, plan_backfill, start_backfill
from meterpipe.ops.dates import DateRange
from meterpipe.ops.fingerprint import Fingerprint
from meterpipe.ops.ledger import day_records
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.redrive import NothingToRedrive, redrive_days, redrive_execution
from meterpipe.ops.runs import start_run
from meterpipe.ops.watch import Tracked, Work, before_work, watch
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
EXECUTION = DAILY_ROLLUP_ARN.replace(":stateMachine:", ":execution:") + ":"


def day_fails(*bad: int) -> Callable[[dt.date], Outcome]:
    return lambda day: (
        failed("States.TaskFailed", f"Athena: throttled (date {day})") if day.day in bad else succeeded()
    )


def statuses(pipeline: Pipeline, days: DateRange = JAN) -> dict[int, str]:
    return {day.day: record.status for day, record in day_records(pipeline, days).items()}


def run_backfill(pipeline: Pipeline, days: DateRange = JAN, **plan: object) -> Work:
    made = plan_backfill(pipeline, days, **plan)  # type: ignore[arg-type]
    work = before_work(pipeline, made.to_run)
    started = start_backfill(pipeline, made.ranges)
    return watch(pipeline, work.track(*(Tracked(s.arn, s.name) for s in started)), poll_seconds=0)


def test_a_dry_run_plan_says_why_each_day_runs(pipeline: Pipeline, fake_sfn: FakeStepFunctions) -> None:
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "a", {"date": "2024-01-02"}, succeeded())
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "b", {"date": "2024-01-03"}, failed("MeterPipe.ReconcileFailed"))
    plan = plan_backfill(pipeline, JAN)
    reasons = {d.date.day: d.reason for d in plan.days}
    assert reasons[1] == "never run"
    assert reasons[2] == "run again: succeeded (2024-02-01 10:00 UTC, a)"
    assert (
        reasons[3]
        == "never succeeded: latest attempt INCOMPLETE: MeterPipe.ReconcileFailed (2024-02-01 10:00 UTC, b)"
    )
    assert [str(r) for r in plan.ranges] == ["2024-01-01..2024-01-07"]


def test_only_missing_skips_succeeded_days_and_splits_the_range(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "a", {"date": "2024-01-03"}, succeeded())
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "b", {"date": "2024-01-04"}, succeeded())
    plan = plan_backfill(pipeline, JAN, mode="missing")
    assert [str(r) for r in plan.ranges] == ["2024-01-01..2024-01-02", "2024-01-05..2024-01-07"]
    fake_sfn.calls.clear()
    started = start_backfill(pipeline, plan.ranges, concurrency=2)
    inputs = [json.loads(p["input"]) for op, p in fake_sfn.calls if op == "StartExecution"]
    assert inputs == [
        {"from": "2024-01-01", "to": "2024-01-02", "max_concurrency": 2},
        {"from": "2024-01-05", "to": "2024-01-07", "max_concurrency": 2},
    ]
    assert all(s.name.startswith("bf_2024010") for s in started)


def test_the_plan_reads_the_ledger_not_the_executions(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    for n in range(1, 8):
        fake_sfn.add_execution(DAILY_ROLLUP_ARN, f"d{n}", {"date": f"2024-01-0{n}"}, succeeded())
    fake_sfn.calls.clear()
    plan = plan_backfill(pipeline, JAN, mode="missing")
    assert plan.to_run == [] and fake_sfn.calls == []  # no ListExecutions, no DescribeExecution


def test_stale_runs_the_days_whose_input_changed_since_their_success_saying_how(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    assert fake_sfn.ledger is not None
    ledger = fake_sfn.ledger
    same = {"fingerprint": "sha256:aa", "input_objects": 2, "input_bytes": 4_000}
    ledger.record(dt.date(2024, 1, 1), "SUCCEEDED", EXECUTION + "a", **same)
    ledger.record(dt.date(2024, 1, 2), "SUCCEEDED", EXECUTION + "b", **same)
    ledger.record(dt.date(2024, 1, 3), "SUCCEEDED", EXECUTION + "c", **same)
    ledger.record(dt.date(2024, 1, 4), "FAILED", EXECUTION + "d", error="MeterPipe.BadReadings")
    now = {
        dt.date(2024, 1, 1): Fingerprint("sha256:aa", 2, 4_000),  # unchanged
        dt.date(2024, 1, 2): Fingerprint("sha256:bb", 3, 6_500),  # a file added
        dt.date(2024, 1, 3): Fingerprint("sha256:cc", 2, 4_000),  # a file rewritten, same size
    }
    plan = plan_backfill(
        pipeline, DateRange(dt.date(2024, 1, 1), dt.date(2024, 1, 5)), mode="stale", inputs=now
    )
    assert [(d.date.day, d.run, d.reason) for d in plan.days] == [
        (1, False, "skip: succeeded, input unchanged since (2024-02-01 03:31 UTC, a)"),
        (
            2,
            True,
            "input changed since its success: 2 object(s), 4.0 kB then, 3 object(s), 6.5 kB now "
            "(2024-02-01 03:31 UTC, b)",
        ),
        (3, True, "input changed since its success: objects rewritten (2024-02-01 03:31 UTC, c)"),
        (4, True, "never succeeded: latest attempt FAILED: MeterPipe.BadReadings (2024-02-01 03:31 UTC, d)"),
        (5, True, "never run"),
    ]
    assert [str(r) for r in plan.ranges] == ["2024-01-02..2024-01-05"]


def test_a_backfill_longer_than_a_year_or_too_concurrent_is_refused(pipeline: Pipeline) -> None:
    with pytest.raises(BackfillError, match="spans 367 days; a backfill covers at most 366"):
        plan_backfill(pipeline, DateRange(dt.date(2023, 1, 1), dt.date(2024, 1, 2)))
    with pytest.raises(BackfillError, match="--concurrency must be from 1 to 40"):
        start_backfill(pipeline, plan_backfill(pipeline, JAN).ranges, concurrency=41)


def test_watching_a_backfill_reports_each_days_outcome_and_items_from_the_ledger(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.day_outcome = day_fails(3)
    fake_sfn.polls_to_finish = 2
    plan = plan_backfill(pipeline, JAN)
    work = before_work(pipeline, plan.to_run)
    started = start_backfill(pipeline, plan.ranges)
    seen: list[tuple[int, int, int, int]] = []
    result = watch(
        pipeline,
        work.track(*(Tracked(s.arn, s.name) for s in started)),
        poll_seconds=0,
        on_progress=lambda p: seen.append((p.succeeded, p.failed, p.running, p.pending)),
    )
    assert seen[0] == (0, 0, 7, 0)  # every day claimed, none ended yet
    assert (result.succeeded, result.failed, result.items_written) == (6, 1, 6 * 52)
    assert result.executions[started[0].arn].error == "MeterPipe.DaysFailed"
    assert result.not_completed == [dt.date(2024, 1, 3)]
    assert result.records[dt.date(2024, 1, 3)].error == "States.TaskFailed"
    assert not result.ok
    # Only the backfill was described, never its seven days' executions.
    described = {p["executionArn"] for op, p in fake_sfn.calls if op == "DescribeExecution"}
    assert described == {started[0].arn}


def test_a_day_run_before_does_not_count_as_done_by_the_work(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "earlier", {"date": "2024-01-02"}, succeeded())
    work = before_work(pipeline, [dt.date(2024, 1, 2)])
    fake_sfn.polls_to_finish = 3
    run = start_run(pipeline, dt.date(2024, 1, 3))  # another day: the 2nd gets no new attempt
    work.track(Tracked(run.arn, run.name))
    watch(pipeline, work, poll_seconds=0)
    assert work.status(dt.date(2024, 1, 2)) == "PENDING" and work.not_completed == [dt.date(2024, 1, 2)]


def test_redrive_completes_failed_days_by_redriving_their_owner(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.day_outcome = day_fails(3, 5)
    run_backfill(pipeline)
    fake_sfn.day_outcome = lambda day: succeeded()
    done = redrive_days(pipeline, JAN)
    assert [(a.date.day, a.action) for a in done.actions] == [(3, "redrive"), (5, "redrive")]
    assert done.actions[0].reason == (
        "incomplete, and redrivable: RedriveExecution re-runs only the failed states"
    )
    work = watch(pipeline, done.work(), poll_seconds=0)
    assert work.ok and set(statuses(pipeline).values()) == {"SUCCEEDED"}
    assert day_records(pipeline, JAN)[dt.date(2024, 1, 3)].attempts == 2  # the redrive is an attempt
    assert redrive_days(pipeline, JAN).actions == []


def test_days_a_killed_backfill_never_started_run_afresh_as_one_backfill_per_stretch(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    """After a crash: two days interrupted (their RUNNING records name executions that failed,
    one lost entirely), three never started (no record), two succeeded."""
    assert fake_sfn.ledger is not None
    fake_sfn.ledger_sync_lag = True
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "done", {"date": "2024-01-01"}, succeeded())
    crashed = failed("States.Runtime", "localcloud restarted after it stopped without a clean shutdown")
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "interrupted", {"date": "2024-01-02"}, crashed)
    fake_sfn.ledger.record(dt.date(2024, 1, 3), "RUNNING", EXECUTION + "lost")
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "done too", {"date": "2024-01-04"}, succeeded())
    fake_sfn.calls.clear()

    done = redrive_days(pipeline, JAN)

    assert [(a.date.day, a.action) for a in done.actions] == [
        (2, "redrive"),
        (3, "fresh run"),
        (5, "backfill"),
        (6, "backfill"),
        (7, "backfill"),
    ]
    assert done.actions[1].reason == (
        "FAILED (MeterPipe.ExecutionLost); its execution lost no longer exists: a fresh run of the day"
    )
    assert done.actions[2].reason == (
        "never run: no ledger record (never started): run afresh by a backfill of 2024-01-05..2024-01-07"
    )
    [backfill] = done.backfills
    started = [json.loads(p["input"]) for op, p in fake_sfn.calls if op == "StartExecution"]
    assert {"from": "2024-01-05", "to": "2024-01-07"} in started
    assert backfill.name.startswith("bf_20240105-20240107_")
    work = watch(pipeline, done.work(), poll_seconds=0)
    assert work.ok, work.not_completed
    assert set(statuses(pipeline).values()) == {"SUCCEEDED"}


def test_redrive_names_the_days_it_could_not_complete(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.day_outcome = day_fails(2)
    done = redrive_days(pipeline, DateRange(dt.date(2024, 1, 1), dt.date(2024, 1, 3)))
    work = watch(pipeline, done.work(), poll_seconds=0)
    assert work.not_completed == [dt.date(2024, 1, 2)]
    assert work.status(dt.date(2024, 1, 2)) == "INCOMPLETE"


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
    [action] = redrive_execution(pipeline, "old").actions
    assert action.action == "fresh run"
    assert action.reason == (
        "INCOMPLETE (States.TaskFailed); not redrivable (Execution is older than 14 days): "
        "a fresh run of the day"
    )
    assert action.execution_name is not None and action.execution_name.startswith("2024-01-02_redrive_")


def test_redriving_a_backfill_completes_every_day_of_its_range_not_the_backfill(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.day_outcome = day_fails(2, 4)
    [started] = start_backfill(pipeline, plan_backfill(pipeline, JAN).ranges)
    fake_sfn.day_outcome = lambda day: succeeded()
    start_run(pipeline, dt.date(2024, 1, 4))  # the 4th was fixed since, by another run
    done = redrive_execution(pipeline, started.name)
    assert [(a.date.day, a.action) for a in done.actions] == [(2, "redrive")]
    assert not any(
        op == "RedriveExecution"
        and p["executionArn"].startswith(BACKFILL_ARN.replace("stateMachine", "execution"))
        for op, p in fake_sfn.calls
    )
    watch(pipeline, done.work(), poll_seconds=0)
    with pytest.raises(
        NothingToRedrive, match=r"every day of backfill bf_\S+ \(2024-01-01..2024-01-07\) has succeeded"
    ):
        redrive_execution(pipeline, started.name)


def test_a_running_backfill_is_not_redriven(pipeline: Pipeline, fake_sfn: FakeStepFunctions) -> None:
    fake_sfn.polls_to_finish = 5
    [started] = start_backfill(pipeline, plan_backfill(pipeline, JAN).ranges)
    with pytest.raises(
        NothingToRedrive,
        match=f"is still RUNNING: wait for it to end, or stop it with `meterpipe stop {started.name}`",
    ):
        redrive_execution(pipeline, started.name)


def test_only_failed_runs_are_redriven(pipeline: Pipeline, fake_sfn: FakeStepFunctions) -> None:
    run = start_run(pipeline, dt.date(2024, 1, 2))
    with pytest.raises(NothingToRedrive, match="is SUCCEEDED: only failed"):
        redrive_execution(pipeline, run.arn)


def test_redriving_a_run_that_no_longer_owns_a_succeeded_day_does_nothing(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "old", {"date": "2024-01-02"}, failed())
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "new", {"date": "2024-01-02"}, succeeded())
    [action] = redrive_execution(pipeline, "old").actions
    assert (action.action, action.reason) == ("nothing", "already succeeded since, by new")


def test_a_run_that_failed_in_a_fail_state_is_run_afresh_not_redriven(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.add_execution(
        DAILY_ROLLUP_ARN, "mismatch", {"date": "2024-01-02"}, failed("MeterPipe.ReconcileFailed")
    )
    [action] = redrive_execution(pipeline, "mismatch").actions
    assert action.action == "fresh run"
    assert action.reason == (
        "INCOMPLETE (MeterPipe.ReconcileFailed); a redrive cannot succeed: it failed in its ReconcileFailed "
        "state (MeterPipe.ReconcileFailed), which a redrive would only run again: a fresh run of the day"
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
    [action] = redrive_days(pipeline).actions
    assert action.action == "fresh run"
    assert "write_batch rejected rows of the day's query result (InvalidBatchError)" in action.reason
    assert redrive_days(pipeline, fresh=True).actions == []  # the fresh run succeeded


def test_fresh_forces_a_fresh_run(pipeline: Pipeline, fake_sfn: FakeStepFunctions) -> None:
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "flaky", {"date": "2024-01-02"}, failed())
    [action] = redrive_execution(pipeline, "flaky", fresh=True).actions
    assert (action.action, action.reason) == (
        "fresh run",
        "INCOMPLETE (States.ExceedToleratedFailureThreshold); asked for a fresh run (--fresh): "
        "a fresh run of the day",
    )


def test_a_stretch_longer_than_a_backfill_covers_runs_as_several_backfills(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[list[DateRange]] = []

    def start(_pipeline: Pipeline, ranges: list[DateRange], **_: object) -> list[StartedBackfill]:
        asked.append(ranges)
        return [StartedBackfill(f"arn:{r}", f"bf_{r}", r, dt.datetime.now(dt.UTC)) for r in ranges]

    monkeypatch.setattr("meterpipe.ops.redrive.start_backfill", start)
    two_years = DateRange(dt.date(2022, 1, 1), dt.date(2023, 12, 31))
    done = redrive_days(pipeline, two_years)
    assert [[str(r) for r in ranges] for ranges in asked] == [
        ["2022-01-01..2023-01-01", "2023-01-02..2023-12-31"]  # 366 days at most each
    ]
    assert len(done.actions) == len(two_years) and {a.action for a in done.actions} == {"backfill"}
