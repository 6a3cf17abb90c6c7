"""daily_rollup run offline on the deployed project: the states each test case names answer from
MockConfigFile.json, every other state runs against localcloud's own S3, DynamoDB (the rollup table
and the ledger), Athena and Lambda over a few generated days."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from project_mocks_support import DAILY_ROLLUP_ARN, Run, mocked_responses

from meterpipe.aws import Clients
from meterpipe.local.deploy import LocalDeployment
from meterpipe.tables import readings_day_prefix

SPEC = LocalDeployment()


def _ledger(pipeline: Clients, date: str) -> dict[str, Any]:
    item = pipeline.client("dynamodb").get_item(
        TableName=SPEC.ledger.name,
        Key={"Pipeline": {"S": "daily_rollup"}, "Key": {"S": date}},
        ConsistentRead=True,
    )
    return {name: next(iter(value.values())) for name, value in item.get("Item", {}).items()}


def _items_of(pipeline: Clients, date: str) -> list[dict[str, Any]]:
    """The rollup table's hour and day items of ``date``."""
    items: list[dict[str, Any]] = []
    for page in pipeline.client("dynamodb").get_paginator("scan").paginate(TableName=SPEC.rollups.name):
        items += [i for i in page["Items"] if i["SensorID-Period"]["S"].split("#")[1].startswith(date)]
    return items


def _records(result: dict[str, Any]) -> list[dict[str, str]]:
    """The validation rows a mocked GetQueryResults answer holds, as name -> text."""
    header, *rows = result["ResultSet"]["Rows"]
    names = [cell["VarCharValue"] for cell in header["Data"]]
    return [{n: c["VarCharValue"] for n, c in zip(names, row["Data"], strict=True) if c} for row in rows]


def test_bad_readings_end_the_day_before_any_write_naming_the_lines(
    run_deployed: Run, pipeline: Clients
) -> None:
    described = run_deployed(DAILY_ROLLUP_ARN, "BadReadings", {"date": "2024-01-02"})
    assert (described["status"], described["error"]) == ("FAILED", "MeterPipe.BadReadings")
    records = _records(mocked_responses()["ThreeBadReadings"]["0"]["Return"])
    bad = [r for r in records if r["kind"] == "bad_reading"]
    listed = "\n".join(f'{r["object_key"]}: "{r["line"]}": {r["problem"]} ({r["rule"]})' for r in bad)
    assert described["cause"] == (
        "3 bad reading(s) of 72 on 2024-01-02, more than the 0 tolerated (maxBadReadings); nothing "
        f"written. The first 3:\n{listed}"
    )
    ledger = _ledger(pipeline, "2024-01-02")
    assert (ledger["Status"], ledger["Error"], ledger["BadReadings"], ledger["Readings"]) == (
        "FAILED",
        "MeterPipe.BadReadings",
        "3",
        "72",
    )
    assert _items_of(pipeline, "2024-01-02") == []


def test_a_day_without_reading_lines_ends_no_readings(run_deployed: Run, pipeline: Clients) -> None:
    described = run_deployed(DAILY_ROLLUP_ARN, "NoReadings", {"date": "2024-01-03"})
    assert (described["status"], described["error"]) == ("FAILED", "MeterPipe.NoReadings")
    # The objects and bytes come from the real listing of the day's prefix in localcloud's S3.
    prefix = readings_day_prefix(dt.date(2024, 1, 3))
    listed = pipeline.client("s3").list_objects_v2(Bucket=SPEC.lake_bucket, Prefix=prefix)["Contents"]
    assert described["cause"] == (
        f"no readings for 2024-01-03: the {len(listed)} object(s) under s3://{SPEC.lake_bucket}/{prefix} "
        f"hold no reading lines ({sum(o['Size'] for o in listed)} bytes: headers and blank lines only)"
    )
    assert _ledger(pipeline, "2024-01-03")["Status"] == "NO_DATA"
    assert _items_of(pipeline, "2024-01-03") == []


def test_a_failed_athena_query_fails_the_day_with_athenas_reason(
    run_deployed: Run, pipeline: Clients
) -> None:
    described = run_deployed(DAILY_ROLLUP_ARN, "AthenaFails", {"date": "2024-01-04"})
    assert (described["status"], described["error"]) == ("FAILED", "States.TaskFailed")
    failed = json.loads(mocked_responses()["ValidationQueryFailed"]["0"]["Throw"]["Cause"])
    assert json.loads(described["cause"]) == failed
    assert "HIVE_CURSOR_ERROR" in failed["QueryExecution"]["Status"]["StateChangeReason"]
    assert _items_of(pipeline, "2024-01-04") == []


def test_a_throttled_ledger_read_is_retried_and_the_day_completes(
    run_deployed: Run, pipeline: Clients
) -> None:
    described = run_deployed(DAILY_ROLLUP_ARN, "ThrottledLedgerRead", {"date": "2024-01-05"})
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    reads = [
        event["type"]
        for event in described["history"]
        if event["type"] in ("TaskFailed", "TaskSucceeded")
        and event.get("taskFailedEventDetails", event.get("taskSucceededEventDetails", {})).get("resource")
        == "getItem"
    ]
    assert reads[:2] == ["TaskFailed", "TaskSucceeded"]
    failures = [
        e["taskFailedEventDetails"]["error"] for e in described["history"] if e["type"] == "TaskFailed"
    ]
    assert failures == ["DynamoDB.ThrottlingException"]
    assert _ledger(pipeline, "2024-01-05")["Status"] == "SUCCEEDED"
    # 3 customers' sensors, 24 hours each plus the day: written by the real write_batch.
    items = _items_of(pipeline, "2024-01-05")
    assert items and all(int(i["ReadingCount"]["N"]) > 0 for i in items)


def test_a_refused_batch_fails_the_daily_map_run(run_deployed: Run, pipeline: Clients) -> None:
    described = run_deployed(DAILY_ROLLUP_ARN, "DailyMapRunFails", {"date": "2024-01-06"})
    assert (described["status"], described["error"]) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    assert described["cause"] == "The specified tolerated failure threshold was exceeded"
    daily = next(
        e["mapRunStartedEventDetails"]["mapRunArn"]
        for e in described["history"]
        if e["type"] == "MapRunStarted" and "/daily:" in e["mapRunStartedEventDetails"]["mapRunArn"]
    )
    sfn = pipeline.client("stepfunctions")
    map_run = sfn.describe_map_run(mapRunArn=daily)
    assert map_run["status"] == "FAILED"
    assert map_run["executionCounts"]["failed"] == map_run["executionCounts"]["total"] > 0
    # Every daily batch was answered by the mock and none reached write_batch: no day item exists
    # (the hourly Map ran against the real write_batch and may have written hour items).
    day_items = [
        i for i in _items_of(pipeline, "2024-01-06") if i["SensorID-Period"]["S"].endswith("#2024-01-06")
    ]
    assert day_items == []
