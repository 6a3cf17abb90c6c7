"""The project's two state machines, rendered as for a deployment, validated by localcloud's
interpreter and run in-process on a virtual clock: Athena is localcloud's engine running the real
SQL over moto's S3, Lambda the real write_batch against moto's DynamoDB (rollups and ledger), and
Step Functions' DescribeMapRun / DescribeExecution the host's own. Expected amounts are Decimal
sums computed here."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws
from rollup_fakes import READINGS_HEADER, EngineAthena, HostSfn, Reading, Serialised, WriteBatchLambda

from handlers import ledger_format as ledger
from handlers import rollup_writer
from handlers import write_batch as write_batch_module
from handlers.errors import TimeBudgetExhaustedError
from localcloud.asl import ExecutionHost, ExecutionRecord, VirtualClock, validate_definition
from meterpipe.definitions import DeploymentValues, render_state_machines
from meterpipe.ops.fingerprint import day_fingerprint
from meterpipe.tables import LEDGER, ROLLUPS, readings_day_prefix

REGION, ACCOUNT = "us-east-1", "123456789012"
DAILY_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:meterpipe-daily-rollup"
BACKFILL_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:meterpipe-backfill"
DAILY_EXECUTIONS = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:meterpipe-daily-rollup:"
LAKE, RESULTS = "meterpipe-lake", "meterpipe-results"
TABLE = "ElectricityMeteredByPeriod-test"
LEDGER_TABLE = "MeterPipeLedger-test"
START = dt.datetime(2024, 1, 6, 3, 30, tzinfo=dt.UTC)
CENT = Decimal("0.01")


def definitions(**settings: Any) -> dict[str, str]:
    return render_state_machines(
        DeploymentValues(
            write_batch_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:meterpipe-write-batch",
            daily_rollup_state_machine_arn=DAILY_ARN,
            results_bucket=RESULTS,
            lake_bucket=LAKE,
            ledger_table=LEDGER_TABLE,
            athena_workgroup="meterpipe",
            max_items_per_batch=2,  # several batches, so several child workflows per Map Run
            max_concurrency=2,
            **settings,
        )
    )


DEFINITIONS = definitions()

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
    """A host on the virtual clock with the project's services at the client boundary."""

    def __init__(
        self, readings: list[Reading] = READINGS, texts: dict[str, str] | None = None, **athena: Any
    ):
        self.s3 = boto3.client("s3", region_name=REGION)
        for bucket in (LAKE, RESULTS):
            self.s3.create_bucket(Bucket=bucket)
        self.dynamodb = Serialised(boto3.client("dynamodb", region_name=REGION))
        self.dynamodb.create_table(**ROLLUPS.create_table_params(TABLE))
        self.dynamodb.create_table(**LEDGER.create_table_params(LEDGER_TABLE))
        self.clock = VirtualClock(START)
        self.put_lake(readings, texts)
        self.athena = EngineAthena(self.s3, LAKE, RESULTS, now=self.clock.now, **athena)
        self.lambda_client = WriteBatchLambda(self.dynamodb, TABLE, LEDGER_TABLE)
        self.host = ExecutionHost(
            clock=self.clock,
            client_factory=self.client,
            machine_resolver=self.resolve,
            region=REGION,
            account=ACCOUNT,
        )
        self.sfn = HostSfn(self.host)
        self.definitions = DEFINITIONS
        self.daily = self.host.parse(self.definitions["daily_rollup"])

    def put_lake(self, readings: list[Reading], texts: dict[str, str] | None = None) -> None:
        """One readings file per day, the customers file; ``texts`` adds files by key."""
        owners = sorted({(r.customer, r.sensor) for r in readings})
        self.s3.put_object(
            Bucket=LAKE,
            Key="customer_meter_sensor/customers.csv",
            Body="CustomerID,SensorID,SensorGroup\n" + "".join(f"{c},{s},residential\n" for c, s in owners),
        )
        by_day: dict[dt.date, list[str]] = defaultdict(list)
        for reading in readings:
            by_day[reading.day].append(reading.line())
        for day, lines in by_day.items():
            body = READINGS_HEADER + "".join(line + "\n" for line in lines)
            self.s3.put_object(Bucket=LAKE, Key=readings_day_prefix(day) + "readings.csv", Body=body)
        for key, text in (texts or {}).items():
            self.s3.put_object(Bucket=LAKE, Key=key, Body=text)

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

    def run(self, name: str, input: Any, execution: str = "run-1", *, sync: bool = True) -> ExecutionRecord:
        arn = DAILY_ARN if name == "daily_rollup" else BACKFILL_ARN
        return self.host.start_execution(
            self.definitions[name], state_machine_arn=arn, input=input, name=execution, sync=sync
        )

    def amount(self, customer: int, sort_key: str) -> Decimal | None:
        item = self.dynamodb.get_item(
            TableName=TABLE,
            Key={"CustomerID": {"N": str(customer)}, "SensorID-Period": {"S": sort_key}},
        ).get("Item")
        return Decimal(item["kWh-Amount"]["N"]) if item else None

    def table(self) -> dict[tuple[int, str], tuple[Decimal, int]]:
        items = self.dynamodb.scan(TableName=TABLE)["Items"]
        return {
            (int(i["CustomerID"]["N"]), i["SensorID-Period"]["S"]): (
                Decimal(i["kWh-Amount"]["N"]),
                int(i["ReadingCount"]["N"]),
            )
            for i in items
        }

    def record(self, pipeline: str, key: str) -> dict[str, Any]:
        item = self.dynamodb.get_item(
            TableName=LEDGER_TABLE, Key={"Pipeline": {"S": pipeline}, "Key": {"S": key}}
        ).get("Item", {})
        return {name: _plain(value) for name, value in item.items()}

    def day(self, date: str) -> dict[str, Any]:
        return self.record(ledger.DAY_PIPELINE, date)


