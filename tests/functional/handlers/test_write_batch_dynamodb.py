"""The write_batch handler against moto's DynamoDB: the checks of issue 2, item 5."""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ReadTimeoutError

from handlers import write_batch as write_batch_module
from handlers.backoff import FullJitterBackoff
from handlers.errors import InvalidBatchError, MissingSettingError, SupersededError, TimeBudgetExhaustedError
from handlers.write_batch import handler, write_batch
from tests.functional.handlers.conftest import OWNER, set_owner

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

TABLE = "ElectricityMeteredByPeriod-test"
DATE = "2022-01-05"
Items = dict[tuple[str, str], dict[str, Any]]


def hour_rows(n: int, seed: int = 7) -> list[dict[str, str]]:
    """n distinct hour rows of DATE, as the CSV ItemReader gives them; amounts in whole cents."""
    rng = random.Random(seed)
    keys = rng.sample([(sensor, hour) for sensor in range(90_000_001, 90_000_101) for hour in range(24)], n)
    return [
        {
            "customerid": str(1000 + sensor % 37),
            "sensorid_period": f"{sensor}#{DATE}T{hour:02d}",
            "total_kwh": _cents_text(rng.randrange(0, 500_000)),
            "reading_count": str(rng.randrange(1, 5)),
        }
        for sensor, hour in keys
    ]


def _cents_text(cents: int) -> str:
    """How Athena writes a double rounded to 2 decimals: '12.3', '0.07', '4000.0'."""
    return repr(cents / 100)


COMPUTED_AT = "2022-01-06T03:30:06.123Z"


def event(
    rows: list[dict[str, str]],
    granularity: str = "hour",
    date: str = DATE,
    *,
    computed_at: str = COMPUTED_AT,
    query: str = "q-1",
    execution_arn: str = OWNER,
) -> dict[str, Any]:
    batch_input = {
        "granularity": granularity,
        "date": date,
        "execution_arn": execution_arn,
        "computed_at": computed_at,
        "query_execution_id": query,
    }
    return {"Items": rows, "BatchInput": batch_input}


def expected_items(rows: list[dict[str, str]], granularity: str) -> Items:
    return {
        (row["customerid"], row["sensorid_period"]): {
            "CustomerID": row["customerid"],
            "SensorID-Period": row["sensorid_period"],
            "kWh-Amount": Decimal(row["total_kwh"]),
            "Granularity": granularity,
            "ReadingCount": int(row["reading_count"]),
            "ComputedAt": COMPUTED_AT,
            "QueryExecutionId": "q-1",
            "Execution": "daily-2022-01-05-a1b2",
        }
        for row in rows
    }


def readable(items: Items) -> Items:
    """The table's items with their attribute types checked, values as Python values."""
    out: Items = {}
    for key, item in items.items():
        types = {name: next(iter(value)) for name, value in item.items()}
        assert types == {
            "CustomerID": "N",
            "SensorID-Period": "S",
            "kWh-Amount": "N",
            "Granularity": "S",
            "ReadingCount": "N",
            "ComputedAt": "S",
            "QueryExecutionId": "S",
            "Execution": "S",
        }
        out[key] = {
            "CustomerID": item["CustomerID"]["N"],
            "SensorID-Period": item["SensorID-Period"]["S"],
            "kWh-Amount": Decimal(item["kWh-Amount"]["N"]),
            "Granularity": item["Granularity"]["S"],
            "ReadingCount": int(item["ReadingCount"]["N"]),
            "ComputedAt": item["ComputedAt"]["S"],
            "QueryExecutionId": item["QueryExecutionId"]["S"],
            "Execution": item["Execution"]["S"],
        }
    return out


