"""EventBridge Scheduler's schedule expressions, evaluated: when a deployed schedule fires.

meterpipe's own reading of what AWS documents (Scheduler User Guide, "Schedule types on
EventBridge Scheduler"; EventBridge "Cron expressions reference"), so ``schedule show`` borrows no
emulator code: on AWS, AWS's Scheduler is the authority, and this says what it documents.

* ``at(yyyy-mm-ddThh:mm:ss)``: once, at that wall-clock time in the schedule's zone.
* ``rate(value unit)``: every ``value`` minutes, hours or days from the schedule's start
  (``StartDate``, else when it was created).
* ``cron(minutes hours day-of-month month day-of-week year)``: six fields, with ``, - * /`` in
  every field, ``?`` in exactly one of the two day fields, ``L`` and ``W`` in day-of-month (``L``,
  ``15W``), ``L`` and ``#`` in day-of-week (``6L`` the last Friday, ``3#2`` the second Tuesday);
  months ``1-12`` or ``JAN-DEC``, days of the week ``1-7`` or ``SUN-SAT`` (1 is Sunday); years
  1970-2199.

Daylight saving time, as the guide says: a wall-clock time that does not exist (the hour the clocks
skip in spring) is skipped; one that happens twice (the hour repeated in autumn) fires once, the
first time.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from meterpipe.errors import MeterpipeError

FIRST_YEAR: Final = 1970
LAST_YEAR: Final = 2199
_MONTHS: Final = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}  # JAN -> 1
_WEEKDAYS: Final = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_RATE_UNITS: Final = {"minute": 60, "hour": 3600, "day": 86_400}


class ExpressionError(MeterpipeError):
    """A schedule expression this module cannot read, with what is wrong in it."""


@dataclass(frozen=True)
class At:
    local: dt.datetime  # naive: a wall-clock time in the schedule's zone


@dataclass(frozen=True)
class Rate:
    every: dt.timedelta


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]  # sorted
    hours: tuple[int, ...]  # sorted
    months: frozenset[int]
    years: frozenset[int]
    day: Callable[[dt.date], bool]  # the day-of-month or day-of-week field, whichever is not "?"


Expression: TypeAlias = At | Rate | Cron


def parse(expression: str) -> Expression:
    """Read ``at(...)``, ``rate(...)`` or ``cron(...)``; :class:`ExpressionError` says what is wrong."""
    text = expression.strip()
    match = re.fullmatch(r"(at|rate|cron)\((.*)\)", text)
    if not match:
        raise ExpressionError(f"{expression!r} is not at(...), rate(...) or cron(...)")
    kind, body = match.group(1), match.group(2).strip()
    if kind == "at":
        try:
            return At(dt.datetime.strptime(body, "%Y-%m-%dT%H:%M:%S"))
        except ValueError:
            raise ExpressionError(f"{expression!r}: at() takes yyyy-mm-ddThh:mm:ss") from None
    if kind == "rate":
        rate = re.fullmatch(r"([1-9][0-9]*)\s+(minute|hour|day)s?", body)
        if not rate:
            raise ExpressionError(
                f"{expression!r}: rate() takes a positive whole number and minutes|hours|days"
            )
        return Rate(dt.timedelta(seconds=int(rate.group(1)) * _RATE_UNITS[rate.group(2)]))
    return _cron(expression, body)


def zone_of(name: str | None) -> ZoneInfo:
    """The schedule's zone (``ScheduleExpressionTimezone``; none means UTC)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ExpressionError(f"{name!r} is not an IANA time zone name") from None


