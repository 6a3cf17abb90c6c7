"""A month of processing dates, each by the status of its latest run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from meterpipe.ops.dates import DateRange, month_days
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.runs import Run, list_runs, runs_by_day

Category = Literal["succeeded", "failed", "running", "never"]
CATEGORIES: tuple[Category, ...] = ("succeeded", "failed", "running", "never")


def category(run: Run | None) -> Category:
    if run is None:
        return "never"
    if run.status == "SUCCEEDED":
        return "succeeded"
    if run.failed:
        return "failed"
    return "running"


@dataclass(frozen=True)
class CalendarDay:
    date: dt.date
    latest: Run | None

    @property
    def category(self) -> Category:
        return category(self.latest)


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
            "days": [
                {
                    "date": d.date.isoformat(),
                    "status": d.category,
                    "latestStatus": d.latest.status if d.latest else None,
                    "execution": d.latest.name if d.latest else None,
                }
                for d in self.days
            ],
        }


def month_calendar(pipeline: Pipeline, month: dt.date) -> MonthCalendar:
    days = month_days(month)
    grouped = runs_by_day(list_runs(pipeline, DateRange(days[0], days[-1])))
    return MonthCalendar(
        month, tuple(CalendarDay(day, grouped[day].latest if day in grouped else None) for day in days)
    )