def test_a_batch_of_1000_rows_lands_as_1000_items_in_the_contracts_formats(
    dynamodb: DynamoDBClient, context: Any, table_items: Callable[[], Items]
) -> None:
    rows = hour_rows(1000)
    response = write_batch(event(rows), context, table_name=TABLE, boto3_client=dynamodb)

    assert response == {"written": 1000, "granularity": "hour", "date": DATE, "stored": 1000, "kept_newer": 0}
    items = table_items()
    assert readable(items) == expected_items(rows, "hour")
    for (_, sort_key), item in items.items():
        assert re.fullmatch(r"\d+#2022-01-05T([01]\d|2[0-3])", sort_key)
        # At most 2 decimals, DynamoDB's canonical text: no trailing zeros, no exponent.
        assert re.fullmatch(r"-?(0|[1-9]\d*)(\.\d?[1-9])?", item["kWh-Amount"]["N"])


def test_day_and_month_items_carry_their_own_key_formats(
    dynamodb: DynamoDBClient,
    context: Any,
    load_event: Callable[[str], dict[str, Any]],
    table_items: Callable[[], Items],
) -> None:
    for name in ("write_batch_day", "write_batch_month"):
        write_batch(load_event(name), context, table_name=TABLE, boto3_client=dynamodb)
    assert {key: item["kWh-Amount"]["N"] for key, item in table_items().items()} == {
        ("1001", "51246501#2022-01-05"): "18.07",
        ("1002", "51246502#2022-01-05"): "1234.57",
        ("1001", "51246501#2022-01"): "90.5",
        ("1002", "51246502#2022-01"): "0",
    }


class UnprocessingClient:
    """moto's client, except that the first `flaky_calls` BatchWriteItem calls process only part of
    their items and hand the rest back as UnprocessedItems, as a throttled table does."""

    def __init__(self, inner: DynamoDBClient, flaky_calls: int, keep: int = 9) -> None:
        self.inner = inner
        self.flaky_calls = flaky_calls
        self.keep = keep
        self.calls: list[int] = []

    def get_item(self, **kwargs: Any) -> Any:
        return self.inner.get_item(**kwargs)

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        ((table, requests),) = RequestItems.items()
        self.calls.append(len(requests))
        if len(self.calls) > self.flaky_calls:
            return dict(self.inner.batch_write_item(RequestItems=RequestItems))
        self.inner.batch_write_item(RequestItems={table: requests[: self.keep]})
        return {"UnprocessedItems": {table: requests[self.keep :]}}


def test_unprocessed_items_are_retried_until_everything_is_written(
    dynamodb: DynamoDBClient,
    context: Any,
    table_items: Callable[[], Items],
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_batch_module.metrics.clear_metrics()
    rows = hour_rows(200)
    client = UnprocessingClient(dynamodb, flaky_calls=6)
    sleeps: list[float] = []
    response = write_batch(
        event(rows),
        context,
        table_name=TABLE,
        boto3_client=client,  # type: ignore[arg-type]
        sleep=sleeps.append,
        backoff=FullJitterBackoff(uniform=lambda: 1.0),
        concurrency=1,  # one call after another: the backoff grows call after call
    )
    assert response["written"] == 200
    assert readable(table_items()) == expected_items(rows, "hour")
    # Six calls kept 9 of 25 each (16 handed back), then full calls until the 200 were in.
    assert client.calls[:6] == [25] * 6
    assert sum(client.calls) == 200 + 6 * 16
    assert sleeps == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6]
    capsys.readouterr()
    write_batch_module.metrics.flush_metrics()
    # The metric counts items sent again: 16 handed back by each of the six partial calls.
    assert emitted_metrics(capsys.readouterr().out)["UnprocessedItemRetries"] == 6 * 16


def test_a_bad_row_rejects_the_batch_by_its_row_number_and_writes_nothing(
    dynamodb: DynamoDBClient, context: Any, table_items: Callable[[], Items]
) -> None:
    rows = hour_rows(1000)
    rows[536]["total_kwh"] = "12,5"
    with pytest.raises(InvalidBatchError) as caught:
        write_batch(event(rows), context, table_name=TABLE, boto3_client=dynamodb)
    assert str(caught.value) == (
        "rejected the hour batch for 2022-01-05 (1000 rows), nothing written: 1 bad row (row 537)\n"
        "row 537: total_kwh '12,5' is not a number"
    )
    assert table_items() == {}


