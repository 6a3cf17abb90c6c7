from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from meterpipe.ops.ledger import day_record
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.runs import origin_of, processing_date, start_run
from tests.unit.ops.fake_sfn import FakeStepFunctions

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


def test_a_started_run_is_named_by_its_date_and_claims_its_day_in_the_ledger(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.polls_to_finish = 3
    run = start_run(pipeline, dt.date(2024, 1, 5))
    assert run.name.startswith("2024-01-05_run_") and run.status == "RUNNING"
    assert run.input == {"date": "2024-01-05"}
    record = day_record(pipeline, dt.date(2024, 1, 5))
    assert record is not None and (record.status, record.execution_arn) == ("RUNNING", run.arn)
