"""The project's two state machines, rendered as for a deployment, validated by localcloud's
interpreter and run in-process: Athena, Lambda (the real write_batch against moto's DynamoDB) and
Step Functions' DescribeMapRun are fakes at the boto3-client boundary, S3 is moto's."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws
from rollup_fakes import HostSfn, Reading, RollupAthena, WriteBatchLambda

from handlers import rollup_writer
from handlers import write_batch as write_batch_module
from localcloud.asl import ExecutionHost, ExecutionRecord, VirtualClock, validate_definition
from meterpipe.definitions import DeploymentValues, render_state_machines
from meterpipe.tables import ROLLUPS

REGION, ACCOUNT = "us-east-1", "123456789012"
DAILY_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:meterpipe-daily-rollup"
BACKFILL_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:meterpipe-backfill"
DAILY_EXECUTIONS = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:meterpipe-daily-rollup:"
RESULTS = "meterpipe-results"
TABLE = "ElectricityMeteredByPeriod-test"
START = dt.datetime(2024, 1, 6, 3, 30, tzinfo=dt.UTC)

VALUES = DeploymentValues(
    write_batch_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:meterpipe-write-batch",
    daily_rollup_state_machine_arn=DAILY_ARN,
    results_bucket=RESULTS,
    athena_workgroup="meterpipe",
    max_items_per_batch=2,  # several batches, so several child workflows per Map Run
    max_concurrency=2,
)
DEFINITIONS = render_state_machines(VALUES)

# Readings of two customers on 2024-01-05 and one on 2024-01-04 (same month).
D5, D4 = dt.date(2024, 1, 5), dt.date(2024, 1, 4)
READINGS = [
    Reading(12, 51246501, D5, 18, "0.5"),
    Reading(12, 51246501, D5, 18, "0.755"),
    Reading(12, 51246501, D5, 19, "1.0"),
    Reading(13, 51246502, D5, 18, "2.25"),
    Reading(13, 51246502, D5, 23, "0.125"),
    Reading(12, 51246501, D4, 7, "3.0"),
]


def test_both_rendered_definitions_validate_without_problems() -> None:
    for name, text in DEFINITIONS.items():
        assert validate_definition(text) == [], name


class Pipeline:
    """A host on the virtual clock with the project's services faked at the client boundary."""

    def __init__(self, **athena_options: Any) -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self.s3.create_bucket(Bucket=RESULTS)
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.dynamodb.create_table(**ROLLUPS.create_table_params(TABLE))
        self.athena = RollupAthena(self.s3, RESULTS, READINGS, **athena_options)
        self.lambda_client = WriteBatchLambda(self.dynamodb, TABLE)
        self.host = ExecutionHost(
            clock=VirtualClock(START),
            client_factory=self.client,
            machine_resolver=self.resolve,
            region=REGION,
            account=ACCOUNT,
        )
        self.sfn = HostSfn(self.host)
        self.daily = self.host.parse(DEFINITIONS["daily_rollup"])

    def client(self, service: str) -> Any:
        clients = {
            "s3": self.s3,
            "dynamodb": self.dynamodb,
            "athena": self.athena,
            "lambda": self.lambda_client,
            "stepfunctions": self.sfn,
        }
        return clients[service]

    def resolve(self, arn: str) -> Any:
        if arn != DAILY_ARN:
            raise LookupError(arn)
        return self.daily

    def run(self, name: str, input: Any, execution: str = "run-1") -> ExecutionRecord:
        arn = DAILY_ARN if name == "daily_rollup" else BACKFILL_ARN
        return self.host.start_execution(
            DEFINITIONS[name], state_machine_arn=arn, input=input, name=execution, sync=True
        )

    def amount(self, customer: int, sort_key: str) -> Decimal | None:
        item = self.dynamodb.get_item(
            TableName=TABLE,
            Key={"CustomerID": {"N": str(customer)}, "SensorID-Period": {"S": sort_key}},
        ).get("Item")
        return Decimal(item["kWh-Amount"]["N"]) if item else None


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    with mock_aws():
        rollup_writer.default_client.cache_clear()
        write_batch_module.metrics.clear_metrics()
        yield Pipeline()
        write_batch_module.metrics.clear_metrics()


