from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.runs import list_runs, origin_of, processing_date, runs_by_day, start_run, wait_for_runs
from tests.unit.ops.fake_sfn import DAILY_ROLLUP_ARN, FakeStepFunctions, failed, succeeded

UTC = ZoneInfo("UTC")


def test_a_runs_date_comes_from_its_output_then_its_input_then_its_name() -> None:
    assert processing_date("x", {"date": "2024-01-05"}, {"date": "2024-01-06"}, UTC) == dt.date(2024, 1, 6)
    assert processing_date("x", {"date": "2024-01-05"}, None, UTC) == dt.date(2024, 1, 5)
    assert processing_date("2024-01-07_run_x", {"oops": 1}, None, UTC) == dt.date(2024, 1, 7)
    assert processing_date("anything", {"oops": 1}, None, UTC) is None


def test_a_scheduled_run_processes_the_day_before_in_the_schedules_zone() -> None:
    given = {"scheduled_time": "2024-01-06T03:30:00Z"}
    assert processing_date("a1b2", given, None, UTC) == dt.date(2024, 1, 5)
    # 23:30 UTC on the 5th is already the 6th in Tokyo: the day before is the 5th.
    late = {"scheduled_time": "2024-01-05T23:30:00Z"}
    assert processing_date("a1b2", late, None, ZoneInfo("Asia/Tokyo")) == dt.date(2024, 1, 5)
    assert processing_date("a1b2", late, None, UTC) == dt.date(2024, 1, 4)


def test_the_name_says_who_started_a_run() -> None:
    assert origin_of("2024-01-05_run_20240106T101500_3fa9", {"date": "2024-01-05"}) == "run"
    assert origin_of("2024-01-05_redrive_20240106T101500_3fa9", {"date": "2024-01-05"}) == "redrive"
    assert origin_of("2024-01-05_bf-20240101-20240131_r0", {"date": "2024-01-05"}) == "backfill"
    assert origin_of("c0ffee", {"scheduled_time": "2024-01-06T03:30:00Z"}) == "schedule"
    assert origin_of("by-hand", {"date": "2024-01-05"}) == "other"


def test_runs_are_found_for_their_processing_date_whatever_started_them(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "c0ffee", {"scheduled_time": "2024-01-06T03:30:00Z"}, failed())
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "by-hand", {"date": "2024-01-04"}, succeeded())
    run = start_run(pipeline, dt.date(2024, 1, 5))
    assert run.name.startswith("2024-01-05_run_")

    by_day = runs_by_day(list_runs(pipeline))
    assert sorted(by_day) == [dt.date(2024, 1, 4), dt.date(2024, 1, 5)]
    fifth = by_day[dt.date(2024, 1, 5)]
    assert [r.origin for r in fifth.runs] == ["run", "schedule"]  # latest first
    assert fifth.latest.status == "SUCCEEDED"
    assert fifth.latest.items_written == 52
    assert fifth.runs[1].error == "States.ExceedToleratedFailureThreshold"


def test_a_redriven_run_counts_as_started_when_it_was_redriven(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    first = fake_sfn.add_execution(DAILY_ROLLUP_ARN, "first", {"date": "2024-01-05"}, failed())
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "second", {"date": "2024-01-05"}, failed())
    pipeline.sfn.redrive_execution(executionArn=first.arn)
    latest = runs_by_day(list_runs(pipeline))[dt.date(2024, 1, 5)].latest
    assert latest.name == "first" and latest.redrive_count == 1 and latest.status == "SUCCEEDED"


def test_waiting_polls_until_every_run_is_done(pipeline: Pipeline, fake_sfn: FakeStepFunctions) -> None:
    fake_sfn.polls_to_finish = 3
    runs = [start_run(pipeline, dt.date(2024, 1, d)) for d in (1, 2)]
    seen: list[list[str]] = []
    done = wait_for_runs(
        pipeline, runs, on_update=lambda rs: seen.append([r.status for r in rs]), poll_seconds=0
    )
    assert [r.status for r in done] == ["SUCCEEDED", "SUCCEEDED"]
    assert seen[0] == ["RUNNING", "RUNNING"] and seen[-1] == ["SUCCEEDED", "SUCCEEDED"]
