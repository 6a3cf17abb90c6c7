"""Reading the rollup table: always a key-condition Query, never a Scan.

With a sensor, the sort key narrows the read: ``begins_with(SensorID-Period, '<sensor>#')``, or
``BETWEEN '<sensor>#<from>' AND '<sensor>#<to>'`` when ``--from``/``--to`` bound the periods.
Without one, every item of the customer is read (``CustomerID = :c``) and kept when its sort
key has the granularity's shape (``<sensor>#YYYY-MM-DDTHH`` hour, ``#YYYY-MM-DD`` day,
``#YYYY-MM`` month) and its period is within the bounds.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from handlers.rollup_format import (
    CUSTOMER_ID,
    KWH_AMOUNT,
    READING_COUNT,
    SENSOR_PERIOD,
    SEPARATOR,
    Granularity,
    SortKeyError,
    format_period,
    parse_sort_key,
)
from meterpipe.errors import InvalidDateError
from meterpipe.ops.pipeline import Pipeline

_BOUND = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2})(?:T(\d{2}))?)?")
_AFTER_EVERY_PERIOD = "~"  # sorts after every digit: the top of a sensor's key range


@dataclass(frozen=True)
class RollupItem:
    customer: int
    sensor: int
    period: str  # 2022-01-05T18 | 2022-01-05 | 2022-01
    granularity: Granularity
    kwh: Decimal
    readings: int | None = None

    @property
    def sort_key(self) -> str:
        return f"{self.sensor}{SEPARATOR}{self.period}"

    def to_json(self) -> dict[str, Any]:
        return {
            "CustomerID": self.customer,
            "SensorID-Period": self.sort_key,
            "sensor": self.sensor,
            "period": self.period,
            "granularity": self.granularity,
            "kWh": str(self.kwh),
            "readings": self.readings,
        }


def period_bound(value: str, granularity: Granularity, *, upper: bool, what: str) -> str:
    """``--from``/``--to`` (``YYYY-MM``, ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH``) as a period of the
    granularity: the first (``--from``) or last (``--to``) period it covers."""
    match = _BOUND.fullmatch(value.strip())
    if match is None:
        raise InvalidDateError(f"{what} {value!r} is not YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH")
    year, month = int(match.group(1)), int(match.group(2))
    day = int(match.group(3)) if match.group(3) else None
    hour = int(match.group(4)) if match.group(4) else None
    try:
        last_day = calendar.monthrange(year, month)[1]
        date = dt.date(year, month, day if day is not None else (last_day if upper else 1))
    except (ValueError, calendar.IllegalMonthError):
        raise InvalidDateError(f"{what} {value!r} is not a real date") from None
    if hour is not None and hour > 23:
        raise InvalidDateError(f"{what} {value!r} has hour {hour}, not 00..23")
    return format_period(granularity, date, hour if hour is not None else (23 if upper else 0))


def query_rollups(
    pipeline: Pipeline,
    *,
    customer: int,
    granularity: Granularity,
    sensor: int | None = None,
    start: str | None = None,
    end: str | None = None,
) -> list[RollupItem]:
    """The customer's items of one granularity, by sensor and period."""
    low = period_bound(start, granularity, upper=False, what="--from") if start else None
    high = period_bound(end, granularity, upper=True, what="--to") if end else None
    if low and high and high < low:
        raise InvalidDateError(f"--to {end} is before --from {start}")
    values: dict[str, Any] = {":c": {"N": str(customer)}}
    condition = "#c = :c"
    names = {"#c": CUSTOMER_ID}
    if sensor is not None:
        names["#k"] = SENSOR_PERIOD
        prefix = f"{sensor}{SEPARATOR}"
        if low is None and high is None:
            condition += " AND begins_with(#k, :p)"
            values[":p"] = {"S": prefix}
        else:
            condition += " AND #k BETWEEN :lo AND :hi"
            values[":lo"] = {"S": prefix + (low or "")}
            values[":hi"] = {"S": prefix + (high or _AFTER_EVERY_PERIOD)}
    paginator = pipeline.client("dynamodb").get_paginator("query")
    items: list[RollupItem] = []
    for page in paginator.paginate(
        TableName=pipeline.deployment.rollup_table,
        KeyConditionExpression=condition,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    ):
        for raw in page["Items"]:
            item = _item(raw, granularity)
            if item is None or (low and item.period < low) or (high and item.period > high):
                continue
            if sensor is None or item.sensor == sensor:
                items.append(item)
    items.sort(key=lambda i: (i.sensor, i.period))
    return items


def _item(raw: dict[str, Any], granularity: Granularity) -> RollupItem | None:
    try:
        key = parse_sort_key(raw[SENSOR_PERIOD]["S"], granularity)
    except (SortKeyError, KeyError):
        return None  # another granularity's item
    period = str(key).split(SEPARATOR, 1)[1]
    count = raw.get(READING_COUNT, {}).get("N")
    return RollupItem(
        customer=int(raw[CUSTOMER_ID]["N"]),
        sensor=key.sensor_id,
        period=period,
        granularity=granularity,
        kwh=Decimal(raw[KWH_AMOUNT]["N"]),
        readings=int(count) if count is not None else None,
    )
