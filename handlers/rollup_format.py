"""The rollup table's data contract: table name, attribute names, granularities, sort-key formats.

Dashboards and PartiQL queries written for the upstream AWS sample read these names and formats, so
they live in one place. This module is part of the Lambda asset (``handlers/``) and imports nothing
beyond the standard library, so ``meterpipe`` (CLI, table specs, reconciliation) can import it too.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Final, Literal, get_args

TABLE_NAME: Final = "ElectricityMeteredByPeriod"

# Attribute names. The first three are the upstream sample's contract.
CUSTOMER_ID: Final = "CustomerID"  # N, partition key
SENSOR_PERIOD: Final = "SensorID-Period"  # S, sort key: "<sensor>#<period>"
KWH_AMOUNT: Final = "kWh-Amount"  # N, the period's total kWh with at most 2 decimals
GRANULARITY: Final = "Granularity"  # S, one of GRANULARITIES
READING_COUNT: Final = "ReadingCount"  # N, readings summed into the item
# The computation an item came from (docs/ledger.md, "Items, and corrections both ways"): a later
# computation replaces an earlier one, up or down; an earlier one never replaces a later one.
COMPUTED_AT: Final = "ComputedAt"  # S, the query's submission time, ISO 8601 UTC with milliseconds
QUERY_EXECUTION_ID: Final = "QueryExecutionId"  # S, the Athena query the item's row came from
EXECUTION: Final = "Execution"  # S, the name of the daily_rollup execution that wrote it

# The query result's columns, as the Distributed Map's CSV ItemReader keys each row.
ROW_CUSTOMER_ID: Final = "customerid"
ROW_SENSOR_PERIOD: Final = "sensorid_period"
ROW_TOTAL_KWH: Final = "total_kwh"
ROW_READING_COUNT: Final = "reading_count"
ROW_FIELDS: Final = (ROW_CUSTOMER_ID, ROW_SENSOR_PERIOD, ROW_TOTAL_KWH, ROW_READING_COUNT)

Granularity = Literal["hour", "day", "month"]
GRANULARITIES: Final[tuple[Granularity, ...]] = get_args(Granularity)

KWH_DECIMALS: Final = 2
SEPARATOR: Final = "#"

# Period formats: 2022-01-05T18 (hour), 2022-01-05 (day), 2022-01 (month).
_PERIOD_PATTERNS: Final[dict[Granularity, re.Pattern[str]]] = {
    "hour": re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})T(?P<hour>\d{2})"),
    "day": re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"),
    "month": re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})"),
}
_PERIOD_EXAMPLES: Final[dict[Granularity, str]] = {
    "hour": "YYYY-MM-DDTHH",
    "day": "YYYY-MM-DD",
    "month": "YYYY-MM",
}
_SENSOR = re.compile(r"\d+")


@dataclass(frozen=True)
class SortKey:
    """A parsed ``SensorID-Period`` value."""

    sensor_id: int
    granularity: Granularity
    start: dt.date  # first day of the period (the day itself for hour and day)
    hour: int | None = None  # 0..23 for hour keys

    def __str__(self) -> str:
        return format_sort_key(self.sensor_id, self.granularity, self.start, self.hour)


class SortKeyError(ValueError):
    """A ``SensorID-Period`` value that does not follow the contract's format."""


def period_format(granularity: Granularity) -> str:
    """The period's format, for messages: ``YYYY-MM-DDTHH``, ``YYYY-MM-DD`` or ``YYYY-MM``."""
    return _PERIOD_EXAMPLES[granularity]


def format_period(granularity: Granularity, day: dt.date, hour: int | None = None) -> str:
    """The period part of a sort key for the period of ``granularity`` that contains ``day``."""
    if granularity == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if granularity == "day":
        return day.isoformat()
    if hour is None or not 0 <= hour <= 23:
        raise ValueError(f"an hour key needs an hour 0..23, got {hour!r}")
    return f"{day.isoformat()}T{hour:02d}"