def test_daily_rollup_writes_every_granularity_and_reports_what_it_did(pipeline: Pipeline) -> None:
    record = pipeline.run("daily_rollup", {"date": "2024-01-05"})
    assert record.status == "SUCCEEDED", (record.error, record.cause)
    out = record.output
    assert set(out) == {"date", "hour", "day", "month"}
    assert out["date"] == "2024-01-05"
    # Rows per granularity, counted by hand from READINGS: hours (12: 18h, 19h; 13: 18h, 23h),
    # days (12, 13 on the 5th), months (12, 13 in January).
    for key, granularity, rows in (("hour", "hour", 4), ("day", "day", 2), ("month", "month", 2)):
        summary = out[key]
        assert summary["granularity"] == granularity
        assert summary["rows"] == rows
        assert summary["items_written"] == rows
        assert summary["rows_source"] == "athena"
        assert summary["bytes_scanned"] == 4096
        assert summary["query_execution_id"].endswith("-" + granularity)
        run = pipeline.host.describe_map_run(summary["map_run_arn"])
        assert run.item_counts["succeeded"] == rows
        assert run.label == {"hour": "hourly", "day": "daily", "month": "monthly"}[key]
    # Amounts, summed by hand: 0.5 + 0.755 = 1.255 -> 1.26 (half up); the month adds the 4th's 3.0.
    assert pipeline.amount(12, "51246501#2024-01-05T18") == Decimal("1.26")
    assert pipeline.amount(12, "51246501#2024-01-05T19") == Decimal("1")
    assert pipeline.amount(13, "51246502#2024-01-05T23") == Decimal("0.13")
    assert pipeline.amount(12, "51246501#2024-01-05") == Decimal("2.26")
    assert pipeline.amount(13, "51246502#2024-01-05") == Decimal("2.38")
    assert pipeline.amount(12, "51246501#2024-01") == Decimal("5.26")
    # The queries got the date as quoted SQL literals.
    params = {q["granularity"]: q["ExecutionParameters"] for q in pipeline.athena.started}
    assert params == {
        "hour": ["'2024'", "'01'", "'05'"],
        "day": ["'2024'", "'01'", "'05'"],
        "month": ["'2024'", "'01'"],
    }
    # Batches of at most two rows, each with the BatchInput the handler needs.
    hour_events = [e for e in pipeline.lambda_client.events if e["BatchInput"]["granularity"] == "hour"]
    assert sorted(len(e["Items"]) for e in hour_events) == [2, 2]
    assert hour_events[0]["BatchInput"] == {
        "granularity": "hour",
        "date": "2024-01-05",
        "execution": "run-1",
    }
    # Each Distributed Map wrote its results under the configured prefix.
    hour_run = pipeline.host.describe_map_run(out["hour"]["map_run_arn"])
    manifest_key = f"map-results/daily_rollup/hour/{hour_run.uuid}/manifest.json"
    manifest = json.loads(pipeline.s3.get_object(Bucket=RESULTS, Key=manifest_key)["Body"].read())
    assert manifest["MapRunArn"] == hour_run.map_run_arn


def test_daily_rollup_from_a_scheduled_time_rolls_up_the_previous_day(pipeline: Pipeline) -> None:
    record = pipeline.run("daily_rollup", {"scheduled_time": "2024-01-06T03:30:00Z"})
    assert record.status == "SUCCEEDED", (record.error, record.cause)
    assert record.output["date"] == "2024-01-05"


def test_daily_rollup_fails_reconcile_when_the_query_returned_more_rows_than_were_written() -> None:
    with mock_aws():
        rollup_writer.default_client.cache_clear()
        pipeline = Pipeline(extra_statistics_rows=1)
        record = pipeline.run("daily_rollup", {"date": "2024-01-05"})
    assert record.status == "FAILED"
    assert record.error == "MeterPipe.ReconcileFailed"
    assert record.cause == (
        "hour: the query returned 5 rows but 4 items were written; "
        "day: the query returned 3 rows but 2 items were written; "
        "month: the query returned 3 rows but 2 items were written (date 2024-01-05)"
    )


def test_daily_rollup_falls_back_to_the_result_file_when_athena_never_publishes_statistics() -> None:
    with mock_aws():
        rollup_writer.default_client.cache_clear()
        pipeline = Pipeline(statistics_after=None)
        record = pipeline.run("daily_rollup", {"date": "2024-01-05"})
    assert record.status == "SUCCEEDED", (record.error, record.cause)
    assert record.output["hour"]["rows_source"] == "result_file"
    assert record.output["hour"]["rows"] == 4
    # Six polls, ten virtual seconds apart, before giving up.
    assert (record.stop_date or START) - START >= dt.timedelta(seconds=50)


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"date": "2023-02-30"}, "not a real calendar date"),
        ({"date": "2024-01-05", "extra": 1}, "unexpected input field(s): extra"),
        ({}, "neither date nor scheduled_time"),
    ],
)
def test_daily_rollup_rejects_invalid_input(pipeline: Pipeline, payload: Any, needle: str) -> None:
    record = pipeline.run("daily_rollup", payload)
    assert record.status == "FAILED"
    assert record.error == "MeterPipe.InvalidInput"
    assert needle in (record.cause or "")
    assert pipeline.athena.started == []


def test_backfill_runs_each_day_as_its_own_daily_rollup(pipeline: Pipeline) -> None:
    record = pipeline.run("backfill", {"from": "2024-01-04", "to": "2024-01-05"}, execution="bf-1")
    assert record.status == "SUCCEEDED", (record.error, record.cause)
    assert record.output["from"] == "2024-01-04"
    assert record.output["dates"] == ["2024-01-04", "2024-01-05"]
    executions = {e["date"]: e["executionArn"] for e in record.output["executions"]}
    assert executions == {
        "2024-01-04": DAILY_EXECUTIONS + "2024-01-04_bf-1_r0",
        "2024-01-05": DAILY_EXECUTIONS + "2024-01-05_bf-1_r0",
    }
    for arn in executions.values():
        assert pipeline.host.describe(arn).status == "SUCCEEDED"
    assert pipeline.amount(12, "51246501#2024-01-04") == Decimal("3")


def test_backfill_with_a_failing_day_fails_naming_it() -> None:
    with mock_aws():
        rollup_writer.default_client.cache_clear()
        pipeline = Pipeline(failing_day="2024-01-04")
        record = pipeline.run("backfill", {"from": "2024-01-04", "to": "2024-01-05"}, execution="bf-2")
        failed_day = pipeline.host.describe(DAILY_EXECUTIONS + "2024-01-04_bf-2_r0")
    assert record.status == "FAILED"
    assert record.error == "MeterPipe.DaysFailed"
    assert (record.cause or "").startswith("1 of 2 days failed: 2024-01-04.")
    assert failed_day.status == "FAILED"
    assert failed_day.error == "States.TaskFailed"  # its Athena query failed
    assert "HIVE_CANNOT_OPEN_SPLIT" in (failed_day.cause or "")
