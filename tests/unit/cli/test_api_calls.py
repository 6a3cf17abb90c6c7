"""What the read commands cost on AWS: every API call they make, counted with botocore's event
hooks, against a month with 1,000 daily_rollup executions (moto's DynamoDB holding their ledger
records, the fake Step Functions holding the executions). Reading executions one by one would be
1,010 calls (10 ListExecutions pages and 1,000 DescribeExecution); the ledger makes it a handful."""

from __future__ import annotations

import collections
import datetime as dt
import json
from typing import Any

import pytest

from handlers import ledger_format as lf
from meterpipe.ops.pipeline import Pipeline
from tests.unit.cli.conftest import Invoke
from tests.unit.ops.fake_sfn import DAILY_ROLLUP_ARN, FakeStepFunctions, failed, succeeded
from tests.unit.ops.ledger_records import LedgerWriter

EXECUTIONS = 1000
RUNNING_DAYS = (30, 31)  # still running: each costs the one DescribeExecution the repair makes


@pytest.fixture
def month_of_executions(pipeline: Pipeline, fake_sfn: FakeStepFunctions) -> collections.Counter[str]:
    """1,000 executions over January 2024 (32 or 33 attempts a day, the last succeeded except on
    the running days) with their day, attempt and execution records; returns the call counter,
    hooked on every client of the pipeline."""
    assert fake_sfn.ledger is not None
    ledger: LedgerWriter = fake_sfn.ledger
    fake_sfn.ledger = None  # the records are written below, in batches
    items: list[dict[str, Any]] = []
    attempts: dict[dt.date, int] = collections.Counter()
    for n in range(EXECUTIONS):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=n % 31)
        attempts[day] += 1
        name = f"{day}_run_{n:04d}"
        last = n >= EXECUTIONS - 31
        outcome = succeeded() if last else failed()
        execution = fake_sfn.add_execution(DAILY_ROLLUP_ARN, name, {"date": day.isoformat()}, outcome)
        status = "SUCCEEDED" if last else "INCOMPLETE"
        if last and day.day in RUNNING_DAYS:
            status = "RUNNING"
            execution.status, execution.polls_left = "RUNNING", 10**6
        values = {lf.STATUS: {"S": status}, lf.EXECUTION: {"S": execution.arn}}
        items.append({**lf.attempt_key(day, attempts[day]), **values, lf.ATTEMPT: {"N": str(attempts[day])}})
        items.append({**lf.execution_key(execution.arn), lf.DATE: {"S": day.isoformat()}})
        if last:
            items.append({**lf.day_key(day), **values, lf.ATTEMPTS: {"N": str(attempts[day])}})
    ddb = pipeline.client("dynamodb")
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        ddb.batch_write_item(RequestItems={ledger.table: batch})
    calls: collections.Counter[str] = collections.Counter()

    def count(model: Any, **_: Any) -> None:
        calls[f"{model.service_model.service_name}:{model.name}"] += 1

    for client in pipeline.clients._cache.values():
        client.meta.events.register("before-call.*.*", count)
    return calls


MONTH = ("--from", "2024-01-01", "--to", "2024-01-31")


@pytest.mark.parametrize(
    ("command", "queries", "listings"),
    [
        (["calendar", "--month", "2024-01"], 1, 1),  # and the month's lake objects, for stale days
        (["history", *MONTH], 2, 0),  # day and attempt records
        (["backfill", *MONTH, "--only-missing", "--dry-run"], 1, 0),
        (["backfill", *MONTH, "--stale", "--dry-run"], 1, 1),
        (["redrive", "--failed", *MONTH], 1, 0),
    ],
)
def test_reading_a_month_of_1000_executions_takes_a_handful_of_calls(
    month_of_executions: collections.Counter[str],
    invoke: Invoke,
    command: list[str],
    queries: int,
    listings: int,
) -> None:
    result = invoke(*command, "--json")
    assert result.exit_code == 0, result.output
    assert dict(month_of_executions) == {
        "dynamodb:Query": queries,
        **({"s3:ListObjectsV2": listings} if listings else {}),
        # The one repair the ledger allows: a RUNNING record's own execution, to see if it ended.
        "stepfunctions:DescribeExecution": len(RUNNING_DAYS),
    }


def test_the_month_read_is_the_ledgers_every_day_in_it(
    month_of_executions: collections.Counter[str], invoke: Invoke
) -> None:
    days = json.loads(invoke("history", "--from", "2024-01-01", "--to", "2024-01-31", "--json").stdout)
    assert len(days) == 31
    assert {d["status"] for d in days} == {"SUCCEEDED", "RUNNING"}
    assert {d["attempts"] for d in days} == {32, 33}  # 1,000 attempts over 31 days