def _plain(value: dict[str, Any]) -> Any:
    ((kind, raw),) = value.items()
    return int(raw) if kind == "N" else raw


def expected(readings: list[Reading], days: list[dt.date]) -> dict[tuple[int, str], tuple[Decimal, int]]:
    """Hour and day items of ``days``, month items over every reading of their months."""
    sums: dict[tuple[int, str], list[Decimal]] = defaultdict(list)
    months = {(d.year, d.month) for d in days}
    for r in readings:
        if (r.day.year, r.day.month) in months:
            sums[(r.customer, f"{r.sensor}#{r.day:%Y-%m}")].append(Decimal(r.kwh))
        if r.day in days:
            sums[(r.customer, f"{r.sensor}#{r.day}T{r.hour:02d}")].append(Decimal(r.kwh))
            sums[(r.customer, f"{r.sensor}#{r.day}")].append(Decimal(r.kwh))
    return {k: (sum(v, Decimal(0)).quantize(CENT, ROUND_HALF_UP), len(v)) for k, v in sums.items()}


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        rollup_writer.default_client.cache_clear()
        write_batch_module.metrics.clear_metrics()
        yield
        write_batch_module.metrics.clear_metrics()


@pytest.fixture
def pipeline(aws: None) -> Pipeline:
    return Pipeline()


def test_daily_rollup_writes_every_granularity_and_reports_what_it_did(pipeline: Pipeline) -> None:
    record = pipeline.run("daily_rollup", {"date": "2024-01-05"})
    assert record.status == "SUCCEEDED", (record.error, record.cause)
    out = record.output
    assert out["date"] == "2024-01-05"
    # Counted by hand from READINGS: five readings on the 5th, from both known sensors.
    assert {k: out[k] for k in ("readings", "bad_readings_skipped", "month_bad_readings_excluded")} == {
        "readings": 5,
        "bad_readings_skipped": 0,
        "month_bad_readings_excluded": 0,
    }
    assert (out["sensors_reporting"], out["sensors_known"], out["readings_expected"]) == (2, 2, 48)
    assert out["fingerprint"] == day_fingerprint(pipeline.s3, LAKE, D5).value
    # Rows per granularity: hours (12: 18h, 19h; 13: 18h, 23h), days (12, 13), months (12, 13).
    for key, rows in (("hour", 4), ("day", 2), ("month", 2)):
        summary = out[key]
        assert (summary["granularity"], summary["rows"], summary["items_written"]) == (key, rows, rows)
        assert summary["rows_source"] == "athena"
        run = pipeline.host.describe_map_run(summary["map_run_arn"])
        assert run.item_counts["succeeded"] == rows
    # Amounts, summed by hand: 0.5 + 0.755 = 1.255 -> 1.26 (half up); the month adds the 4th's 3.0.
    assert pipeline.amount(12, "51246501#2024-01-05T18") == Decimal("1.26")
    assert pipeline.amount(13, "51246502#2024-01-05T23") == Decimal("0.13")
    assert pipeline.amount(12, "51246501#2024-01") == Decimal("5.26")
    assert pipeline.table() == expected(READINGS, [D5])
    # The queries got the date as quoted SQL literals.
    params = [q["ExecutionParameters"] for q in pipeline.athena.started]
    assert params == [["'2024'", "'01'", "'05'"]] * 3 + [["'2024'", "'01'"]]
    # Batches of at most two rows, each with what write_batch needs to check and record.
    hour_events = [e for e in pipeline.lambda_client.events if e["BatchInput"]["granularity"] == "hour"]
    assert sorted(len(e["Items"]) for e in hour_events) == [2, 2]
    hour_query = pipeline.athena.started[1]
    assert hour_events[0]["BatchInput"] == {
        "granularity": "hour",
        "date": "2024-01-05",
        "execution": "run-1",
        "execution_arn": DAILY_EXECUTIONS + "run-1",
        "computed_at": "2024-01-06T03:30:00.000Z",
        "query_execution_id": hour_query["id"],
    }


def test_the_ledger_records_a_successful_day_its_attempt_and_its_execution(pipeline: Pipeline) -> None:
    record = pipeline.run(
        "daily_rollup", {"date": "2024-01-05"}, execution="2024-01-05_run_20240106T033000_ab12"
    )
    assert record.status == "SUCCEEDED", (record.error, record.cause)
    day = pipeline.day("2024-01-05")
    fingerprint = day_fingerprint(pipeline.s3, LAKE, D5)
    assert {k: v for k, v in day.items() if k not in ("StartedAt", "EndedAt", "UpdatedAt")} == {
        "Pipeline": "daily_rollup",
        "Key": "2024-01-05",
        "Status": "SUCCEEDED",
        "Execution": record.execution_arn,
        "Attempts": 1,
        "RedriveCount": 0,
        "WritesStarted": True,
        "MaxBadReadings": 0,
        "Readings": 5,
        "BadReadings": 0,
        "BadReadingsSkipped": 0,
        "MonthBadReadingsExcluded": 0,
        "SensorsReporting": 2,
        "SensorsKnown": 2,
        "ReadingsExpected": 48,
        "ItemsHour": 4,
        "ItemsDay": 2,
        "ItemsMonth": 2,
        "Fingerprint": fingerprint.value,
        "InputObjects": 1,
        "InputBytes": fingerprint.bytes,
    }
    assert day["StartedAt"] == "2024-01-06T03:30:00.000Z"
    assert day["StartedAt"] <= day["EndedAt"]
    attempt = pipeline.record(ledger.ATTEMPT_PIPELINE, "2024-01-05#000001")
    assert (attempt["Status"], attempt["Attempt"], attempt["Origin"], attempt["ItemsDay"]) == (
        "SUCCEEDED",
        1,
        "run",
        2,
    )
    execution = pipeline.record(ledger.EXECUTION_PIPELINE, record.execution_arn)
    assert (execution["Date"], execution["Attempt"]) == ("2024-01-05", 1)


