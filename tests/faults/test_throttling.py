"""DynamoDB throttling and UnprocessedItems for a while, and Lambda throttled once: everything is
still written, and the retries show in write_batch's metrics and in the batch's history."""

from __future__ import annotations

import datetime as dt
import json
import time

from tests.faults.rehearsal import SPEC, Rehearsal

DAY = dt.date(2024, 1, 12)


def _metric_sum(rehearsal: Rehearsal, name: str) -> float:
    """The sum of a metric over write_batch's EMF lines (Powertools' metrics, in its log group)."""
    logs = rehearsal.client("logs")
    total = 0.0
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName="/aws/lambda/meterpipe-write-batch")
    if not logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/meterpipe-write-batch")["logGroups"]:
        return total
    for page in pages:
        for event in page["events"]:
            try:
                record = json.loads(event["message"])
            except ValueError:
                continue
            if isinstance(record, dict) and "_aws" in record and name in record:
                values = record[name]
                total += sum(values) if isinstance(values, list) else values
    return total


def test_throttled_and_unprocessed_writes_are_retried_until_every_item_is_written(
    rehearsal: Rehearsal,
) -> None:
    retries_before = _metric_sum(rehearsal, "UnprocessedItemRetries")
    held = rehearsal.faults(
        "add", "dynamodb", "BatchWriteItem", "--unprocessed", "0.5", "--count", "12"
    ).stdout.strip()
    throttled = rehearsal.faults(
        "add",
        "dynamodb",
        "BatchWriteItem",
        "--error",
        "ProvisionedThroughputExceededException",
        "--count",
        "6",
    ).stdout.strip()
    busy = rehearsal.faults(
        "add", "lambda", "Invoke", "--error", "TooManyRequestsException", "--count", "1"
    ).stdout.strip()

    result = rehearsal.cli("run", "--date", str(DAY), "--wait")
    assert result.exit_code == 0, result.output
    hits = rehearsal.fault_hits()
    assert hits == {held: 12, throttled: 6, busy: 1}

    # Metrics: write_batch counted the items it sent again (UnprocessedItems handed back, and whole
    # calls refused once botocore's own 3 attempts were spent).
    deadline = time.monotonic() + 30  # Lambda's log lines reach CloudWatch Logs in the background
    while (
        _metric_sum(rehearsal, "UnprocessedItemRetries") - retries_before < 12 and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert _metric_sum(rehearsal, "UnprocessedItemRetries") - retries_before >= 12
    # History: the batch Lambda throttled shows the failed attempt, then the Retry's success.
    sfn = rehearsal.client("stepfunctions")
    latest = rehearsal.latest(SPEC.daily_rollup)
    events = sfn.get_execution_history(executionArn=latest, maxResults=1000)["events"]
    map_runs = [e["mapRunStartedEventDetails"]["mapRunArn"] for e in events if e["type"] == "MapRunStarted"]
    task_events = [
        (e["type"], e.get("taskFailedEventDetails", {}).get("error"))
        for map_run in map_runs
        for child in sfn.list_executions(mapRunArn=map_run)["executions"]
        for e in sfn.get_execution_history(executionArn=child["executionArn"])["events"]
        if e["type"] in ("TaskFailed", "TaskSucceeded")
    ]
    assert task_events.count(("TaskFailed", "Lambda.TooManyRequestsException")) == 1
    assert task_events.count(("TaskSucceeded", None)) == len(map_runs)
    assert rehearsal.table() == rehearsal.expected([DAY])
    assert (rehearsal.ledger_day(DAY)["Status"], rehearsal.ledger_day(DAY)["Attempts"]) == ("SUCCEEDED", "1")
