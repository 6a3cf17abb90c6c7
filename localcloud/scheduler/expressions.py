"""EventBridge Scheduler's schedule expressions and when they fall due.

- ``at(yyyy-mm-ddThh:mm:ss)``: once, at that wall-clock time in the schedule's time zone.
- ``rate(value unit)``: every value minutes/hours/days of elapsed time from StartDate (or from
  creation: a rate schedule without StartDate fires at once); a day is 24 hours whatever DST does.
- ``cron(minutes hours day-of-month month day-of-week year)``: AWS's six-field cron, evaluated in
  the time zone: ``, - * /`` everywhere, ``?`` in exactly one of the day fields, ``L`` and ``W`` in
  day-of-month, ``L`` and ``#`` in day-of-week (1 = SUN .. 7 = SAT, or SUN-SAT), JAN-DEC.
  Across DST, a time that does not exist (spring forward) is skipped and a time that happens twice
  (fall back) fires once, as EventBridge Scheduler does.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}  # Jan -> 1
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MAX_SCAN_DAYS = 366 * 8


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True)
class At:
    local: dt.datetime  # naive, in the schedule's zone


@dataclass(frozen=True)
class Rate:
    seconds: int


@dataclass(frozen=True)
class DayOfMonth:
    values: frozenset[int] | None  # None: any ('*' or '?')
    last: bool = False
    nearest_weekday: int | None = None  # nW
    last_weekday: bool = False  # LW


@dataclass(frozen=True)
class DayOfWeek:
    values: frozenset[int] | None  # 1 = Sunday .. 7 = Saturday; None: any
    last: int | None = None  # nL: the last such weekday of the month
    nth: tuple[int, int] | None = None  # (weekday, n): n#k


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    day_of_month: DayOfMonth
    months: frozenset[int]
    day_of_week: DayOfWeek
    years: frozenset[int]
    dom_is_question: bool


Expression = At | Rate | Cron


def parse_timezone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ExpressionError(f"Invalid ScheduleExpressionTimezone: {name}") from exc


def parse(expression: str) -> Expression:
    text = expression.strip()
    found = re.fullmatch(r"(at|rate|cron)\((.*)\)", text)
    if not found:
        raise ExpressionError(f"Invalid Schedule Expression {expression}.")
    kind, body = found.groups()
    if kind == "at":
        try:
            return At(dt.datetime.strptime(body.strip(), "%Y-%m-%dT%H:%M:%S"))
        except ValueError as exc:
            raise ExpressionError(
                f"Invalid Schedule Expression {expression}: use at(yyyy-mm-ddThh:mm:ss)."
            ) from exc
    if kind == "rate":
        rate = re.fullmatch(r"\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*", body)
        if not rate or int(rate.group(1)) < 1:
            raise ExpressionError(
                f"Invalid Schedule Expression {expression}: use rate(value unit), value a positive "
                f"integer and unit "
                "minute(s), hour(s) or day(s)."
            )
        value, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        return Rate(value * {"minute": 60, "hour": 3600, "day": 86400}[unit])
    return _parse_cron(expression, body)


def _parse_cron(expression: str, body: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise ExpressionError(
            f"Invalid Schedule Expression {expression}: cron takes 6 fields, got {len(fields)}."
        )
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ExpressionError(
            f"Invalid Schedule Expression {expression}: exactly one of day-of-month and day-of-week "
            f"must be '?'."
        )
    try:
        return Cron(
            minutes=_values(minutes, 0, 59),
            hours=_values(hours, 0, 23),
            day_of_month=_day_of_month(dom),
            months=_values(month, 1, 12, names=_MONTHS_UPPER),
            day_of_week=_day_of_week(dow),
            years=_values(year, 1970, 2199),
            dom_is_question=dom == "?",
        )
    except ExpressionError as exc:
        raise ExpressionError(f"Invalid Schedule Expression {expression}: {exc}") from exc


_MONTHS_UPPER = {name.upper(): number for name, number in _MONTHS.items()}


def _number(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ExpressionError(f"'{text}' is not a valid value")
    return int(text)


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    result: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step_text and (not step_text.isdigit() or step < 1):
            raise ExpressionError(f"'{part}' has an invalid increment")
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _number(first, names), _number(last, names)
        else:
            start = _number(base, names)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high):
            raise ExpressionError(f"'{part}' is outside {low}-{high}")
        if start <= end:
            result.update(range(start, end + 1, step))
        else:  # a wrapping range such as FRI-MON or 22-2
            span = list(range(start, high + 1)) + list(range(low, end + 1))
            result.update(span[::step])
    return frozenset(result)


def _day_of_month(field: str) -> DayOfMonth:
    if field in ("*", "?"):
        return DayOfMonth(None)
    if field == "L":
        return DayOfMonth(None, last=True)
    if field == "LW":
        return DayOfMonth(None, last_weekday=True)
    weekday = re.fullmatch(r"(\d{1,2})W", field)
    if weekday:
        day = int(weekday.group(1))
        if not 1 <= day <= 31:
            raise ExpressionError(f"'{field}' is outside 1-31")
        return DayOfMonth(None, nearest_weekday=day)
    return DayOfMonth(_values(field, 1, 31))


def _day_of_week(field: str) -> DayOfWeek:
    if field in ("*", "?"):
        return DayOfWeek(None)
    last = re.fullmatch(r"(\w{1,3})L", field)
    if last:
        return DayOfWeek(None, last=_number(last.group(1), _DAYS))
    nth = re.fullmatch(r"(\w{1,3})#([1-5])", field)
    if nth:
        return DayOfWeek(None, nth=(_number(nth.group(1), _DAYS), int(nth.group(2))))
    return DayOfWeek(_values(field, 1, 7, names=_DAYS))


# -- when a cron expression matches a day --------------------------------------------------------


def _aws_weekday(day: dt.date) -> int:
    return (day.isoweekday() % 7) + 1  # Sunday = 1 .. Saturday = 7


def _matches_day(cron: Cron, day: dt.date) -> bool:
    if day.year not in cron.years or day.month not in cron.months:
        return False
    last_day = calendar.monthrange(day.year, day.month)[1]
    if cron.dom_is_question:
        dow = cron.day_of_week
        weekday = _aws_weekday(day)
        if dow.last is not None:
            return weekday == dow.last and day.day + 7 > last_day
        if dow.nth is not None:
            return weekday == dow.nth[0] and (day.day - 1) // 7 + 1 == dow.nth[1]
        return dow.values is None or weekday in dow.values
    dom = cron.day_of_month
    if dom.last:
        return day.day == last_day
    if dom.last_weekday or dom.nearest_weekday is not None:
        target = last_day if dom.last_weekday else min(dom.nearest_weekday or 1, last_day)
        return day.day == _nearest_weekday(day.year, day.month, target, last_day)
    return dom.values is None or day.day in dom.values


def _nearest_weekday(year: int, month: int, day: int, last_day: int) -> int:
    weekday = dt.date(year, month, day).weekday()  # Monday = 0
    if weekday == 5:  # Saturday: Friday before, unless that leaves the month
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: Monday after, unless that leaves the month
        return day + 1 if day < last_day else day - 2
    return day


def _localize(local: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
    """The UTC instant of a wall-clock time, None if it does not exist (DST gap); the first of
    two when it happens twice."""
    aware = local.replace(tzinfo=zone, fold=0)
    utc = aware.astimezone(dt.UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local:
        return None
    return utc


def due_times(
    expression: Expression,
    zone: ZoneInfo,
    *,
    after: dt.datetime,
    until: dt.datetime,
    anchor: dt.datetime,
    limit: int = 1000,
) -> list[dt.datetime]:
    """Fire times t with after < t <= until (aware UTC), at most ``limit``. ``anchor`` is where a
    rate starts (StartDate or creation)."""
    times: list[dt.datetime] = []
    current = after
    while len(times) < limit:
        found = next_time(expression, zone, after=current, anchor=anchor)
        if found is None or found > until:
            break
        times.append(found)
        current = found
    return times


def next_time(
    expression: Expression, zone: ZoneInfo, *, after: dt.datetime, anchor: dt.datetime
) -> dt.datetime | None:
    """The first fire time strictly after ``after`` (aware UTC), or None."""
    if isinstance(expression, At):
        when = _localize(expression.local, zone)
        return when if when is not None and when > after else None
    if isinstance(expression, Rate):
        if after < anchor:
            return anchor
        steps = int((after - anchor).total_seconds() // expression.seconds) + 1
        return anchor + dt.timedelta(seconds=steps * expression.seconds)
    start_local = after.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    day = start_local.date()
    hours = sorted(expression.hours)
    minutes = sorted(expression.minutes)
    for _ in range(_MAX_SCAN_DAYS):
        if day.year > max(expression.years):
            return None
        if _matches_day(expression, day):
            for hour in hours:
                for minute in minutes:
                    local = dt.datetime(day.year, day.month, day.day, hour, minute)
                    if local < start_local:
                        continue
                    when = _localize(local, zone)
                    if when is not None and when > after:
                        return when
        day += dt.timedelta(days=1)
    return None