def test_daily_rollup_from_a_scheduled_time_rolls_up_the_previous_day(pipeline: Pipeline) -> None:
    record = pipeline.run("daily_rollup", {"scheduled_time": "2024-01-06T03:30:00Z"})
    assert record.status == "SUCCEEDED", (record.error, record.cause)
    assert record.output["date"] == "2024-01-05"
    attempt = pipeline.record(ledger.ATTEMPT_PIPELINE, "2024-01-05#000001")
    assert attempt["Origin"] == "schedule"


def test_daily_rollup_fails_reconcile_when_the_query_returned_more_rows_than_were_written(aws: None) -> None:
    pipeline = Pipeline(extra_statistics_rows=1)
    record = pipeline.run("daily_rollup", {"date": "2024-01-05"})
    assert record.status == "FAILED"
    assert record.error == "MeterPipe.ReconcileFailed"
    assert record.cause == (
        "hour: the query returned 5 rows but 4 items were written; "
        "day: the query returned 3 rows but 2 items were written; "
        "month: the query returned 3 rows but 2 items were written (date 2024-01-05)"
    )


def test_daily_rollup_falls_back_to_the_result_file_when_athena_never_publishes_statistics(aws: None) -> None:
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
        (
            {"date": "2024-01-05", "maxBadReadings": -1},
            "maxBadReadings must be a whole number of 0 or more, got -1",
        ),
        ({"date": "2024-01-05", "maxBadReadings": 1.5}, "maxBadReadings must be a whole number of 0 or more"),
        (
            {"date": "2024-01-05", "minCompletenessPercent": 101},
            "minCompletenessPercent must be a number from 0 to 100",
        ),
    ],
)
def test_daily_rollup_rejects_invalid_input(pipeline: Pipeline, payload: Any, needle: str) -> None:
    record = pipeline.run("daily_rollup", payload)
    assert record.status == "FAILED"
    assert record.error == "MeterPipe.InvalidInput"
    assert needle in (record.cause or "")
    assert pipeline.athena.started == []


NOT_DECIMAL = "is not a non-negative decimal with at most 6 decimals"
BAD_LINES = {
    readings_day_prefix(D5) + "late.csv": READINGS_HEADER
    + "51246501,240,10,60,abc,05\n51246502,240,10,60,-5.000,06\n59999999,240,10,60,0.5,07\n"
}


def test_bad_readings_fail_the_day_before_any_write_naming_each_line(aws: None) -> None:
    pipeline = Pipeline(texts=BAD_LINES)
    record = pipeline.run("daily_rollup", {"date": "2024-01-05"})
    assert record.status == "FAILED"
    assert record.error == "MeterPipe.BadReadings"
    key = readings_day_prefix(D5) + "late.csv"
    assert record.cause == (
        "3 bad reading(s) of 8 on 2024-01-05, more than the 0 tolerated (maxBadReadings); nothing written. "
        "The first 3:\n"
        f"{key}: \"51246501,240,10,60,abc,05\": kWh 'abc' {NOT_DECIMAL} (kwh)\n"
        f"{key}: \"51246502,240,10,60,-5.000,06\": kWh '-5.000' {NOT_DECIMAL} (kwh)\n"
        f'{key}: "59999999,240,10,60,0.5,07": SensorID 59999999 is not in customer_meter_sensor '
        "(unknown_sensor)"
    )
    assert pipeline.table() == {}
    assert pipeline.lambda_client.events == []
    day = pipeline.day("2024-01-05")
    assert (day["Status"], day["Error"], day["Cause"]) == ("FAILED", "MeterPipe.BadReadings", record.cause)
    assert (day["Readings"], day["BadReadings"], day["BadReadingsSkipped"], day["WritesStarted"]) == (
        8,
        3,
        0,
        False,
    )


def test_within_the_tolerance_bad_readings_are_skipped_counted_and_never_summed(aws: None) -> None:
    pipeline = Pipeline(texts=BAD_LINES)
    record = pipeline.run("daily_rollup", {"date": "2024-01-05", "maxBadReadings": 3})
    assert record.status == "SUCCEEDED", (record.error, record.cause)
    assert (record.output["readings"], record.output["bad_readings_skipped"]) == (8, 3)
    assert pipeline.table() == expected(READINGS, [D5])
    day = pipeline.day("2024-01-05")
    assert (day["Status"], day["BadReadings"], day["BadReadingsSkipped"], day["MaxBadReadings"]) == (
        "SUCCEEDED",
        3,
        3,
        3,
    )


