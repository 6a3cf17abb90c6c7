"""daily_rollup deployed by ``meterpipe local up``: fired by its schedule, and run for a date."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from pipeline_support import SPEC, Pipeline, expected_items

from localcloud import control
from meterpipe.definitions import MAP_RESULTS_PREFIX


def set_schedule_state(pipeline: Pipeline, state: str) -> None:
    """Update the deployed schedule as it is but for its state (an update plans it from now)."""
    scheduler = pipeline.client("scheduler")
    current = scheduler.get_schedule(Name=SPEC.schedule_name)
    kept = ("Name", "ScheduleExpression", "ScheduleExpressionTimezone", "FlexibleTimeWindow", "Target")
    scheduler.update_schedule(**{key: current[key] for key in kept}, State=state)


def test_the_schedule_fires_daily_rollup_with_the_scheduled_time_for_the_day_before(
    pipeline: Pipeline,
) -> None:
    control.set_clock(pipeline.endpoint, dt.datetime(2024, 1, 6, 3, 29, tzinfo=dt.UTC), frozen=True)
    set_schedule_state(pipeline, "ENABLED")  # the deploy planned it from today's date: plan it again
    fired = control.advance_clock(pipeline.endpoint, 120)["fired"]
    assert [(f["schedule"].rsplit("/", 1)[-1], f["status"]) for f in fired] == [
        (SPEC.schedule_name, "SUCCEEDED")
    ]
    set_schedule_state(pipeline, "DISABLED")
    # Let time run again, so the execution's Athena polls and retries move on.
    control.set_clock(pipeline.endpoint, dt.datetime(2024, 1, 6, 3, 31, tzinfo=dt.UTC), frozen=False)
    sfn = pipeline.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=pipeline.machine_arn(SPEC.daily_rollup))["executions"]
    assert len(executions) == 1
    described = pipeline.wait(executions[0]["executionArn"])
    assert json.loads(described["input"]) == {"scheduled_time": "2024-01-06T03:30:00Z"}
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"])["date"] == "2024-01-05"
    assert pipeline.table() == expected_items(pipeline.lake, [dt.date(2024, 1, 5)])


def map_results(pipeline: Pipeline, execution_arn: str) -> dict[str, dict[str, list[Any]]]:
    """Each Map Run's result files, read through its manifest: granularity -> status -> entries."""
    sfn, s3 = pipeline.client("stepfunctions"), pipeline.client("s3")

    def read(key: str) -> Any:
        return json.loads(s3.get_object(Bucket=SPEC.results_bucket, Key=key)["Body"].read())

    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    found: dict[str, dict[str, list[Any]]] = {}
    for event in events:
        if event["type"] != "MapRunStarted":
            continue
        arn = event["mapRunStartedEventDetails"]["mapRunArn"]
        label, run_id = arn.rsplit(":", 1)[0].rsplit("/", 1)[-1], arn.rsplit(":", 1)[-1]
        granularity = {"hourly": "hour", "daily": "day", "monthly": "month"}[label]
        prefix = f"{MAP_RESULTS_PREFIX}daily_rollup/{granularity}/{run_id}/"
        try:
            manifest = read(prefix + "manifest.json")
        except s3.exceptions.NoSuchKey:
            continue  # a Map Run aborted (its Parallel branch's sibling failed) writes no results
        found[granularity] = {
            status: [entry for file in files for entry in read(file["Key"])]
            for status, files in manifest["ResultFiles"].items()
        }
    return found


def test_daily_rollup_for_a_date_writes_exactly_the_items_computed_from_the_readings(
    pipeline: Pipeline,
) -> None:
    pipeline.clear_table()
    arn = pipeline.start(SPEC.daily_rollup, json.dumps({"date": "2024-01-20"}))
    described = pipeline.wait(arn)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    output = json.loads(described["output"])
    expected = expected_items(pipeline.lake, [dt.date(2024, 1, 20)])
    for granularity, length in (
        ("hour", len("2024-01-20T00")),
        ("day", len("2024-01-20")),
        ("month", len("2024-01")),
    ):
        rows = sum(1 for _, period in expected if len(period.split("#")[1]) == length)
        assert (output[granularity]["rows"], output[granularity]["items_written"]) == (rows, rows)
        assert output[granularity]["rows_source"] == "athena"
        # The result files (WriterConfig COMPACT) hold each succeeded batch's output alone: its
        # counts, not its rows over again.
        entries = map_results(pipeline, arn)[granularity]
        assert entries.get("FAILED", []) == []
        assert sum(entry["written"] for entry in entries["SUCCEEDED"]) == rows
        assert all(
            set(entry) >= {"written", "stored"} and "Input" not in entry for entry in entries["SUCCEEDED"]
        )
    assert pipeline.table() == expected