def format_sort_key(sensor_id: int, granularity: Granularity, day: dt.date, hour: int | None = None) -> str:
    """``51246501#2022-01-05T18`` (hour), ``51246501#2022-01-05`` (day), ``51246501#2022-01`` (month)."""
    return f"{sensor_id}{SEPARATOR}{format_period(granularity, day, hour)}"


def parse_sort_key(value: str, granularity: Granularity) -> SortKey:
    """Parse a sort key of ``granularity``.

    :class:`SortKeyError`'s message says what does not match, worded to follow the value
    (``'5#2022-01-04' is a day key, not a month key (<sensor>#YYYY-MM)``).
    """
    sensor, sep, period = value.partition(SEPARATOR)
    expected = f"<sensor>{SEPARATOR}{period_format(granularity)}"
    if not sep:
        raise SortKeyError(f"has no '{SEPARATOR}' between sensor and period (expected {expected})")
    if not _SENSOR.fullmatch(sensor):
        raise SortKeyError(f"has sensor {sensor!r}, not a whole number (expected {expected})")
    match = _PERIOD_PATTERNS[granularity].fullmatch(period)
    if match is None:
        actual = _granularity_of(period)
        if actual is not None:
            raise SortKeyError(
                f"is {_article(actual)} {actual} key, not {_article(granularity)} {granularity} key "
                f"({expected})"
            )
        raise SortKeyError(f"has period {period!r}, not {period_format(granularity)} (expected {expected})")
    fields = match.groupdict()
    try:
        start = dt.date(int(fields["year"]), int(fields["month"]), int(fields.get("day") or 1))
    except ValueError as exc:
        raise SortKeyError(f"has period {period!r}, not a real date ({exc})") from None
    hour = int(fields["hour"]) if fields.get("hour") is not None else None
    if hour is not None and hour > 23:
        raise SortKeyError(f"has hour {hour:02d}, not 00..23")
    return SortKey(sensor_id=int(sensor), granularity=granularity, start=start, hour=hour)


def _article(granularity: Granularity) -> str:
    return "an" if granularity == "hour" else "a"


def _granularity_of(period: str) -> Granularity | None:
    for granularity, pattern in _PERIOD_PATTERNS.items():
        if pattern.fullmatch(period):
            return granularity
    return None


class KwhAmountError(ValueError):
    """A kWh total that cannot be stored as the contract's ``kWh-Amount``."""


_CENT: Final = Decimal(1).scaleb(-KWH_DECIMALS)
# DynamoDB numbers hold up to 38 significant digits; two of them are the decimals.
_MAX_DIGITS: Final = 38
# Wide enough that quantizing any value that passes the digit check is exact.
_EXACT: Final = Context(prec=_MAX_DIGITS + 2, traps=[InvalidOperation])


def format_kwh(value: Decimal) -> str:
    """``kWh-Amount`` as written: at most 2 decimals, DynamoDB's canonical text (``12.5``, ``1250``, ``0``).

    DynamoDB keeps a number's value, not its text (``12.50`` reads back as ``12.5``), so writing the
    canonical text makes every backend (AWS, MiniStack, moto) hold the same item. A value with more
    than 2 decimals is an error, not silently rounded: the queries round to 2, so more means a bug
    upstream.
    """
    if not value.is_finite():
        raise KwhAmountError(f"{value} is not a finite number")
    if value.adjusted() >= _MAX_DIGITS - KWH_DECIMALS:
        raise KwhAmountError(f"{value} has more than {_MAX_DIGITS - KWH_DECIMALS} digits before the point")
    cents = _EXACT.quantize(value, _CENT)
    if cents != value:
        raise KwhAmountError(f"{value} has more than {KWH_DECIMALS} decimals")
    text = f"{cents:f}"  # always has the point: cents carries exactly two decimals
    text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