def test_a_bad_reading_of_another_day_is_left_out_of_the_month_and_counted(aws: None) -> None:
    other = {readings_day_prefix(D4) + "late.csv": READINGS_HEADER + "51246501,240,10,60,n/a,08\n"}
    pipeline = Pipeline(texts=other)
    record = pipeline.run("daily_rollup", {"date": "2024-01-05"})
    assert record.status == "SUCCEEDED", (record.error, record.cause)
    assert record.output["month_bad_readings_excluded"] == 1
    assert pipeline.table() == expected(READINGS, [D5])


@pytest.mark.parametrize(
    ("texts", "date", "cause"),
    [
        (
            {},
            "2024-01-07",
            "no readings for 2024-01-07: no objects under s3://meterpipe-lake/iot_electricity_metering/year=2024/month=01/day=07/",
        ),
        (
            {},
            "2099-01-01",
            "no readings for 2099-01-01: no objects under s3://meterpipe-lake/iot_electricity_metering/year=2099/month=01/day=01/",
        ),
        (
            {readings_day_prefix(dt.date(2024, 1, 7)) + "empty.csv": READINGS_HEADER + "\n"},
            "2024-01-07",
            "no readings for 2024-01-07: the 1 object(s) under "
            "s3://meterpipe-lake/iot_electricity_metering/year=2024/month=01/day=07/ "
            f"hold no reading lines ({len(READINGS_HEADER) + 1} bytes: headers and blank lines only)",
        ),
    ],
)
def test_a_day_without_readings_ends_no_readings_writing_nothing(
    aws: None, texts: dict[str, str], date: str, cause: str
) -> None:
    pipeline = Pipeline(texts=texts)
    record = pipeline.run("daily_rollup", {"date": date})
    assert (record.status, record.error, record.cause) == ("FAILED", "MeterPipe.NoReadings", cause)
    assert pipeline.table() == {}
    day = pipeline.day(date)
    assert (day["Status"], day["Error"], day["Readings"]) == ("NO_DATA", "MeterPipe.NoReadings", 0)


def test_a_day_below_the_completeness_threshold_fails_before_any_write(pipeline: Pipeline) -> None:
    record = pipeline.run("daily_rollup", {"date": "2024-01-05", "minCompletenessPercent": 50})
    assert (record.status, record.error) == ("FAILED", "MeterPipe.IncompleteReadings")
    assert record.cause == (
        "5 valid reading(s) on 2024-01-05 from 2 of 2 sensors: 10.4% of the 48 expected (24 per sensor), "
        "below the 50% required (minCompletenessPercent); nothing written."
    )
    assert pipeline.table() == {}


def test_a_bad_customers_table_fails_the_day_whatever_the_tolerance(aws: None) -> None:
    twice = {"customer_meter_sensor/more.csv": "CustomerID,SensorID,SensorGroup\n14,51246501,business\n"}
    pipeline = Pipeline(texts=twice)
    record = pipeline.run("daily_rollup", {"date": "2024-01-05", "maxBadReadings": 100})
    assert (record.status, record.error) == ("FAILED", "MeterPipe.BadCustomers")
    assert record.cause.startswith("2 bad row(s) in the customers table (customer_meter_sensor)")
    assert (
        'customer_meter_sensor/more.csv: "14,51246501,business": SensorID 51246501 is listed more than once'
        in record.cause
    )
    assert pipeline.table() == {}


def test_two_runs_of_one_day_at_once_are_serialised_and_both_counted(pipeline: Pipeline) -> None:
    first = pipeline.run("daily_rollup", {"date": "2024-01-05"}, execution="first", sync=False)
    second = pipeline.run("daily_rollup", {"date": "2024-01-05"}, execution="second", sync=False)
    done = [pipeline.host.wait(e.execution_arn, timeout=120) for e in (first, second)]
    assert [r.status for r in done] == ["SUCCEEDED", "SUCCEEDED"], [(r.error, r.cause) for r in done]
    assert pipeline.table() == expected(READINGS, [D5])
    day = pipeline.day("2024-01-05")
    assert (day["Status"], day["Attempts"]) == ("SUCCEEDED", 2)
    last = max(done, key=lambda r: r.stop_date or START)
    assert day["Execution"] == last.execution_arn
    attempts = [pipeline.record(ledger.ATTEMPT_PIPELINE, f"2024-01-05#{n:06d}") for n in (1, 2)]
    assert sorted(a["Execution"] for a in attempts) == sorted(r.execution_arn for r in done)
    assert [a["Status"] for a in attempts] == ["SUCCEEDED", "SUCCEEDED"]