def test_writing_the_same_batch_twice_leaves_the_same_table(
    dynamodb: DynamoDBClient, context: Any, table_items: Callable[[], Items]
) -> None:
    for granularity, rows in (("hour", hour_rows(300)), ("month", _month_rows(hour_rows(300)))):
        write_batch(event(rows, granularity), context, table_name=TABLE, boto3_client=dynamodb)
        first = table_items()
        again = write_batch(event(rows, granularity), context, table_name=TABLE, boto3_client=dynamodb)
        assert table_items() == first
        assert again["written"] == len(rows)


def _month_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    by_key = {row["sensorid_period"].split("T")[0][:-3]: row for row in rows}
    return [{**row, "sensorid_period": key} for key, row in by_key.items()]


def month_row(total: str, count: int) -> dict[str, str]:
    return {
        "customerid": "1001",
        "sensorid_period": "51246501#2022-01",
        "total_kwh": total,
        "reading_count": str(count),
    }


def stored_month(table_items: Callable[[], Items]) -> tuple[str, str]:
    item = table_items()[("1001", "51246501#2022-01")]
    return item["kWh-Amount"]["N"], item["ReadingCount"]["N"]


class SilentClient:
    """moto's client, except that the first `silent_calls` calls get no answer in time (botocore's
    ReadTimeoutError once its own retries are spent), as a stalled endpoint gives."""

    def __init__(self, inner: DynamoDBClient, silent_calls: int) -> None:
        self.inner = inner
        self.silent_calls = silent_calls
        self.calls = 0

    def _call(self, operation: str, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls <= self.silent_calls:
            raise ReadTimeoutError(endpoint_url="http://dynamodb.test")
        return getattr(self.inner, operation)(**kwargs)

    def batch_write_item(self, **kwargs: Any) -> Any:
        return self._call("batch_write_item", **kwargs)

    def transact_write_items(self, **kwargs: Any) -> Any:
        return self._call("transact_write_items", **kwargs)

    def get_item(self, **kwargs: Any) -> Any:
        return self._call("get_item", **kwargs)


@pytest.mark.parametrize(
    ("granularity", "rows"), [("hour", hour_rows(60)), ("month", [month_row("90.5", 480)])]
)
def test_calls_that_get_no_answer_in_time_are_retried_with_backoff(
    dynamodb: DynamoDBClient,
    context: Any,
    table_items: Callable[[], Items],
    granularity: str,
    rows: list[dict[str, str]],
) -> None:
    client = SilentClient(dynamodb, silent_calls=3)
    sleeps: list[float] = []
    response = write_batch(
        event(rows, granularity),
        context,
        table_name=TABLE,
        boto3_client=client,  # type: ignore[arg-type]
        sleep=sleeps.append,
        backoff=FullJitterBackoff(uniform=lambda: 1.0),
    )
    assert (response["written"], response["stored"]) == (len(rows), len(rows))
    assert readable(table_items()) == expected_items(rows, granularity)
    assert sleeps == [0.05, 0.1, 0.2]


def test_a_month_item_is_replaced_by_any_later_computation_up_or_down_never_by_an_earlier_one(
    dynamodb: DynamoDBClient, context: Any, table_items: Callable[[], Items]
) -> None:
    def write(total: str, count: int, at: str, query: str = "q") -> dict[str, Any]:
        batch = event([month_row(total, count)], "month", computed_at=at, query=query)
        return write_batch(batch, context, table_name=TABLE, boto3_client=dynamodb)

    assert write("166.59", 762, "2022-01-06T03:30:00.000Z")["stored"] == 1
    # A duplicate file removed and the day run again: the later computation brings the month down.
    assert write("161.44", 738, "2022-01-07T03:30:00.000Z")["stored"] == 1
    assert stored_month(table_items) == ("161.44", "738")
    # A computation that started earlier but finished later never wins.
    late = write("170.0", 790, "2022-01-06T23:59:59.999Z")
    assert (late["written"], late["stored"], late["kept_newer"]) == (1, 0, 1)
    assert stored_month(table_items) == ("161.44", "738")
    # The same computation again (a retried batch) lands; a tie is broken by the query id.
    assert write("161.44", 738, "2022-01-07T03:30:00.000Z")["stored"] == 1
    assert write("160.0", 700, "2022-01-07T03:30:00.000Z", query="p")["kept_newer"] == 1
    assert write("162.0", 740, "2022-01-07T03:30:00.000Z", query="r")["stored"] == 1
    assert stored_month(table_items) == ("162", "740")


def test_concurrent_month_runs_converge_on_the_latest_computation_in_any_order(
    dynamodb: DynamoDBClient, context: Any, table_items: Callable[[], Items]
) -> None:
    runs = [
        ("90.5", 480, "2022-01-06T03:30:00.000Z"),
        ("61.02", 310, "2022-01-06T03:30:00.001Z"),
        ("30.1", 150, "2022-01-05T03:30:00.000Z"),
    ]
    for order in itertools.permutations(runs):
        dynamodb.delete_item(
            TableName=TABLE, Key={"CustomerID": {"N": "1001"}, "SensorID-Period": {"S": "51246501#2022-01"}}
        )
        for total, count, at in order:
            batch = event([month_row(total, count)], "month", computed_at=at)
            write_batch(batch, context, table_name=TABLE, boto3_client=dynamodb)
        assert stored_month(table_items) == ("61.02", "310"), order


def test_a_batchs_month_items_newer_in_the_table_are_kept_and_the_rest_written_whatever_their_place(
    dynamodb: DynamoDBClient, context: Any, table_items: Callable[[], Items]
) -> None:
    rows = _month_rows(hour_rows(2400))  # 100 sensors: several transactions of 25
    newer = rows[3::7]  # a later computation of every seventh, already stored
    later = "2022-01-07T03:30:00.000Z"
    changed = [{**row, "total_kwh": "1.5"} for row in newer]
    write_batch(
        event(changed, "month", computed_at=later, query="q-2"),
        context,
        table_name=TABLE,
        boto3_client=dynamodb,
    )

    response = write_batch(event(rows, "month"), context, table_name=TABLE, boto3_client=dynamodb)

    assert (response["written"], response["stored"], response["kept_newer"]) == (
        len(rows),
        len(rows) - len(newer),
        len(newer),
    )
    stored = readable(table_items())
    kept = {(r["customerid"], r["sensorid_period"]) for r in newer}
    assert {key: item for key, item in stored.items() if key not in kept} == {
        key: item for key, item in expected_items(rows, "month").items() if key not in kept
    }
    assert {(stored[key]["kWh-Amount"], stored[key]["ComputedAt"]) for key in kept} == {
        (Decimal("1.5"), later)
    }


def test_a_month_item_without_a_computation_is_replaced(
    dynamodb: DynamoDBClient, context: Any, table_items: Callable[[], Items]
) -> None:
    # As the upstream sample (and the releases before the ledger) wrote them: no ComputedAt.
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "CustomerID": {"N": "1001"},
            "SensorID-Period": {"S": "51246501#2022-01"},
            "kWh-Amount": {"N": "1000"},
            "ReadingCount": {"N": "9999"},
        },
    )
    write_batch(event([month_row("90.5", 480)], "month"), context, table_name=TABLE, boto3_client=dynamodb)
    assert stored_month(table_items) == ("90.5", "480")