def next_times(
    expression: Expression,
    zone: ZoneInfo,
    *,
    after: dt.datetime,
    anchor: dt.datetime,
    count: int,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> tuple[dt.datetime, ...]:
    """The first ``count`` fire times strictly after ``after`` (UTC, ascending), none before
    ``start`` nor after ``end`` (the schedule's StartDate and EndDate). A rate counts from
    ``anchor`` (its StartDate, else its creation)."""
    found: list[dt.datetime] = []
    if start is not None:
        after = max(after, start - dt.timedelta(microseconds=1))  # the start itself may be a fire time
    for moment in _forward(expression, zone, after=after, anchor=anchor):
        if (end is not None and moment > end) or len(found) == count:
            break
        found.append(moment)
    return tuple(found)


def latest_at_or_before(
    expression: Expression,
    zone: ZoneInfo,
    *,
    at: dt.datetime,
    anchor: dt.datetime,
    start: dt.datetime | None = None,
    lookback: dt.timedelta = dt.timedelta(days=367),
) -> dt.datetime | None:
    """The latest fire time at or before ``at``, not before ``start`` and within ``lookback``;
    None if there is none. A rate counts from ``anchor``."""
    earliest = max(at - lookback, start) if start is not None else at - lookback
    found: dt.datetime | None = None
    if isinstance(expression, At):
        found = _to_utc(expression.local, zone)
    elif isinstance(expression, Rate):
        found = anchor + ((at - anchor) // expression.every) * expression.every
    else:
        day = at.astimezone(zone).date()
        while found is None and day >= earliest.astimezone(zone).date() and day.year >= FIRST_YEAR:
            found = next((m for m in reversed(list(_on_day(expression, zone, day))) if m <= at), None)
            day -= dt.timedelta(days=1)
    return found if found is not None and earliest <= found <= at else None


def _forward(
    expression: Expression, zone: ZoneInfo, *, after: dt.datetime, anchor: dt.datetime
) -> Iterator[dt.datetime]:
    if isinstance(expression, At):
        moment = _to_utc(expression.local, zone)
        if moment is not None and moment > after:
            yield moment
        return
    if isinstance(expression, Rate):
        steps = max(0, (after - anchor) // expression.every + 1)
        moment = anchor + steps * expression.every
        while True:
            yield moment
            moment += expression.every
    day = after.astimezone(zone).date()
    while day.year <= LAST_YEAR:
        for moment in _on_day(expression, zone, day):
            if moment > after:
                yield moment
        day += dt.timedelta(days=1)


def _on_day(cron: Cron, zone: ZoneInfo, day: dt.date) -> Iterator[dt.datetime]:
    """The cron's fire times on one local calendar day, ascending (UTC)."""
    if day.year not in cron.years or day.month not in cron.months or not cron.day(day):
        return
    for hour in cron.hours:
        for minute in cron.minutes:
            moment = _to_utc(dt.datetime(day.year, day.month, day.day, hour, minute), zone)
            if moment is not None:
                yield moment


def _to_utc(local: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
    """A wall-clock time in ``zone`` as UTC: None when the clocks skip it, its first occurrence
    when they repeat it (fold=0)."""
    aware = local.replace(tzinfo=zone, fold=0)
    moment = aware.astimezone(dt.UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != local:
        return None  # skipped by a move forward
    return moment


def _cron(expression: str, body: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise ExpressionError(
            f"{expression!r}: cron() takes six fields (minutes hours day-of-month month day-of-week year)"
        )
    minutes, hours, day_of_month, month, day_of_week, year = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ExpressionError(f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'")
    try:
        return Cron(
            minutes=tuple(sorted(_values(minutes, 0, 59))),
            hours=tuple(sorted(_values(hours, 0, 23))),
            months=frozenset(_values(month, 1, 12, _MONTHS)),
            years=frozenset(_values(year, FIRST_YEAR, LAST_YEAR)),
            day=_day_of_week(day_of_week) if day_of_month == "?" else _day_of_month(day_of_month),
        )
    except ValueError as error:
        raise ExpressionError(f"{expression!r}: {error}") from None


def _number(text: str, low: int, high: int, names: dict[str, int] | None) -> int:
    if names is not None and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{text!r} is not within {low}-{high}")
    return int(text)


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    """A field of ``, - * /`` items (``?`` means every value) as the set of values it selects."""
    chosen: set[int] = set()
    for item in field.split(","):
        span, _, step_text = item.partition("/")
        step = _number(step_text, 1, high - low + 1, None) if step_text else 1
        if span in ("*", "?"):
            first, last = low, high
        elif "-" in span:
            first_text, last_text = span.split("-", 1)
            first, last = _number(first_text, low, high, names), _number(last_text, low, high, names)
        else:
            first = _number(span, low, high, names)
            last = high if step_text else first
        if first <= last:
            chosen.update(range(first, last + 1, step))
        else:  # a range across the end (FRI-MON, NOV-FEB)
            width = high - low + 1
            chosen.update(low + (v - low) % width for v in range(first, last + width + 1, step))
    return chosen


def _aws_weekday(day: dt.date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Monday is 2, Sunday 1


def _last_day(day: dt.date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _day_of_month(field: str) -> Callable[[dt.date], bool]:
    if field == "L":
        return lambda day: day.day == _last_day(day)
    weekday = re.fullmatch(r"([0-9]{1,2})W", field)
    if weekday:
        wanted = _number(weekday.group(1), 1, 31, None)
        return lambda day: day.day == _nearest_weekday(day, wanted)
    days = _values(field, 1, 31)
    return lambda day: day.day in days


def _nearest_weekday(day: dt.date, wanted: int) -> int:
    """The weekday (Mon-Fri) nearest the ``wanted`` day of ``day``'s month, within that month."""
    last = _last_day(day)
    target = dt.date(day.year, day.month, min(wanted, last))
    if target.weekday() == 5:  # Saturday: the Friday before, unless that is last month
        return target.day - 1 if target.day > 1 else target.day + 2
    if target.weekday() == 6:  # Sunday: the Monday after, unless that is next month
        return target.day + 1 if target.day < last else target.day - 2
    return target.day


def _day_of_week(field: str) -> Callable[[dt.date], bool]:
    if field == "L":
        return lambda day: _aws_weekday(day) == 7
    last = re.fullmatch(r"(\w+)L", field)
    if last:
        wanted = _number(last.group(1), 1, 7, _WEEKDAYS)
        return lambda day: _aws_weekday(day) == wanted and day.day + 7 > _last_day(day)
    nth = re.fullmatch(r"(\w+)#([1-5])", field)
    if nth:
        wanted, which = _number(nth.group(1), 1, 7, _WEEKDAYS), int(nth.group(2))
        return lambda day: _aws_weekday(day) == wanted and (day.day - 1) // 7 + 1 == which
    days = _values(field, 1, 7, _WEEKDAYS)
    return lambda day: _aws_weekday(day) in days
