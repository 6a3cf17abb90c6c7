"""Every validation message of the write_batch event, worded as an operator reads it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.batch_event import BatchInput, parse_event, parse_rows
from handlers.errors import InvalidBatchError, RowProblem
from handlers.rollup_items import Computation, RollupItem

ARN = "arn:aws:states:us-east-1:123456789012:execution:meterpipe-daily-rollup:run-1"
COMPUTATION = Computation(computed_at="2022-01-06T03:30:06.123Z", query_execution_id="q-1", execution="run-1")
HOUR = BatchInput(granularity="hour", date=dt.date(2022, 1, 5), execution_arn=ARN, computation=COMPUTATION)
DAY = BatchInput(granularity="day", date=dt.date(2022, 1, 5), execution_arn=ARN, computation=COMPUTATION)
MONTH = BatchInput(granularity="month", date=dt.date(2022, 1, 5), execution_arn=ARN, computation=COMPUTATION)
# The BatchInput the state machine sends with every batch.
SENT = {"execution_arn": ARN, "computed_at": "2022-01-06T03:30:06.123Z", "query_execution_id": "q-1"}


def row(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "customerid": "12",
        "sensorid_period": "51246501#2022-01-05T18",
        "total_kwh": "1.25",
        "reading_count": "4",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def problems(rows: list[Any], batch: BatchInput = HOUR) -> list[tuple[int, str]]:
    with pytest.raises(InvalidBatchError) as caught:
        parse_rows(rows, batch)
    return [(p.row, p.message) for p in caught.value.problems]


def test_a_valid_event_becomes_items_of_the_batchs_granularity() -> None:
    event = {
        "Items": [row(), row(customerid="13", sensorid_period="7#2022-01-05T00", total_kwh="0.3")],
        "BatchInput": {"granularity": "hour", "date": "2022-01-05", "execution": "run-1", **SENT},
    }
    batch = parse_event(event)
    assert batch.input == HOUR
    assert batch.items == (
        RollupItem(12, "51246501#2022-01-05T18", Decimal("1.25"), "hour", 4, COMPUTATION),
        RollupItem(13, "7#2022-01-05T00", Decimal("0.3"), "hour", 4, COMPUTATION),
    )


def test_day_and_month_batches_take_keys_of_their_own_period() -> None:
    assert parse_rows([row(sensorid_period="5#2022-01-05")], DAY)[0].sensor_period == "5#2022-01-05"
    assert parse_rows([row(sensorid_period="5#2022-01")], MONTH)[0].granularity == "month"


def test_whole_json_numbers_are_accepted_for_hand_made_events() -> None:
    (item,) = parse_rows([row(customerid=12, total_kwh=3, reading_count=4)], HOUR)
    assert (item.customer_id, item.kwh, item.reading_count) == (12, Decimal(3), 4)


def test_an_empty_batch_is_valid_and_has_no_items() -> None:
    assert parse_rows([], HOUR) == ()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"customerid": None}, "customerid is missing"),
        ({"sensorid_period": None}, "sensorid_period is missing"),
        ({"total_kwh": None}, "total_kwh is missing"),
        ({"reading_count": None}, "reading_count is missing"),
        ({"total_kwh": ""}, "total_kwh is empty"),
        ({"total_kwh": 1.25}, "total_kwh must be a string, got the number 1.25"),
        ({"customerid": True}, "customerid must be a string, got a boolean"),
        ({"reading_count": [4]}, "reading_count must be a string, got a list"),
        ({"customerid": "12a"}, "customerid '12a' is not a whole number of at most 38 digits"),
        ({"customerid": "-12"}, "customerid '-12' is not a whole number of at most 38 digits"),
        ({"customerid": "1" * 39}, f"customerid '{'1' * 39}' is not a whole number of at most 38 digits"),
        ({"total_kwh": "abc"}, "total_kwh 'abc' is not a number"),
        ({"total_kwh": " 1.25"}, "total_kwh ' 1.25' is not a number"),
        ({"total_kwh": "1_000"}, "total_kwh '1_000' is not a number"),
        ({"total_kwh": "NaN"}, "total_kwh 'NaN' is not a number"),
        (
            {"total_kwh": "0.305"},
            "total_kwh '0.305': 0.305 has more than 2 decimals (the queries round totals to 2 decimals)",
        ),
        ({"reading_count": "four"}, "reading_count 'four' is not a whole number"),
        ({"reading_count": "4.0"}, "reading_count '4.0' is not a whole number"),
        ({"reading_count": "-1"}, "reading_count '-1' is negative: every rollup sums at least one reading"),
        ({"reading_count": "0"}, "reading_count '0' is 0: every rollup sums at least one reading"),
        (
            {"sensorid_period": "51246501#2022-01-05"},
            "sensorid_period '51246501#2022-01-05' is a day key, not an hour key (<sensor>#YYYY-MM-DDTHH)",
        ),
        (
            {"sensorid_period": "51246501#2022-01-06T00"},
            "sensorid_period '51246501#2022-01-06T00' is for 2022-01-06, not the batch's date 2022-01-05",
        ),
    ],
)
def test_each_bad_field_is_named_with_its_problem(overrides: dict[str, Any], message: str) -> None:
    assert problems([row(), row(**overrides)]) == [(2, message)]


def test_a_month_key_of_another_month_is_refused() -> None:
    assert problems([row(sensorid_period="5#2022-02")], MONTH) == [
        (1, "sensorid_period '5#2022-02' is for 2022-02, not the batch's month 2022-01")
    ]


def test_a_day_key_of_another_day_is_refused() -> None:
    assert problems([row(sensorid_period="5#2021-01-05")], DAY) == [
        (1, "sensorid_period '5#2021-01-05' is for 2021-01-05, not the batch's date 2022-01-05")
    ]


def test_a_row_that_is_not_an_object_is_named() -> None:
    assert problems([row(), ["12", "5#2022-01-05T18", "1.25", "4"]]) == [
        (2, "must be an object of column values, got a list")
    ]


def test_every_problem_of_one_row_is_listed() -> None:
    assert problems([row(customerid="x", total_kwh="y", reading_count="-2")]) == [
        (1, "customerid 'x' is not a whole number of at most 38 digits"),
        (1, "total_kwh 'y' is not a number"),
        (1, "reading_count '-2' is negative: every rollup sums at least one reading"),
    ]


def test_a_key_twice_in_one_batch_names_both_rows() -> None:
    rows = [row(), row(sensorid_period="9#2022-01-05T01"), row(total_kwh="2.00")]
    assert problems(rows) == [
        (3, "duplicate key of row 1 (customerid 12, sensorid_period '51246501#2022-01-05T18')")
    ]


def test_one_sort_key_under_two_customers_is_two_items() -> None:
    assert len(parse_rows([row(customerid="1"), row(customerid="2")], HOUR)) == 2


def test_the_rejection_is_one_error_naming_every_bad_row_in_its_message() -> None:
    rows = [row(), row(total_kwh="x"), row(reading_count="0"), row(customerid="13"), row(customerid="")]
    with pytest.raises(InvalidBatchError) as caught:
        parse_rows(rows, HOUR)
    assert str(caught.value) == "\n".join(
        [
            "rejected the hour batch for 2022-01-05 (5 rows), nothing written: 3 bad rows (rows 2-3, 5)",
            "row 2: total_kwh 'x' is not a number",
            "row 3: reading_count '0' is 0: every rollup sums at least one reading",
            "row 5: customerid is empty",
        ]
    )


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "the event must be an object with Items and BatchInput, got a list"),
        (
            {"BatchInput": {"granularity": "hour", "date": "2022-01-05", **SENT}},
            "invalid write_batch event: Items must be a list of rows, got missing",
        ),
        (
            {"Items": {}, "BatchInput": {"granularity": "hour", "date": "2022-01-05", **SENT}},
            "invalid write_batch event: Items must be a list of rows, got an object",
        ),
        (
            {"Items": []},
            "invalid write_batch event: BatchInput must be an object with granularity, date, execution_arn, "
            "computed_at and query_execution_id, got missing",
        ),
        (
            {"Items": [], "BatchInput": {"granularity": "week", "date": "2022-01-05", **SENT}},
            "invalid write_batch event: BatchInput.granularity must be one of hour, day, month, "
            "got the string 'week'",
        ),
        (
            {"Items": [], "BatchInput": {"date": "2022-01-05", **SENT}},
            "invalid write_batch event: BatchInput.granularity must be one of hour, day, month, got nothing",
        ),
        (
            {"Items": [], "BatchInput": {"granularity": "day", "date": "2022-1-5", **SENT}},
            "invalid write_batch event: BatchInput.date must be a date YYYY-MM-DD, got the string '2022-1-5'",
        ),
        (
            {"Items": [], "BatchInput": {"granularity": "day", "date": "2023-02-30", **SENT}},
            "invalid write_batch event: BatchInput.date '2023-02-30' is not a real date",
        ),
        (
            {"Items": [], "BatchInput": {"granularity": "day", "date": "2022-01-05", "execution": 7, **SENT}},
            "invalid write_batch event: BatchInput.execution must be a string, got the number 7",
        ),
        (
            {"Items": None, "BatchInput": {"granularity": "year", "date": 20220105, **SENT}},
            "invalid write_batch event: BatchInput.granularity must be one of hour, day, month, "
            "got the string 'year'; BatchInput.date must be a date YYYY-MM-DD, got the number 20220105; "
            "Items must be a list of rows, got missing",
        ),
        (
            {"Items": [], "BatchInput": {"granularity": "day", "date": "2022-01-05"}},
            "invalid write_batch event: BatchInput.execution_arn must be an execution ARN, got nothing; "
            "BatchInput.computed_at must be a UTC time like 2022-01-06T03:30:06.123Z, got nothing; "
            "BatchInput.query_execution_id must be a query id, got nothing",
        ),
        (
            {
                "Items": [],
                "BatchInput": {
                    "granularity": "day",
                    "date": "2022-01-05",
                    "execution_arn": "run-1",
                    "computed_at": "2022-01-06T03:30:06Z",
                    "query_execution_id": "",
                },
            },
            "invalid write_batch event: BatchInput.execution_arn must be an execution ARN, got the string "
            "'run-1'; BatchInput.computed_at must be a UTC time like 2022-01-06T03:30:06.123Z, got the "
            "string '2022-01-06T03:30:06Z'; BatchInput.query_execution_id must be a query id, got the "
            "string ''",
        ),
    ],
)
def test_a_malformed_event_is_refused_with_every_problem(event: Any, message: str) -> None:
    with pytest.raises(InvalidBatchError) as caught:
        parse_event(event)
    assert str(caught.value) == message
    assert caught.value.problems == ()


def test_the_execution_name_comes_from_its_arn_when_the_event_does_not_give_it() -> None:
    batch = parse_event({"Items": [], "BatchInput": {"granularity": "day", "date": "2022-01-05", **SENT}})
    assert batch.input.execution == "run-1"
    assert batch.input.computation == COMPUTATION


def test_a_long_rejection_lists_fifty_problems_and_counts_the_rest() -> None:
    rows = [row(sensorid_period=f"{n}#2022-01-05T18", total_kwh="bad") for n in range(1, 121)]
    with pytest.raises(InvalidBatchError) as caught:
        parse_rows(rows, HOUR)
    lines = str(caught.value).splitlines()
    assert (
        lines[0]
        == "rejected the hour batch for 2022-01-05 (120 rows), nothing written: 120 bad rows (rows 1-120)"
    )
    assert lines[1] == "row 1: total_kwh 'bad' is not a number"
    assert lines[50] == "row 50: total_kwh 'bad' is not a number"
    assert lines[51:] == ["... and 70 more problems not listed"]
    assert len(caught.value.problems) == 120
    assert caught.value.problems[-1] == RowProblem(120, "total_kwh 'bad' is not a number")


def java_double_text(value: float) -> str:
    """A double as Athena (Java's Double.toString) prints it: shortest round-tripping digits, as
    Python's repr, but in scientific notation from 10**7 on: '12.3', '4000.0', '1.2345678E7'."""
    if abs(value) < 1e7:
        return repr(value)
    return format(Decimal(repr(value)).normalize(), "E").replace("E+", "E")


def test_the_java_double_text_helper_prints_as_java_does() -> None:
    assert [java_double_text(v) for v in (12.3, 4000.0, 0.07, 12345678.0, -98765432.1)] == [
        "12.3",
        "4000.0",
        "0.07",
        "1.2345678E7",
        "-9.87654321E7",
    ]


@given(cents=st.integers(min_value=-(10**13), max_value=10**13))
def test_any_double_rounded_to_cents_as_athena_prints_it_is_stored_exactly(cents: int) -> None:
    (item,) = parse_rows([row(total_kwh=java_double_text(cents / 100))], HOUR)
    assert item.kwh == Decimal(cents) / 100
    stored = item.dynamodb_item()["kWh-Amount"]
    assert Decimal(stored["N"]) == Decimal(cents) / 100  # type: ignore[typeddict-item]