@pytest.mark.parametrize("granularity", ["hour", "month"])
def test_a_batch_of_an_execution_that_no_longer_owns_its_day_writes_nothing(
    dynamodb: DynamoDBClient, context: Any, table_items: Callable[[], Items], granularity: str
) -> None:
    later = OWNER.replace("a1b2", "c3d4")
    set_owner(dynamodb, later)
    rows = hour_rows(30) if granularity == "hour" else [month_row("90.5", 480)]
    with pytest.raises(SupersededError) as caught:
        write_batch(event(rows, granularity), context, table_name=TABLE, boto3_client=dynamodb)
    assert str(caught.value) == (
        f"2022-01-05 is owned by {later}, not by this execution ({OWNER}): a later run claimed the day, "
        f"so this {granularity} batch wrote nothing (a redrive of a superseded run never writes; run the "
        "day again instead)"
    )
    assert caught.value.owner == later
    assert table_items() == {}


def test_a_batch_for_a_day_the_ledger_has_no_record_of_writes_nothing(
    dynamodb: DynamoDBClient, context: Any, table_items: Callable[[], Items]
) -> None:
    with pytest.raises(SupersededError, match="2022-01-04 has no record in the ledger"):
        write_batch(
            event([{**hour_rows(1)[0], "sensorid_period": "5#2022-01-04T01"}], date="2022-01-04"),
            context,
            table_name=TABLE,
            boto3_client=dynamodb,
        )
    assert table_items() == {}