def ledger_day(pipeline: Pipeline, date: str) -> dict[str, Any]:
    item = pipeline.client("dynamodb").get_item(
        TableName=SPEC.ledger.name,
        Key={"Pipeline": {"S": "daily_rollup"}, "Key": {"S": date}},
        ConsistentRead=True,
    )["Item"]
    return {name: next(iter(value.values())) for name, value in item.items()}


def wait_for_ledger(pipeline: Pipeline, date: str, status: str, timeout: float = 60) -> dict[str, Any]:
    """The day's ledger record once it has ``status`` (ledger_sync runs on an EventBridge delivery)."""
    deadline = time.monotonic() + timeout
    while True:
        record = ledger_day(pipeline, date)
        if record["Status"] == status or time.monotonic() > deadline:
            return record
        time.sleep(0.2)


def test_a_failure_in_the_writes_reaches_the_ledger_as_incomplete_through_eventbridge(
    pipeline: Pipeline,
) -> None:
    # write_batch pointed at a ledger table that does not exist: every batch fails after the
    # state machine began writing, so only ledger_sync (on the FAILED event) can record the end.
    lam = pipeline.client("lambda")
    config = lam.get_function_configuration(FunctionName=SPEC.function_name)
    environment = config["Environment"]["Variables"]
    lam.update_function_configuration(
        FunctionName=SPEC.function_name,
        Environment={"Variables": {**environment, "LEDGER_TABLE_NAME": "no-such-ledger"}},
    )
    try:
        arn = pipeline.start(SPEC.daily_rollup, json.dumps({"date": "2024-01-21"}))
        described = pipeline.wait(arn)
    finally:
        lam.update_function_configuration(
            FunctionName=SPEC.function_name, Environment={"Variables": environment}
        )
    assert described["status"] == "FAILED"
    record = wait_for_ledger(pipeline, "2024-01-21", "INCOMPLETE")
    assert (record["Status"], record["Execution"], record["WritesStarted"]) == ("INCOMPLETE", arn, True)
    assert record["Error"] == described["error"]
    # A failed batch's entry stays whole (the metadata and the batch), as AWS writes it under COMPACT.
    failed = [
        entry for by_status in map_results(pipeline, arn).values() for entry in by_status.get("FAILED", [])
    ]
    assert failed and all(
        entry["Status"] == "FAILED" and "Items" in json.loads(entry["Input"]) for entry in failed
    )
    # Run again: the day is claimed, written whole and recorded SUCCEEDED, two attempts in all.
    again = pipeline.wait(pipeline.start(SPEC.daily_rollup, json.dumps({"date": "2024-01-21"})))
    assert again["status"] == "SUCCEEDED", again.get("cause")
    record = ledger_day(pipeline, "2024-01-21")
    assert (record["Status"], record["Attempts"]) == ("SUCCEEDED", "2")


def test_a_day_without_readings_ends_no_data_and_the_ledger_says_so(pipeline: Pipeline) -> None:
    described = pipeline.wait(pipeline.start(SPEC.daily_rollup, json.dumps({"date": "2099-01-01"})))
    assert (described["status"], described["error"]) == ("FAILED", "MeterPipe.NoReadings")
    assert described["cause"] == (
        "no readings for 2099-01-01: no objects under "
        "s3://meterpipe-lake/iot_electricity_metering/year=2099/month=01/day=01/"
    )
    record = ledger_day(pipeline, "2099-01-01")
    assert (record["Status"], record["Error"], record["Readings"]) == ("NO_DATA", "MeterPipe.NoReadings", "0")
