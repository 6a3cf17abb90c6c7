"""One customer's kWh for a month: each day per sensor, the month's totals, one day's hours, and the
months of the year, read from the rollup table with key-condition Queries only.

The sort key is ``<sensor>#<period>``, so for one sensor every item of a month sorts together:
``s#2024-01`` (the month), ``s#2024-01-01`` (a day), ``s#2024-01-01T00`` (its hours), ... up to
``s#2024-01-31T23``. The customer's sensors are found by skipping from one sensor's keys to the
next (``SensorID-Period > '<sensor>#~'``, one item a Query); a sensor's first and last months are
its first and last keys (one Query each way). A month then costs one Query a sensor, and the
year's month totals one equality Query per sensor and month it has items in.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from handlers.rollup_format import CUSTOMER_ID, KWH_AMOUNT, SENSOR_PERIOD, SEPARATOR
from meterpipe.errors import MeterpipeError
from meterpipe.ops.dates import month_days
from meterpipe.ops.pipeline import Pipeline

_AFTER_EVERY_PERIOD = "~"  # sorts after digits, '-' and 'T': past every key of a sensor
_WORKERS = 8


class UnknownCustomer(MeterpipeError):
    """No item of that customer in the rollup table."""


@dataclass
class CustomerMonth:
    customer: int
    month: dt.date  # its first day
    sensors: list[int]
    latest_month: dt.date  # the newest month with items, of any sensor
    days: list[dt.date]
    day_kwh: dict[tuple[int, dt.date], Decimal] = field(default_factory=dict)
    month_kwh: dict[int, Decimal] = field(default_factory=dict)
    hours_day: dt.date | None = None  # the day whose hours are shown
    hour_kwh: dict[tuple[int, int], Decimal] = field(default_factory=dict)
    year_kwh: dict[tuple[int, dt.date], Decimal] = field(default_factory=dict)  # (sensor, month)
    year_months: list[dt.date] = field(default_factory=list)  # the 12 months ending at ``month``

    @property
    def month_total(self) -> Decimal:
        return sum(self.month_kwh.values(), Decimal(0))

    def day_total(self, day: dt.date) -> Decimal | None:
        values = [self.day_kwh[(s, day)] for s in self.sensors if (s, day) in self.day_kwh]
        return sum(values, Decimal(0)) if values else None

    def to_json(self) -> dict[str, Any]:
        def number(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "customer": self.customer,
            "month": f"{self.month:%Y-%m}",
            "latestMonth": f"{self.latest_month:%Y-%m}",
            "sensors": self.sensors,
            "monthKwh": {str(s): number(self.month_kwh.get(s)) for s in self.sensors},
            "monthTotalKwh": number(self.month_total) if self.month_kwh else None,
            "days": [
                {
                    "day": day.isoformat(),
                    "kwh": {str(s): number(self.day_kwh.get((s, day))) for s in self.sensors},
                    "totalKwh": number(self.day_total(day)),
                }
                for day in self.days
            ],
            "hoursDay": self.hours_day.isoformat() if self.hours_day else None,
            "hours": [
                {"hour": hour, "kwh": {str(s): number(self.hour_kwh.get((s, hour))) for s in self.sensors}}
                for hour in range(24)
            ],
            "months": [
                {
                    "month": f"{m:%Y-%m}",
                    "kwh": {str(s): number(self.year_kwh.get((s, m))) for s in self.sensors},
                }
                for m in self.year_months
            ],
        }


def customer_month(
    pipeline: Pipeline, customer: int, month: dt.date | None = None, day: dt.date | None = None
) -> CustomerMonth:
    """The customer's ``month`` (default: the latest with items) and the hours of ``day`` (default:
    the latest day of the month with hour items)."""
    reader = _Reader(pipeline, customer)
    sensors = reader.sensors()
    if not sensors:
        raise UnknownCustomer(f"customer {customer} has no items in {pipeline.deployment.rollup_table}")
    spans = {s: (reader.month_at_end(s, last=False), reader.month_at_end(s, last=True)) for s in sensors}
    latest = max(last for _, last in spans.values())
    month = (month or latest).replace(day=1)
    if day is not None and day.replace(day=1) != month:
        raise MeterpipeError(f"day {day} is not in {month:%Y-%m}")
    result = CustomerMonth(customer, month, sensors, latest, month_days(month))
    hours: dict[dt.date, dict[tuple[int, int], Decimal]] = {}
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        for sensor, items in zip(
            sensors, pool.map(lambda s: reader.month_items(s, month), sensors), strict=True
        ):
            for period, kwh in items:
                if len(period) == 7:  # 2024-01
                    result.month_kwh[sensor] = kwh
                elif len(period) == 10:  # 2024-01-05
                    result.day_kwh[(sensor, dt.date.fromisoformat(period))] = kwh
                else:  # 2024-01-05T18
                    hours.setdefault(dt.date.fromisoformat(period[:10]), {})[(sensor, int(period[11:13]))] = (
                        kwh
                    )
        result.year_months = [_add_months(month, -n) for n in range(11, -1, -1)]
        # Only the months a sensor has items in can hold a month item: no Query outside them.
        keys = [(s, m) for s in sensors for m in result.year_months if spans[s][0] <= m <= spans[s][1]]
        for key, found in zip(
            keys, pool.map(lambda k: reader.item(k[0], f"{k[1]:%Y-%m}"), keys), strict=True
        ):
            if found is not None:
                result.year_kwh[key] = found
    result.hours_day = day or max(hours, default=None)
    if result.hours_day is not None:
        result.hour_kwh = hours.get(result.hours_day, {})
    return result


def _add_months(first: dt.date, months: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


class _Reader:
    def __init__(self, pipeline: Pipeline, customer: int) -> None:
        self.client = pipeline.client("dynamodb")
        self.table = pipeline.deployment.rollup_table
        self.customer = customer

    def _query(self, condition: str, values: dict[str, str], **extra: Any) -> list[dict[str, Any]]:
        arguments: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {
                "#c": CUSTOMER_ID,
                **({"#k": SENSOR_PERIOD} if "#k" in condition else {}),
            },
            "ExpressionAttributeValues": {
                ":c": {"N": str(self.customer)},
                **{name: {"S": value} for name, value in values.items()},
            },
            **extra,
        }
        if "Limit" in extra:
            return list(self.client.query(**arguments)["Items"])
        items: list[dict[str, Any]] = []
        for page in self.client.get_paginator("query").paginate(**arguments):
            items.extend(page["Items"])
        return items

    def sensors(self) -> list[int]:
        found: list[int] = []
        items = self._query("#c = :c", {}, Limit=1)
        while items:
            sensor = items[0][SENSOR_PERIOD]["S"].split(SEPARATOR, 1)[0]
            found.append(int(sensor))
            after = f"{sensor}{SEPARATOR}{_AFTER_EVERY_PERIOD}"
            items = self._query("#c = :c AND #k > :after", {":after": after}, Limit=1)
        return sorted(found)

    def month_at_end(self, sensor: int, *, last: bool) -> dt.date:
        """The month of the sensor's first (or last) item: its first (last) key in sort order."""
        prefix = f"{sensor}{SEPARATOR}"
        [item] = self._query(
            "#c = :c AND begins_with(#k, :p)", {":p": prefix}, Limit=1, ScanIndexForward=not last
        )
        period = item[SENSOR_PERIOD]["S"].split(SEPARATOR, 1)[1]
        return dt.date(int(period[:4]), int(period[5:7]), 1)

    def month_items(self, sensor: int, month: dt.date) -> list[tuple[str, Decimal]]:
        low = f"{sensor}{SEPARATOR}{month:%Y-%m}"
        items = self._query(
            "#c = :c AND #k BETWEEN :lo AND :hi", {":lo": low, ":hi": low + _AFTER_EVERY_PERIOD}
        )
        return [(i[SENSOR_PERIOD]["S"].split(SEPARATOR, 1)[1], Decimal(i[KWH_AMOUNT]["N"])) for i in items]

    def item(self, sensor: int, period: str) -> Decimal | None:
        items = self._query("#c = :c AND #k = :k", {":k": f"{sensor}{SEPARATOR}{period}"})
        return Decimal(items[0][KWH_AMOUNT]["N"]) if items else None
