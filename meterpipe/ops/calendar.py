"""A month of processing dates, each by its ledger status: one Query of the month's day records,
and one listing of the month's lake objects that tells a stale success from a current one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from meterpipe.ops.dates import DateRange, month_days
from meterpipe.ops.fingerprint import Fingerprint
from meterpipe.ops.inputs import day_inputs
from meterpipe.ops.ledger import DayRecord, day_records
from meterpipe.ops.pipeline import Pipeline

Category = Literal["succeeded", "stale", "failed", "incomplete", "no_data", "aborted", "running", "never"]
CATEGORIES: tuple[Category, ...] = (
    "succeeded",
    "stale",
    "failed",
    "incomplete",
    "no_data",
    "aborted",
    "running",
    "never",
)
LABELS: dict[Category, str] = {
    "succeeded": "succeeded",
    "stale": "stale",
    "failed": "failed",
    "incomplete": "incomplete",
    "no_data": "no data",
    "aborted": "aborted",
    "running": "running",
    "never": "never run",
}
_BY_STATUS: dict[str, Category] = {
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "INCOMPLETE": "incomplete",
    "NO_DATA": "no_data",
    "ABORTED": "aborted",
    "RUNNING": "running",
}


def category(record: DayRecord | None, *, stale: bool = False) -> Category:
    """A day's cell: its ledger status; a success whose input changed since is stale."""
    if record is None:
        return "never"
    if record.succeeded and stale:
        return "stale"
    return _BY_STATUS.get(record.status, "failed")


@dataclass(frozen=True)
class CalendarDay:
    date: dt.date
    record: DayRecord | None
    stale: bool = False  # succeeded, but the day's lake objects changed since

    @property
    def category(self) -> Category:
        return category(self.record, stale=self.stale)

    def to_json(self) -> dict[str, Any]:
        record = self.record
        return {
            "date": self.date.isoformat(),
            "status": self.category,
            "ledgerStatus": record.status if record else None,
            "attempts": record.attempts if record else 0,
            "itemsWritten": record.items_written if record else None,
            "execution": record.execution_name if record else None,
            "executionArn": record.execution_arn if record else None,
        }


@dataclass(frozen=True)
class MonthCalendar:
    month: dt.date  # the first day
    days: tuple[CalendarDay, ...]

    def counts(self) -> dict[Category, int]:
        return {c: sum(1 for d in self.days if d.category == c) for c in CATEGORIES}

    def to_json(self) -> dict[str, Any]:
        return {
            "month": f"{self.month:%Y-%m}",
            "counts": self.counts(),
            "days": [d.to_json() for d in self.days],
        }


def month_calendar(
    pipeline: Pipeline, month: dt.date, *, inputs: Mapping[dt.date, Fingerprint] | None = None
) -> MonthCalendar:
    """The month's days by ledger status: one Query. A success whose input fingerprint differs
    from the day's lake objects now (``inputs``; by default one listing of the month) is stale."""
    days = month_days(month)
    span = DateRange(days[0], days[-1])
    records = day_records(pipeline, span)
    now = day_inputs(pipeline, span) if inputs is None else inputs

    def stale(record: DayRecord | None) -> bool:
        if record is None or not record.succeeded or record.fingerprint is None or record.date not in now:
            return False  # (a success recorded without a fingerprint cannot be judged)
        return record.fingerprint != now[record.date].value

    cells = (CalendarDay(day, records.get(day), stale(records.get(day))) for day in days)
    return MonthCalendar(month, tuple(cells))
