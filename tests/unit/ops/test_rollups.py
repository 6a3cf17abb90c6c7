from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from meterpipe.errors import InvalidDateError
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.rollups import period_bound, query_rollups
from meterpipe.tables import ROLLUPS

CUSTOMER = 10027610


def put(pipeline: Pipeline, customer: int, key: str, kwh: str, count: int | None = 4) -> None:
    item: dict[str, Any] = {
        "CustomerID": {"N": str(customer)},
        "SensorID-Period": {"S": key},
        "kWh-Amount": {"N": kwh},
    }
    if count is not None:
        item["ReadingCount"] = {"N": str(count)}
    pipeline.client("dynamodb").put_item(TableName=ROLLUPS.name, Item=item)


@pytest.fixture
def table(pipeline: Pipeline) -> Pipeline:
    for hour in range(18, 24):
        put(pipeline, CUSTOMER, f"51246501#2022-01-05T{hour}", f"0.{hour + 10}")
    for day in ("2022-01-04", "2022-01-05", "2022-01-06"):
        put(pipeline, CUSTOMER, f"51246501#{day}", "5.77", 24)
        put(pipeline, CUSTOMER, f"51246502#{day}", "1.5", None)  # upstream items carry no count
    put(pipeline, CUSTOMER, "51246501#2022-01", "192.51", 744)
    put(pipeline, 10027611, "51246503#2022-01-05", "9.99")
    return pipeline


def test_a_sensors_hours_are_read_between_two_periods(table: Pipeline) -> None:
    items = query_rollups(
        table,
        customer=CUSTOMER,
        sensor=51246501,
        granularity="hour",
        start="2022-01-05T20",
        end="2022-01-05T22",
    )
    assert [(i.period, i.kwh) for i in items] == [
        ("2022-01-05T20", Decimal("0.3")),
        ("2022-01-05T21", Decimal("0.31")),
        ("2022-01-05T22", Decimal("0.32")),
    ]


def test_without_a_sensor_every_item_of_the_granularitys_shape_is_kept(table: Pipeline) -> None:
    items = query_rollups(table, customer=CUSTOMER, granularity="day", start="2022-01-05")
    assert [(i.sensor, i.period, i.readings) for i in items] == [
        (51246501, "2022-01-05", 24),
        (51246501, "2022-01-06", 24),
        (51246502, "2022-01-05", None),
        (51246502, "2022-01-06", None),
    ]
    months = query_rollups(table, customer=CUSTOMER, granularity="month")
    assert [(i.sort_key, i.kwh) for i in months] == [("51246501#2022-01", Decimal("192.51"))]


def test_reads_are_key_condition_queries_never_scans(table: Pipeline) -> None:
    calls: list[str] = []
    client = table.client("dynamodb")
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    query_rollups(table, customer=CUSTOMER, granularity="day")
    query_rollups(table, customer=CUSTOMER, sensor=51246501, granularity="day", end="2022-01")
    assert set(calls) == {"Query"}


def test_a_day_bound_covers_its_hours_and_a_month_bound_its_days() -> None:
    assert period_bound("2022-01-05", "hour", upper=True, what="--to") == "2022-01-05T23"
    assert period_bound("2022-01-05", "hour", upper=False, what="--from") == "2022-01-05T00"
    assert period_bound("2022-02", "day", upper=True, what="--to") == "2022-02-28"
    assert period_bound("2022-02-14", "month", upper=False, what="--from") == "2022-02"


@pytest.mark.parametrize("value", ["2022-13", "2022-02-30", "yesterday", "2022-01-05T24"])
def test_a_bad_bound_is_one_clear_error(value: str) -> None:
    with pytest.raises(InvalidDateError, match="--from"):
        period_bound(value, "hour", upper=False, what="--from")