class SlowClient:
    """moto's client, except that each call uses up `cost_ms` of the Lambda's remaining time."""

    def __init__(self, inner: DynamoDBClient, context: Any, cost_ms: int) -> None:
        self.inner = inner
        self.context = context
        self.cost_ms = cost_ms

    def get_item(self, **kwargs: Any) -> Any:
        return self.inner.get_item(**kwargs)

    def batch_write_item(self, **kwargs: Any) -> Any:
        self.context.remaining_ms -= self.cost_ms
        return self.inner.batch_write_item(**kwargs)


def test_a_batch_that_runs_short_of_time_fails_for_a_retry_that_completes_it(
    dynamodb: DynamoDBClient, make_context: Callable[[int], Any], table_items: Callable[[], Items]
) -> None:
    rows = hour_rows(100)
    short = make_context(5_300)
    with pytest.raises(TimeBudgetExhaustedError) as caught:
        write_batch(
            event(rows),
            short,
            table_name=TABLE,
            boto3_client=SlowClient(dynamodb, short, cost_ms=100),  # type: ignore[arg-type]
            time_reserve_ms=5_000,
        )
    # Three calls fit in the 300 ms above the reserve; Step Functions sees the class name.
    assert type(caught.value).__name__ == "TimeBudgetExhaustedError"
    assert (caught.value.written, caught.value.pending) == (75, 25)
    assert len(table_items()) == 75

    # The state machine's retry runs the whole batch again with a fresh Lambda.
    write_batch(event(rows), make_context(60_000), table_name=TABLE, boto3_client=dynamodb)
    assert readable(table_items()) == expected_items(rows, "hour")


