from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from localcloud.scheduler.expressions import ExpressionError, due_times, next_time, parse

UTC = dt.UTC


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def times(expression: str, zone: str, after: str, until: str, anchor: str | None = None) -> list[str]:
    found = due_times(
        parse(expression), ZoneInfo(zone), after=utc(after), until=utc(until), anchor=utc(anchor or after)
    )
    return [t.strftime("%Y-%m-%dT%H:%M") for t in found]


def test_the_projects_daily_cron_fires_at_0330_utc_each_day() -> None:
    assert times("cron(30 3 * * ? *)", "UTC", "2022-01-01T00:00", "2022-01-03T23:59") == [
        "2022-01-01T03:30",
        "2022-01-02T03:30",
        "2022-01-03T03:30",
    ]


def test_a_wall_clock_time_skipped_by_spring_forward_does_not_fire() -> None:
    # Europe/London jumps from 01:00 to 02:00 on 2024-03-31: 01:30 does not exist that day.
    assert times("cron(30 1 * * ? *)", "Europe/London", "2024-03-30T00:00", "2024-04-01T12:00") == [
        "2024-03-30T01:30",  # GMT
        "2024-04-01T00:30",  # BST: 01:30 local
    ]


def test_a_wall_clock_time_repeated_by_fall_back_fires_once() -> None:
    # America/New_York repeats 01:00-02:00 on 2024-11-03.
    assert times("cron(30 1 * * ? *)", "America/New_York", "2024-11-03T00:00", "2024-11-03T23:59") == [
        "2024-11-03T05:30"
    ]


def test_day_of_week_names_ranges_last_and_nth() -> None:
    # Weekdays 08:00 UTC in the week of Monday 2024-01-01.
    assert times("cron(0 8 ? * MON-FRI *)", "UTC", "2024-01-01T00:00", "2024-01-07T23:59") == [
        f"2024-01-0{d}T08:00" for d in range(1, 6)
    ]
    assert times("cron(0 8 ? * 6L *)", "UTC", "2024-01-01T00:00", "2024-02-29T23:59") == [
        "2024-01-26T08:00",
        "2024-02-23T08:00",
    ]  # last Friday
    assert times("cron(0 8 ? * 2#1 *)", "UTC", "2024-01-01T00:00", "2024-02-29T23:59") == [
        "2024-01-01T08:00",
        "2024-02-05T08:00",
    ]  # first Monday


def test_day_of_month_last_and_nearest_weekday() -> None:
    assert times("cron(0 0 L * ? *)", "UTC", "2024-01-01T00:00", "2024-03-31T23:59") == [
        "2024-01-31T00:00",
        "2024-02-29T00:00",
        "2024-03-31T00:00",
    ]
    # 2024-06-15 is a Saturday: the nearest weekday is Friday the 14th.
    assert times("cron(0 0 15W * ? 2024)", "UTC", "2024-06-01T00:00", "2024-06-30T23:59") == [
        "2024-06-14T00:00"
    ]


def test_minute_steps_and_lists() -> None:
    assert times("cron(0/20 10,12 * * ? *)", "UTC", "2024-01-01T00:00", "2024-01-01T23:59") == [
        "2024-01-01T10:00",
        "2024-01-01T10:20",
        "2024-01-01T10:40",
        "2024-01-01T12:00",
        "2024-01-01T12:20",
        "2024-01-01T12:40",
    ]


def test_rate_counts_elapsed_time_from_its_anchor_across_dst() -> None:
    assert times(
        "rate(1 day)", "Europe/London", "2024-03-30T09:00", "2024-04-01T10:00", anchor="2024-03-30T09:00"
    ) == [
        "2024-03-31T09:00",
        "2024-04-01T09:00",
    ]
    first = next_time(
        parse("rate(5 minutes)"),
        ZoneInfo("UTC"),
        after=utc("2024-01-01T00:00"),
        anchor=utc("2024-01-01T00:02"),
    )
    assert first == utc("2024-01-01T00:02")


def test_at_is_a_wall_clock_time_in_the_zone_and_fires_once() -> None:
    assert times("at(2024-07-01T09:00:00)", "Europe/Paris", "2024-06-30T00:00", "2024-07-02T00:00") == [
        "2024-07-01T07:00"
    ]


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 9 * * * *)",  # both day fields set
        "cron(0 9 ? * ? *)",  # neither
        "cron(0 9 * *)",
        "cron(61 9 * * ? *)",
        "rate(0 hours)",
        "rate(5 weeks)",
        "at(2024-13-01T00:00:00)",
        "daily",
    ],
)
def test_invalid_expressions_are_refused_naming_the_expression(expression: str) -> None:
    with pytest.raises(ExpressionError, match="Invalid Schedule Expression"):
        parse(expression)
