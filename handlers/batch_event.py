"""The write_batch event, parsed and validated in full before anything is written.

Event (from the Distributed Map's child workflow)::

    {"Items": [{"customerid": "12", "sensorid_period": "51246501#2022-01-05T18",
                "total_kwh": "1.25", "reading_count": "4"}, ...],
     "BatchInput": {"granularity": "hour", "date": "2022-01-05",
                    "execution_arn": "arn:aws:states:...:execution:<machine>:<name>",
                    "computed_at": "2022-01-06T03:30:06.123Z", "query_execution_id": "<Athena id>"}}

Rows are the query result's CSV rows as the ItemReader gives them: every value a string, keyed by
the header. Every problem of every row is collected, then the batch is rejected with one
:class:`InvalidBatchError` naming each bad row (1-based within the batch) and what is wrong with it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from handlers.errors import InvalidBatchError, RowProblem
from handlers.rollup_format import (
    GRANULARITIES,
    ROW_CUSTOMER_ID,
    ROW_FIELDS,
    ROW_READING_COUNT,
    ROW_SENSOR_PERIOD,
    ROW_TOTAL_KWH,
    Granularity,
    KwhAmountError,
    SortKeyError,
    format_kwh,
    format_period,
    parse_sort_key,
)
from handlers.rollup_items import Computation, RollupItem

ITEMS: Final = "Items"
BATCH_INPUT: Final = "BatchInput"

_WHOLE = re.compile(r"\d+")
_SIGNED_WHOLE = re.compile(r"[+-]?\d+")
# What Athena's CSV may hold for a double: plain or exponent notation. Stricter than Decimal(),
# which also takes surrounding spaces, underscores, "NaN" and "Infinity".
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# ComputedAt compares as text, so it must always have this exact form (what JSONata's $fromMillis gives).
_COMPUTED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
_EXECUTION_ARN = re.compile(r"arn:[a-z-]+:states:[a-z0-9-]*:\d*:execution:[^:]+:([^:]+)")
# DynamoDB numbers hold up to 38 digits.
_MAX_ID_DIGITS: Final = 38


@dataclass(frozen=True)
class BatchInput:
    """What the state machine says about the whole batch."""

    granularity: Granularity
    date: dt.date
    execution_arn: str  # must own the day in the ledger for the batch to be written
    computation: Computation

    @property
    def execution(self) -> str:
        return self.computation.execution

    @property
    def period(self) -> str:
        """The period every row's sort key must be in: the date, or its month for month batches."""
        return format_period("day" if self.granularity == "hour" else self.granularity, self.date)

    def describe(self) -> str:
        return f"{self.granularity} batch for {self.date.isoformat()}"


@dataclass(frozen=True)
class RollupBatch:
    input: BatchInput
    items: tuple[RollupItem, ...]


def parse_event(event: Any) -> RollupBatch:
    """The batch the event describes, every row validated; :class:`InvalidBatchError` otherwise."""
    if not isinstance(event, Mapping):
        raise InvalidBatchError(
            f"the event must be an object with {ITEMS} and {BATCH_INPUT}, got {_kind(event)}"
        )
    problems: list[str] = []
    batch_input = _parse_batch_input(event.get(BATCH_INPUT), problems)
    rows = event.get(ITEMS)
    if not isinstance(rows, list):
        found = "missing" if rows is None else _kind(rows)
        problems.append(f"{ITEMS} must be a list of rows, got {found}")
    if problems or batch_input is None or not isinstance(rows, list):
        raise InvalidBatchError("invalid write_batch event: " + "; ".join(problems))
    return RollupBatch(input=batch_input, items=parse_rows(rows, batch_input))


def parse_rows(rows: Sequence[Any], batch: BatchInput) -> tuple[RollupItem, ...]:
    """Every row as a :class:`RollupItem`, or one :class:`InvalidBatchError` naming every bad row."""
    items: list[RollupItem] = []
    problems: list[RowProblem] = []
    first_row_of: dict[tuple[int, str], int] = {}
    for number, row in enumerate(rows, start=1):
        messages: list[str] = []
        item = _parse_row(row, batch, messages)
        if item is not None:
            # BatchWriteItem refuses a request holding one key twice, and two totals for one key
            # mean the query is wrong: either way the batch cannot be written as it is.
            first = first_row_of.setdefault(item.key, number)
            if first != number:
                messages.append(
                    f"duplicate key of row {first} (customerid {item.customer_id}, "
                    f"sensorid_period {item.sensor_period!r})"
                )
            else:
                items.append(item)
        problems.extend(RowProblem(number, message) for message in messages)
    if problems:
        raise InvalidBatchError(
            f"rejected the {batch.describe()} ({len(rows)} rows), nothing written", tuple(problems)
        )
    return tuple(items)