def test_a_redrive_of_a_run_that_no_longer_owns_its_day_writes_nothing(pipeline: Pipeline) -> None:
    # The first run's batches fail part-way (its Lambda broken), so it ends FAILED after writes began.
    pipeline.lambda_client.broken = lambda event: (
        RuntimeError("boom") if event["BatchInput"]["execution"] == "first" else None
    )
    failed = pipeline.run("daily_rollup", {"date": "2024-01-05"}, execution="first")
    assert failed.status == "FAILED"
    pipeline.lambda_client.broken = lambda _event: None
    later = pipeline.run("daily_rollup", {"date": "2024-01-05"}, execution="second")
    assert later.status == "SUCCEEDED", (later.error, later.cause)
    written = pipeline.table()
    events = len(pipeline.lambda_client.events)
    redriven = pipeline.host.redrive(failed.execution_arn, sync=True)
    # Its batches ran again and each found the day owned by the later run (SupersededError).
    assert (redriven.status, redriven.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    again = pipeline.lambda_client.events[events:]
    assert again and {e["BatchInput"]["execution"] for e in again} == {"first"}
    assert pipeline.table() == written
    assert pipeline.day("2024-01-05")["Execution"] == later.execution_arn


def test_a_later_run_waits_out_a_failed_owners_write_batch_timeout_before_it_validates(
    pipeline: Pipeline,
) -> None:
    pipeline.lambda_client.broken = lambda _event: TimeBudgetExhaustedError("slow", written=0, pending=1)
    failed = pipeline.run("daily_rollup", {"date": "2024-01-05"}, execution="first")
    assert failed.status == "FAILED"
    pipeline.lambda_client.broken = lambda _event: None
    later = pipeline.run("daily_rollup", {"date": "2024-01-05"}, execution="second")
    assert later.status == "SUCCEEDED", (later.error, later.cause)
    assert failed.stop_date is not None
    validation = next(
        q
        for q in pipeline.athena.started
        if "AS on_day" in q["QueryString"] and q is not pipeline.athena.started[0]
    )
    # The validation of the later run started after the first run's stop plus the Lambda timeout.
    assert pipeline.athena._queries[validation["id"]]["submitted"] >= failed.stop_date + dt.timedelta(
        seconds=60
    )
    assert pipeline.table() == expected(READINGS, [D5])


def test_backfill_runs_each_day_as_its_own_daily_rollup(pipeline: Pipeline) -> None:
    record = pipeline.run("backfill", {"from": "2024-01-04", "to": "2024-01-05"}, execution="bf-1")
    assert record.status == "SUCCEEDED", (record.error, record.cause)
    assert record.output["dates"] == ["2024-01-04", "2024-01-05"]
    executions = {e["date"]: e["executionArn"] for e in record.output["executions"]}
    assert executions == {
        "2024-01-04": DAILY_EXECUTIONS + "2024-01-04_bf-1_r0",
        "2024-01-05": DAILY_EXECUTIONS + "2024-01-05_bf-1_r0",
    }
    for arn in executions.values():
        assert pipeline.host.describe(arn).status == "SUCCEEDED"
    assert pipeline.table() == expected(READINGS, [D4, D5])
    assert pipeline.record(ledger.ATTEMPT_PIPELINE, "2024-01-04#000001")["Origin"] == "backfill"


def test_backfill_with_a_failing_day_fails_naming_it(aws: None) -> None:
    pipeline = Pipeline(
        texts={readings_day_prefix(D4) + "bad.csv": READINGS_HEADER + "51246501,240,10,60,x,01\n"}
    )
    record = pipeline.run("backfill", {"from": "2024-01-04", "to": "2024-01-05"}, execution="bf-2")
    failed_day = pipeline.host.describe(DAILY_EXECUTIONS + "2024-01-04_bf-2_r0")
    assert record.status == "FAILED"
    assert record.error == "MeterPipe.DaysFailed"
    assert (record.cause or "").startswith("1 of 2 days failed: 2024-01-04.")
    assert (failed_day.status, failed_day.error) == ("FAILED", "MeterPipe.BadReadings")


def test_a_backfills_tolerance_is_passed_to_every_day(aws: None) -> None:
    pipeline = Pipeline(texts=BAD_LINES)  # three bad readings on the 5th
    tolerated = {"from": "2024-01-04", "to": "2024-01-05", "maxBadReadings": 3, "minCompletenessPercent": 0}
    record = pipeline.run("backfill", tolerated, execution="bf-3")
    assert record.status == "SUCCEEDED", (record.error, record.cause)
    day = pipeline.host.describe(DAILY_EXECUTIONS + "2024-01-05_bf-3_r0")
    assert day.input == {"date": "2024-01-05", "maxBadReadings": 3, "minCompletenessPercent": 0}
    assert pipeline.host.describe(DAILY_EXECUTIONS + "2024-01-04_bf-3_r0").input == {
        "date": "2024-01-04",
        "maxBadReadings": 3,
        "minCompletenessPercent": 0,
    }
    assert (
        pipeline.day("2024-01-05")["BadReadingsSkipped"],
        pipeline.day("2024-01-05")["MaxBadReadings"],
    ) == (
        3,
        3,
    )
    assert pipeline.table() == expected(READINGS, [D4, D5])


# -- ledger_sync ------------------------------------------------------------------------------------

LEDGER_SYNC_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:meterpipe-ledger-sync"


def status_event(record: ExecutionRecord, status: str | None = None) -> dict[str, Any]:
    """The "Step Functions Execution Status Change" event of ``record`` (its detail is
    DescribeExecution's answer, dates in epoch milliseconds), as EventBridge delivers it."""

    def millis(moment: dt.datetime | None) -> int | None:
        return None if moment is None else int(moment.timestamp() * 1000)

    detail: dict[str, Any] = {
        "executionArn": record.execution_arn,
        "stateMachineArn": record.state_machine_arn,
        "name": record.name,
        "status": status or record.status,
        "startDate": millis(record.start_date),
        "stopDate": None if (status or record.status) == "RUNNING" else millis(record.stop_date),
        "redriveCount": record.redrive_count,
    }
    if record.redrive_count:
        detail["redriveDate"] = millis(record.redrive_date)
    if record.error is not None and (status or record.status) != "RUNNING":
        detail |= {"error": record.error, "cause": record.cause}
    return {
        "version": "0",
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "resources": [record.execution_arn],
        "detail": detail,
    }


def sync(pipeline: Pipeline, event: dict[str, Any]) -> ExecutionRecord:
    record = pipeline.host.start_execution(
        pipeline.definitions["ledger_sync"],
        state_machine_arn=LEDGER_SYNC_ARN,
        input=event,
        execution_type="EXPRESS",
        sync=True,
    )
    assert record.status == "SUCCEEDED", (record.error, record.cause)
    return record


def test_ledger_sync_records_a_failure_after_the_writes_began_as_incomplete(pipeline: Pipeline) -> None:
    pipeline.lambda_client.broken = lambda _event: RuntimeError("the Lambda is broken")
    failed = pipeline.run("daily_rollup", {"date": "2024-01-05"})
    assert (failed.status, pipeline.day("2024-01-05")["Status"]) == ("FAILED", "RUNNING")
    sync(pipeline, status_event(failed))
    day = pipeline.day("2024-01-05")
    assert (day["Status"], day["Error"], day["Attempts"], day["WritesStarted"]) == (
        "INCOMPLETE",
        "States.ExceedToleratedFailureThreshold",
        1,
        True,
    )
    assert failed.stop_date is not None
    assert day["EndedAt"] == failed.stop_date.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert pipeline.record(ledger.ATTEMPT_PIPELINE, "2024-01-05#000001")["Status"] == "INCOMPLETE"


def test_ledger_sync_records_a_failure_before_any_write_as_failed_and_a_stop_as_aborted(aws: None) -> None:
    pipeline = Pipeline(
        fail_when=lambda sql, _params: "HIVE_CANNOT_OPEN_SPLIT: gone" if "v.hourcollected" in sql else None
    )
    failed = pipeline.run("daily_rollup", {"date": "2024-01-05"})
    sync(pipeline, status_event(failed))
    day = pipeline.day("2024-01-05")
    assert (day["Status"], day["Error"], day["WritesStarted"]) == ("FAILED", "States.TaskFailed", False)
    assert "HIVE_CANNOT_OPEN_SPLIT" in day["Cause"]
    assert pipeline.table() == {}
    # The same attempt stopped instead (the event a StopExecution sends): ABORTED.
    pipeline.dynamodb.update_item(
        TableName=LEDGER_TABLE,
        Key={"Pipeline": {"S": "daily_rollup"}, "Key": {"S": "2024-01-05"}},
        UpdateExpression="SET #s = :r",
        ExpressionAttributeNames={"#s": "Status"},
        ExpressionAttributeValues={":r": {"S": "RUNNING"}},
    )
    sync(
        pipeline,
        status_event(failed, "ABORTED")
        | {"detail": {**status_event(failed)["detail"], "status": "ABORTED", "error": None, "cause": None}},
    )
    assert (pipeline.day("2024-01-05")["Status"], pipeline.day("2024-01-05")["Cause"]) == (
        "ABORTED",
        "the execution was stopped",
    )


def test_a_redrive_is_a_new_attempt_and_events_processed_late_change_nothing(pipeline: Pipeline) -> None:
    pipeline.lambda_client.broken = lambda _event: RuntimeError("the Lambda is broken")
    failed = pipeline.run("daily_rollup", {"date": "2024-01-05"})
    failure = status_event(failed)
    sync(pipeline, failure)
    pipeline.lambda_client.broken = lambda _event: None
    redriven = pipeline.host.redrive(failed.execution_arn, sync=True)
    assert redriven.status == "SUCCEEDED", (redriven.error, redriven.cause)
    # daily_rollup recorded the second attempt itself; the RUNNING event and the first failure,
    # processed only now, find the record moved on.
    sync(pipeline, status_event(redriven, "RUNNING"))
    sync(pipeline, failure)
    day = pipeline.day("2024-01-05")
    assert (day["Status"], day["Attempts"], day["RedriveCount"]) == ("SUCCEEDED", 2, 1)
    assert "Error" not in day and "Cause" not in day  # the failed attempt's, gone with its status
    first = pipeline.record(ledger.ATTEMPT_PIPELINE, "2024-01-05#000001")
    second = pipeline.record(ledger.ATTEMPT_PIPELINE, "2024-01-05#000002")
    assert (first["Status"], second["Status"], second["Origin"], second["RedriveCount"]) == (
        "INCOMPLETE",
        "SUCCEEDED",
        "redrive",
        1,
    )
    assert pipeline.record(ledger.EXECUTION_PIPELINE, failed.execution_arn)["Attempt"] == 2
    assert pipeline.table() == expected(READINGS, [D5])


def test_a_redrive_event_before_the_redriven_run_writes_makes_the_day_running_again(
    pipeline: Pipeline,
) -> None:
    pipeline.lambda_client.broken = lambda _event: RuntimeError("the Lambda is broken")
    failed = pipeline.run("daily_rollup", {"date": "2024-01-05"})
    sync(pipeline, status_event(failed))
    # The redrive's RUNNING event, as if it arrived before the redriven execution wrote anything.
    event = status_event(failed, "RUNNING")
    event["detail"] |= {"redriveCount": 1, "redriveDate": event["detail"]["startDate"] + 60_000}
    sync(pipeline, event)
    day = pipeline.day("2024-01-05")
    assert (day["Status"], day["Attempts"], day["RedriveCount"]) == ("RUNNING", 2, 1)
    assert "EndedAt" not in day and "Error" not in day
    attempt = pipeline.record(ledger.ATTEMPT_PIPELINE, "2024-01-05#000002")
    assert (attempt["Status"], attempt["Origin"], attempt["WritesStarted"]) == ("RUNNING", "redrive", True)


def test_a_failure_processed_after_its_redrive_still_ends_its_attempt_and_never_the_day(
    pipeline: Pipeline,
) -> None:
    # EventBridge does not order events: the redrive's RUNNING event (RedriveCount 1) is processed
    # before the failure of the first attempt (RedriveCount 0).
    pipeline.lambda_client.broken = lambda _event: RuntimeError("the Lambda is broken")
    failed = pipeline.run("daily_rollup", {"date": "2024-01-05"})
    redrive = status_event(failed, "RUNNING")
    redrive["detail"] |= {"redriveCount": 1, "redriveDate": redrive["detail"]["startDate"] + 60_000}
    sync(pipeline, redrive)
    sync(pipeline, status_event(failed))
    day = pipeline.day("2024-01-05")
    assert (day["Status"], day["Attempts"], day["RedriveCount"]) == ("RUNNING", 2, 1)
    assert "EndedAt" not in day and "Error" not in day
    first = pipeline.record(ledger.ATTEMPT_PIPELINE, "2024-01-05#000001")
    assert (first["Status"], first["Error"], first["RedriveCount"]) == (
        "INCOMPLETE",
        "States.ExceedToleratedFailureThreshold",
        0,
    )
    assert failed.stop_date is not None
    assert first["EndedAt"] == failed.stop_date.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    second = pipeline.record(ledger.ATTEMPT_PIPELINE, "2024-01-05#000002")
    assert (second["Status"], second["RedriveCount"]) == ("RUNNING", 1)
    # The same failure again, or a stop of the first attempt arriving later still: nothing changes.
    sync(pipeline, status_event(failed))
    stopped = status_event(failed)
    stopped["detail"] |= {"status": "ABORTED", "error": None, "cause": None}
    sync(pipeline, stopped)
    assert pipeline.record(ledger.ATTEMPT_PIPELINE, "2024-01-05#000001") == first
    assert pipeline.record(ledger.ATTEMPT_PIPELINE, "2024-01-05#000002") == second
    assert pipeline.day("2024-01-05") == day


def test_a_failure_processed_after_daily_rollup_recorded_its_redrive_ends_the_first_attempt(
    pipeline: Pipeline,
) -> None:
    pipeline.lambda_client.broken = lambda _event: RuntimeError("the Lambda is broken")
    failed = pipeline.run("daily_rollup", {"date": "2024-01-05"})
    failure = status_event(failed)
    pipeline.lambda_client.broken = lambda _event: None
    redriven = pipeline.host.redrive(failed.execution_arn, sync=True)
    assert redriven.status == "SUCCEEDED", (redriven.error, redriven.cause)
    # No event processed until now: daily_rollup recorded the redrive as attempt 2 on its own path.
    sync(pipeline, failure)
    day = pipeline.day("2024-01-05")
    assert (day["Status"], day["Attempts"], day["RedriveCount"]) == ("SUCCEEDED", 2, 1)
    statuses = [pipeline.record(ledger.ATTEMPT_PIPELINE, f"2024-01-05#00000{n}")["Status"] for n in (1, 2)]
    assert statuses == ["INCOMPLETE", "SUCCEEDED"]


def test_ledger_sync_leaves_alone_a_day_another_run_owns_and_runs_that_claimed_no_day(
    pipeline: Pipeline,
) -> None:
    pipeline.lambda_client.broken = lambda event: (
        RuntimeError("broken") if event["BatchInput"]["execution"] == "first" else None
    )
    failed = pipeline.run("daily_rollup", {"date": "2024-01-05"}, execution="first")
    later = pipeline.run("daily_rollup", {"date": "2024-01-05"}, execution="second")
    sync(pipeline, status_event(failed))
    assert (pipeline.day("2024-01-05")["Status"], pipeline.day("2024-01-05")["Execution"]) == (
        "SUCCEEDED",
        later.execution_arn,
    )
    # The first run's attempt record still gets its end (the day is the later run's).
    assert pipeline.record(ledger.ATTEMPT_PIPELINE, "2024-01-05#000001")["Status"] == "INCOMPLETE"
    assert pipeline.record(ledger.ATTEMPT_PIPELINE, "2024-01-05#000002")["Status"] == "SUCCEEDED"
    invalid = pipeline.run("daily_rollup", {"date": "2023-02-30"}, execution="invalid")
    sync(pipeline, status_event(invalid))
    assert pipeline.day("2023-02-30") == {}


# -- every kind of bad input, through the whole state machine ---------------------------------------

D5_KEY = readings_day_prefix(D5) + "late.csv"
GOOD_LINE = "51246501,240,10,60,0.5,05"
BAD_INPUTS = [
    pytest.param(
        {D5_KEY: f"{READINGS_HEADER}51246501,240,10,60,abc,05\n"},
        "BadReadings",
        D5_KEY,
        "51246501,240,10,60,abc,05",
        "kWh 'abc'",
        id="kwh abc",
    ),
    pytest.param(
        {D5_KEY: f"{READINGS_HEADER}51246501,240,10,60,-5.000,05\n"},
        "BadReadings",
        D5_KEY,
        "51246501,240,10,60,-5.000,05",
        "kWh '-5.000'",
        id="negative kwh",
    ),
    pytest.param(
        {D5_KEY: f"{READINGS_HEADER}59999999,240,10,60,0.5,05\n"},
        "BadReadings",
        D5_KEY,
        "59999999,240,10,60,0.5,05",
        "SensorID 59999999 is not in",
        id="unknown sensor",
    ),
    pytest.param(
        {D5_KEY: f"{READINGS_HEADER}{GOOD_LINE}\n51246501,240,1"},
        "BadReadings",
        D5_KEY,
        "51246501,240,1",
        "the line has 3 fields, not 6",
        id="truncated last line",
    ),
    pytest.param(
        {D5_KEY: f"{READINGS_HEADER}51246501,240,10,60,0.5,24\n"},
        "BadReadings",
        D5_KEY,
        "51246501,240,10,60,0.5,24",
        "HourCollected '24'",
        id="hour 24",
    ),
    pytest.param(
        {D5_KEY: "SensorID,Voltage,Current,Frequency,HourCollected\n51246501,240,10,60,05\n"},
        "BadReadings",
        D5_KEY,
        "51246501,240,10,60,05",
        "the line has 5 fields, not 6",
        id="no kwh column",
    ),
    pytest.param(
        {D5_KEY: f"{READINGS_HEADER}51246501,240,10,60,1000.5,05\n"},
        "BadReadings",
        D5_KEY,
        "51246501,240,10,60,1000.5,05",
        "kWh 1000.5 is not below the ceiling of 1000",
        id="over the ceiling",
    ),
    pytest.param(
        {"customer_meter_sensor/more.csv": "CustomerID,SensorID,SensorGroup\nx14,51246509,a\n"},
        "BadCustomers",
        "customer_meter_sensor/more.csv",
        "x14,51246509,a",
        "CustomerID 'x14' is not an integer",
        id="bad customers row",
    ),
    pytest.param(
        {"customer_meter_sensor/more.csv": "CustomerID,SensorID,SensorGroup\n14,51246502,a\n"},
        "BadCustomers",
        "customer_meter_sensor/more.csv",
        "14,51246502,a",
        "SensorID 51246502 is listed more than once",
        id="sensor listed twice",
    ),
]


@pytest.mark.parametrize(("texts", "error", "key", "line", "problem"), BAD_INPUTS)
def test_each_kind_of_bad_input_fails_the_day_naming_key_line_and_value_and_writes_nothing(
    aws: None, texts: dict[str, str], error: str, *, key: str, line: str, problem: str
) -> None:
    pipeline = Pipeline(texts=texts)
    before = pipeline.table()
    record = pipeline.run("daily_rollup", {"date": "2024-01-05"})
    assert (record.status, record.error) == ("FAILED", f"MeterPipe.{error}")
    assert f'{key}: "{line}": {problem}' in (record.cause or "")
    assert pipeline.table() == before == {}
    assert pipeline.day("2024-01-05")["Status"] == "FAILED"


def test_a_duplicate_file_removed_brings_every_month_item_back_down(pipeline: Pipeline) -> None:
    original = pipeline.s3.get_object(Bucket=LAKE, Key=readings_day_prefix(D5) + "readings.csv")[
        "Body"
    ].read()
    duplicate = readings_day_prefix(D5) + "readings-copy.csv"
    pipeline.s3.put_object(Bucket=LAKE, Key=duplicate, Body=original)
    first = pipeline.run("daily_rollup", {"date": "2024-01-05"}, execution="with-duplicate")
    assert first.status == "SUCCEEDED", (first.error, first.cause)
    doubled = [r for r in READINGS if r.day == D5]
    assert pipeline.table() == expected(READINGS + doubled, [D5])
    pipeline.s3.delete_object(Bucket=LAKE, Key=duplicate)
    pipeline.clock.advance(60)
    second = pipeline.run("daily_rollup", {"date": "2024-01-05"}, execution="without")
    assert second.status == "SUCCEEDED", (second.error, second.cause)
    assert second.output["fingerprint"] != first.output["fingerprint"]
    assert pipeline.table() == expected(READINGS, [D5])  # every month item came back down


def test_a_later_run_does_not_wait_for_an_owner_that_failed_before_writing(aws: None) -> None:
    pipeline = Pipeline(
        texts={readings_day_prefix(D5) + "bad.csv": READINGS_HEADER + "51246501,240,10,60,x,01\n"}
    )
    failed = pipeline.run("daily_rollup", {"date": "2024-01-05"}, execution="first")
    assert (failed.status, failed.error) == ("FAILED", "MeterPipe.BadReadings")
    pipeline.s3.delete_object(Bucket=LAKE, Key=readings_day_prefix(D5) + "bad.csv")
    later = pipeline.run("daily_rollup", {"date": "2024-01-05"}, execution="second")
    assert later.status == "SUCCEEDED", (later.error, later.cause)
    # No write_batch of the first run can be in flight: the second validated at once.
    assert later.stop_date is not None and failed.stop_date is not None
    assert later.stop_date - failed.stop_date < dt.timedelta(seconds=10)
    assert pipeline.day("2024-01-05")["Attempts"] == 2


def test_a_later_run_does_not_wait_for_an_owner_that_succeeded(pipeline: Pipeline) -> None:
    first = pipeline.run("daily_rollup", {"date": "2024-01-05"}, execution="first")
    later = pipeline.run("daily_rollup", {"date": "2024-01-05"}, execution="second")
    assert (first.status, later.status) == ("SUCCEEDED", "SUCCEEDED")
    # A succeeded owner's map runs have ended, every write_batch with them: nothing to wait out.
    assert later.stop_date is not None and first.stop_date is not None
    assert later.stop_date - first.stop_date < dt.timedelta(seconds=10)
    assert pipeline.table() == expected(READINGS, [D5])