def emitted_metrics(stdout: str) -> dict[str, float]:
    """The CloudWatch EMF metrics Powertools printed, by name (summed over flushes)."""
    found: dict[str, float] = {}
    for line in stdout.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        (directive,) = blob["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "MeterPipe"
        for metric in directive["Metrics"]:
            found[metric["Name"]] = found.get(metric["Name"], 0) + sum(blob[metric["Name"]])
    return found


def test_the_lambda_handler_writes_the_table_named_by_the_environment_and_counts_items(
    table_env: str,
    context: Any,
    load_event: Callable[[str], dict[str, Any]],
    table_items: Callable[[], Items],
    capsys: pytest.CaptureFixture[str],
) -> None:
    response = handler(load_event("write_batch_hour"), context)
    assert response == {"written": 3, "granularity": "hour", "date": DATE, "stored": 3, "kept_newer": 0}
    assert {key: item["kWh-Amount"]["N"] for key, item in table_items().items()} == {
        ("1001", "51246501#2022-01-05T00"): "0.42",
        ("1001", "51246501#2022-01-05T18"): "1.9",
        ("1002", "51246502#2022-01-05T18"): "12.35",
    }
    assert emitted_metrics(capsys.readouterr().out) == {
        "ItemsWritten": 3,
        "MonthItemsKeptNewer": 0,
        "UnprocessedItemRetries": 0,
    }


def test_the_lambda_handler_counts_month_items_left_alone(
    table_env: str,
    context: Any,
    load_event: Callable[[str], dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    month = load_event("write_batch_month")
    handler(month, context)
    month["Items"][0]["reading_count"] = "479"
    month["BatchInput"]["computed_at"] = "2022-01-06T03:30:06.122Z"  # a query submitted just before
    capsys.readouterr()
    assert handler(month, context) == {
        "written": 2,
        "granularity": "month",
        "date": DATE,
        "stored": 0,
        "kept_newer": 2,
    }
    assert emitted_metrics(capsys.readouterr().out)["MonthItemsKeptNewer"] == 2


def test_the_lambda_handler_counts_a_superseded_batch(
    table_env: str,
    dynamodb: DynamoDBClient,
    context: Any,
    load_event: Callable[[str], dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    set_owner(dynamodb, OWNER + "-later")
    with pytest.raises(SupersededError):
        handler(load_event("write_batch_day"), context)
    assert emitted_metrics(capsys.readouterr().out) == {"BatchesSuperseded": 1}


def test_the_lambda_handler_rejects_a_bad_batch_with_every_bad_row_and_counts_it(
    table_env: str,
    context: Any,
    load_event: Callable[[str], dict[str, Any]],
    table_items: Callable[[], Items],
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(InvalidBatchError) as caught:
        handler(load_event("write_batch_bad_rows"), context)
    assert str(caught.value) == "\n".join(
        [
            "rejected the hour batch for 2022-01-05 (4 rows), nothing written: 3 bad rows (rows 2-4)",
            "row 2: total_kwh 'n/a' is not a number",
            "row 3: sensorid_period '51246502#2022-01-05' is a day key, not an hour key "
            "(<sensor>#YYYY-MM-DDTHH)",
            "row 4: reading_count is missing",
        ]
    )
    assert table_items() == {}
    assert emitted_metrics(capsys.readouterr().out) == {"BatchesRejected": 1}


def test_the_lambda_handler_logs_every_problem_of_a_rejected_batch(
    table_env: str,
    context: Any,
    load_event: Callable[[str], dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(InvalidBatchError):
        handler(load_event("write_batch_bad_rows"), context)
    (log,) = [record for record in caplog.records if record.getMessage() == "batch rejected"]
    assert log.levelname == "ERROR"
    assert [p["row"] for p in log.problems] == [2, 3, 4]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
@pytest.mark.parametrize("variable", ["ROLLUP_TABLE_NAME", "LEDGER_TABLE_NAME"])
def test_the_lambda_handler_names_a_missing_table_variable(
    table_env: str,
    context: Any,
    load_event: Callable[[str], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    monkeypatch.delenv(variable, raising=False)
    with pytest.raises(MissingSettingError, match=f"{variable} is not set"):
        handler(load_event("write_batch_day"), context)


def test_the_lambda_handler_is_traced_with_its_granularity_and_date(
    table_env: str,
    context: Any,
    load_event: Callable[[str], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    annotations: dict[str, Any] = {}

    def put_annotation(key: str, value: Any) -> None:
        annotations[key] = value

    monkeypatch.setattr(write_batch_module.tracer, "put_annotation", put_annotation)

    handler(load_event("write_batch_hour"), context)

    assert annotations == {"granularity": "hour", "date": DATE}
