"""Dates, months, ranges and times as operators type them, with one-line errors."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from meterpipe.errors import InvalidDateError

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_date(value: str, what: str = "date") -> dt.date:
    """``YYYY-MM-DD`` (a real calendar date)."""
    text = value.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise InvalidDateError(f"{what} {value!r} is not a date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidDateError(f"{what} {value!r} is not a real calendar date") from None


def parse_month(value: str, what: str = "month") -> dt.date:
    """``YYYY-MM`` -> the first day of that month."""
    match = _MONTH.fullmatch(value.strip())
    if match is None:
        raise InvalidDateError(f"{what} {value!r} is not a month (YYYY-MM)")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise InvalidDateError(f"{what} {value!r} is not a month (month {month} is not 01..12)")
    return dt.date(year, month, 1)


def parse_time(value: str, zone: ZoneInfo, what: str = "time") -> dt.datetime:
    """An ISO 8601 time (``2024-01-06T03:30:00Z``, ``2024-01-06T03:30``, ``2024-01-06 03:30+01:00``);
    a time without an offset is in ``zone``. Returned in UTC."""
    text = value.strip().replace(" ", "T", 1)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidDateError(
            f"{what} {value!r} is not a time (ISO 8601, e.g. 2024-01-06T03:30:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(dt.UTC)


def month_days(first: dt.date) -> list[dt.date]:
    _, count = calendar.monthrange(first.year, first.month)
    return [first.replace(day=n) for n in range(1, count + 1)]


@dataclass(frozen=True)
class DateRange:
    """Days from ``start`` to ``end``, both included."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidDateError(f"--to {self.end} is before --from {self.start}")

    @classmethod
    def parse(cls, start: str, end: str) -> DateRange:
        return cls(parse_date(start, "--from"), parse_date(end, "--to"))

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def __len__(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end

    def __str__(self) -> str:
        return f"{self.start}..{self.end}" if self.start != self.end else str(self.start)


def optional_range(start: str | None, end: str | None) -> DateRange | None:
    """``--from``/``--to`` where both are optional: one alone is a one-sided range."""
    if start is None and end is None:
        return None
    first = parse_date(start, "--from") if start else dt.date.min
    last = parse_date(end, "--to") if end else dt.date.max
    return DateRange(first, last)


def contiguous(days: list[dt.date]) -> list[DateRange]:
    """Sorted days grouped into runs of consecutive days."""
    ranges: list[DateRange] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1].end + dt.timedelta(days=1):
            ranges[-1] = DateRange(ranges[-1].start, day)
        else:
            ranges.append(DateRange(day, day))
    return ranges


def scheduled_day(scheduled_time: str, zone: ZoneInfo) -> dt.date | None:
    """The processing date of a scheduled run: the calendar day before ``scheduled_time`` in
    ``zone`` (as daily_rollup's ResolveDate does); None when the text is not a time."""
    try:
        when = dt.datetime.fromisoformat(scheduled_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(zone).date() - dt.timedelta(days=1)


def iso_utc(when: dt.datetime | None) -> str | None:
    """``2024-01-06T03:30:00Z``: a time in UTC as the ``--json`` outputs write it; None stays None."""
    return None if when is None else when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def format_duration(seconds: float | None) -> str:
    """``850 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``; ``-`` for None."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} d {hours % 24:02d} h"