def _parse_batch_input(raw: Any, problems: list[str]) -> BatchInput | None:
    if not isinstance(raw, Mapping):
        found = "missing" if raw is None else _kind(raw)
        problems.append(
            f"{BATCH_INPUT} must be an object with granularity, date, execution_arn, computed_at and "
            f"query_execution_id, got {found}"
        )
        return None
    before = len(problems)
    granularity = raw.get("granularity")
    if granularity not in GRANULARITIES:
        problems.append(
            f"{BATCH_INPUT}.granularity must be one of {', '.join(GRANULARITIES)}, got {_shown(granularity)}"
        )
    date = _parse_date(raw.get("date"), problems)
    arn = raw.get("execution_arn")
    arn_match = _EXECUTION_ARN.fullmatch(arn) if isinstance(arn, str) else None
    if arn_match is None:
        problems.append(f"{BATCH_INPUT}.execution_arn must be an execution ARN, got {_shown(arn)}")
    computed_at = raw.get("computed_at")
    if not isinstance(computed_at, str) or not _COMPUTED_AT.fullmatch(computed_at):
        example = "2022-01-06T03:30:06.123Z"
        problems.append(
            f"{BATCH_INPUT}.computed_at must be a UTC time like {example}, got {_shown(computed_at)}"
        )
    query_id = raw.get("query_execution_id")
    if not isinstance(query_id, str) or not query_id:
        problems.append(f"{BATCH_INPUT}.query_execution_id must be a query id, got {_shown(query_id)}")
    execution = raw.get("execution", arn_match.group(1) if arn_match else "")
    if not isinstance(execution, str):
        problems.append(f"{BATCH_INPUT}.execution must be a string, got {_kind(execution)}")
    if len(problems) > before or granularity not in GRANULARITIES or date is None or arn_match is None:
        return None
    return BatchInput(
        granularity=granularity,
        date=date,
        execution_arn=str(arn),
        computation=Computation(
            computed_at=str(computed_at), query_execution_id=str(query_id), execution=str(execution)
        ),
    )


def _parse_date(raw: Any, problems: list[str]) -> dt.date | None:
    if not isinstance(raw, str) or not _DATE.fullmatch(raw):
        problems.append(f"{BATCH_INPUT}.date must be a date YYYY-MM-DD, got {_shown(raw)}")
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        problems.append(f"{BATCH_INPUT}.date {raw!r} is not a real date")
        return None


def _parse_row(row: Any, batch: BatchInput, messages: list[str]) -> RollupItem | None:
    if not isinstance(row, Mapping):
        messages.append(f"must be an object of column values, got {_kind(row)}")
        return None
    values: dict[str, str] = {}
    for field in ROW_FIELDS:
        value = _field(row, field, messages)
        if value is not None:
            values[field] = value
    customer_id = _customer_id(values.get(ROW_CUSTOMER_ID), messages)
    sensor_period = _sensor_period(values.get(ROW_SENSOR_PERIOD), batch, messages)
    kwh = _total_kwh(values.get(ROW_TOTAL_KWH), messages)
    count = _reading_count(values.get(ROW_READING_COUNT), messages)
    if customer_id is None or sensor_period is None or kwh is None or count is None:
        return None
    return RollupItem(
        customer_id=customer_id,
        sensor_period=sensor_period,
        kwh=kwh,
        granularity=batch.granularity,
        reading_count=count,
        computation=batch.computation,
    )


def _field(row: Mapping[str, Any], field: str, messages: list[str]) -> str | None:
    if field not in row:
        messages.append(f"{field} is missing")
        return None
    value = row[field]
    # The ItemReader gives strings; whole JSON numbers are accepted too for hand-made events.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        messages.append(f"{field} must be a string, got {_kind(value)}")
        return None
    if value == "":
        messages.append(f"{field} is empty")
        return None
    return value


def _customer_id(value: str | None, messages: list[str]) -> int | None:
    if value is None:
        return None
    if not _WHOLE.fullmatch(value) or len(value) > _MAX_ID_DIGITS:
        messages.append(
            f"{ROW_CUSTOMER_ID} {value!r} is not a whole number of at most {_MAX_ID_DIGITS} digits"
        )
        return None
    return int(value)


def _sensor_period(value: str | None, batch: BatchInput, messages: list[str]) -> str | None:
    if value is None:
        return None
    try:
        key = parse_sort_key(value, batch.granularity)
    except SortKeyError as exc:
        messages.append(f"{ROW_SENSOR_PERIOD} {value!r} {exc}")
        return None
    period = format_period("day" if key.granularity == "hour" else key.granularity, key.start)
    if period != batch.period:
        what = "month" if batch.granularity == "month" else "date"
        messages.append(
            f"{ROW_SENSOR_PERIOD} {value!r} is for {period}, not the batch's {what} {batch.period}"
        )
        return None
    return value


def _total_kwh(value: str | None, messages: list[str]) -> Decimal | None:
    if value is None:
        return None
    if not _NUMBER.fullmatch(value):
        messages.append(f"{ROW_TOTAL_KWH} {value!r} is not a number")
        return None
    amount = Decimal(value)
    try:
        format_kwh(amount)
    except KwhAmountError as exc:
        messages.append(f"{ROW_TOTAL_KWH} {value!r}: {exc} (the queries round totals to 2 decimals)")
        return None
    return amount


def _reading_count(value: str | None, messages: list[str]) -> int | None:
    if value is None:
        return None
    if not _SIGNED_WHOLE.fullmatch(value) or len(value) > _MAX_ID_DIGITS:
        messages.append(f"{ROW_READING_COUNT} {value!r} is not a whole number")
        return None
    count = int(value)
    if count < 1:
        why = "is negative" if count < 0 else "is 0"
        messages.append(f"{ROW_READING_COUNT} {value!r} {why}: every rollup sums at least one reading")
        return None
    return count


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _shown(value: Any) -> str:
    return "nothing" if value is None else _kind(value)
