from __future__ import annotations

import datetime as dt

from meterpipe.ops.dates import DateRange
from meterpipe.ops.ledger import LOST_EXECUTION, attempt_records, day_record, day_records, execution_record
from meterpipe.ops.pipeline import Pipeline
from tests.unit.ops.fake_sfn import DAILY_ROLLUP_ARN, FakeStepFunctions, Outcome, failed, succeeded
from tests.unit.ops.ledger_records import LedgerWriter

JAN = DateRange(dt.date(2024, 1, 1), dt.date(2024, 1, 31))
EXECUTION = DAILY_ROLLUP_ARN.replace(":stateMachine:", ":execution:") + ":"


def writer(fake: FakeStepFunctions) -> LedgerWriter:
    assert fake.ledger is not None
    return fake.ledger


def describes(fake: FakeStepFunctions) -> list[str]:
    return [
        params["executionArn"].rsplit(":", 1)[-1] for op, params in fake.calls if op == "DescribeExecution"
    ]


def test_a_month_reads_every_status_with_its_counts_in_one_query(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    ledger = writer(fake_sfn)
    ledger.record(
        dt.date(2024, 1, 2),
        "SUCCEEDED",
        EXECUTION + "a",
        ended=dt.datetime(2024, 2, 1, 3, 31, 30, tzinfo=dt.UTC),
        readings=1590,
        readings_expected=1608,
        bad_readings=3,
        bad_readings_skipped=3,
        sensors_reporting=66,
        sensors_known=67,
        items_hour=1580,
        items_day=66,
        items_month=66,
        fingerprint="sha256:ab",
    )
    for day, status in ((3, "FAILED"), (4, "NO_DATA"), (5, "INCOMPLETE"), (6, "ABORTED")):
        ledger.record(dt.date(2024, 1, day), status, EXECUTION + f"d{day}", error=f"E{day}")
    ledger.record(dt.date(2024, 2, 1), "FAILED", EXECUTION + "february")  # outside the month
    fake_sfn.calls.clear()

    records = day_records(pipeline, JAN)

    assert {day.day: record.status for day, record in records.items()} == {
        2: "SUCCEEDED",
        3: "FAILED",
        4: "NO_DATA",
        5: "INCOMPLETE",
        6: "ABORTED",
    }
    good = records[dt.date(2024, 1, 2)]
    assert (good.readings, good.readings_expected, good.bad_readings_skipped) == (1590, 1608, 3)
    assert (good.sensors_reporting, good.sensors_known, good.items_written) == (66, 67, 1712)
    assert (good.execution_name, good.attempts, good.fingerprint) == ("a", 1, "sha256:ab")
    assert good.duration(dt.datetime(2030, 1, 1, tzinfo=dt.UTC)) == 30.0
    assert records[dt.date(2024, 1, 3)].error == "E3"
    assert fake_sfn.calls == []  # no record was RUNNING: not one Step Functions call


def test_a_days_attempts_come_in_attempt_order_with_their_origin(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    ledger = writer(fake_sfn)
    day = dt.date(2024, 1, 9)
    ledger.record(day, "FAILED", EXECUTION + "first", origin="backfill", error="MeterPipe.BadReadings")
    ledger.record(day, "SUCCEEDED", EXECUTION + "second", origin="redrive", redrive_count=1)
    ledger.record(dt.date(2024, 1, 10), "SUCCEEDED", EXECUTION + "other")

    attempts = attempt_records(pipeline, DateRange(day, day))

    assert [(a.attempt, a.status, a.origin, a.execution_name) for a in attempts[day]] == [
        (1, "FAILED", "backfill", "first"),
        (2, "SUCCEEDED", "redrive", "second"),
    ]
    assert list(attempts) == [day]
    record = day_record(pipeline, day)
    assert record is not None and (record.attempts, record.execution_name) == (2, "second")
    assert execution_record(pipeline, EXECUTION + "first") == (day, 1)
    assert execution_record(pipeline, EXECUTION + "never") is None


def test_a_running_record_whose_execution_ended_shows_what_ledger_sync_will_record(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.ledger_sync_lag = True  # the status events have not been processed
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "before-writes", {"date": "2024-01-03"}, failed(writes=False))
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "mid-writes", {"date": "2024-01-04"}, failed())
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "stopped", {"date": "2024-01-05"}, Outcome(status="ABORTED"))
    fake_sfn.polls_to_finish = 10
    fake_sfn.op_start_execution(
        {"stateMachineArn": DAILY_ROLLUP_ARN, "name": "still-going", "input": '{"date": "2024-01-06"}'}
    )
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "done", {"date": "2024-01-07"}, succeeded())
    fake_sfn.calls.clear()

    records = day_records(pipeline, JAN)

    shown = {day.day: (r.status, r.recorded_status) for day, r in records.items()}
    assert shown == {
        3: ("FAILED", "RUNNING"),
        4: ("INCOMPLETE", "RUNNING"),
        5: ("ABORTED", "RUNNING"),
        6: ("RUNNING", None),
        7: ("SUCCEEDED", None),
    }
    assert records[dt.date(2024, 1, 4)].error == "States.ExceedToleratedFailureThreshold"
    # Only the RUNNING records cost a DescribeExecution, of their own execution.
    assert sorted(describes(fake_sfn)) == ["before-writes", "mid-writes", "still-going", "stopped"]


def test_a_running_record_whose_execution_is_gone_reads_as_failed(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    ledger = writer(fake_sfn)
    ledger.record(dt.date(2024, 1, 8), "RUNNING", EXECUTION + "lost-in-a-crash")
    ledger.record(dt.date(2024, 1, 9), "RUNNING", EXECUTION + "lost-while-writing", writes_started=True)

    records = day_records(pipeline, JAN)

    lost = records[dt.date(2024, 1, 8)]
    assert (lost.status, lost.error) == ("FAILED", LOST_EXECUTION)
    assert lost.cause == "the ledger names execution lost-in-a-crash, which no longer exists"
    assert records[dt.date(2024, 1, 9)].status == "INCOMPLETE"
    assert day_records(pipeline, JAN, repair=False)[dt.date(2024, 1, 8)].status == "RUNNING"


def test_an_attempt_left_running_before_a_redrive_of_its_execution_reads_as_failed_without_a_call() -> None:
    from typing import Any, cast

    from meterpipe.ops.ledger import DayRecord, repair_attempts

    class NoCalls:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"no AWS call expected ({name})")

    day = dt.date(2024, 1, 5)
    # ledger_sync ignored the failure event of attempt 1: it arrived after the redrive's.
    first = DayRecord(day, "RUNNING", EXECUTION + "a", 1, writes_started=True, attempt=1)
    redriven = DayRecord(day, "SUCCEEDED", EXECUTION + "a", 2, writes_started=True, attempt=2)
    before_writes = DayRecord(day, "RUNNING", EXECUTION + "b", 1, attempt=1)
    again = DayRecord(day, "FAILED", EXECUTION + "b", 2, attempt=2)
    pipeline = cast(Pipeline, NoCalls())
    shown = repair_attempts(pipeline, [first, redriven])
    assert [(a.status, a.recorded_status) for a in shown] == [("INCOMPLETE", "RUNNING"), ("SUCCEEDED", None)]
    assert [a.status for a in repair_attempts(pipeline, [before_writes, again])] == ["FAILED", "FAILED"]
