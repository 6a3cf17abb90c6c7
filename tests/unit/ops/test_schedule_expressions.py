"""meterpipe's own evaluation of EventBridge Scheduler expressions (``schedule show``), against the
rules the Scheduler User Guide ("Schedule types on EventBridge Scheduler") and the EventBridge cron
reference document. Expected times are worked out by hand from a calendar, not from the code."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from localcloud.scheduler import expressions as localcloud_expressions
from meterpipe.ops.schedule_expressions import (
    ExpressionError,
    latest_at_or_before,
    next_times,
    parse,
    zone_of,
)

UTC = ZoneInfo("UTC")
LONDON = ZoneInfo("Europe/London")
ANCHOR = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def fires(expression: str, after: str, count: int = 3, zone: ZoneInfo = UTC) -> list[str]:
    times = next_times(parse(expression), zone, after=t(after), anchor=ANCHOR, count=count)
    return [m.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ") for m in times]


def test_the_projects_daily_cron_fires_at_03_30_every_day() -> None:
    assert fires("cron(30 3 * * ? *)", "2024-01-05T04:00:00Z") == [
        "2024-01-06T03:30Z",
        "2024-01-07T03:30Z",
        "2024-01-08T03:30Z",
    ]


def test_a_time_the_clocks_skip_in_spring_does_not_fire() -> None:
    # Europe/London, 31 March 2024: 01:00 GMT jumps to 02:00 BST, so 01:30 does not exist that day.
    assert fires("cron(30 1 * * ? *)", "2024-03-29T12:00:00Z", zone=LONDON) == [
        "2024-03-30T01:30Z",  # GMT
        "2024-04-01T00:30Z",  # BST: 01:30 local
        "2024-04-02T00:30Z",
    ]


def test_a_time_the_clocks_repeat_in_autumn_fires_once() -> None:
    # Europe/London, 27 October 2024: 01:30 happens at 00:30 UTC (BST) and again at 01:30 UTC (GMT).
    assert fires("cron(30 1 * * ? *)", "2024-10-26T12:00:00Z", zone=LONDON) == [
        "2024-10-27T00:30Z",
        "2024-10-28T01:30Z",
        "2024-10-29T01:30Z",
    ]


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 12 L * ? *)", "2024-02-01T00:00:00Z", ["2024-02-29T12:00Z", "2024-03-31T12:00Z"]),
        ("cron(15 10 ? * 6L *)", "2024-01-01T00:00:00Z", ["2024-01-26T10:15Z", "2024-02-23T10:15Z"]),
        ("cron(0 9 ? * 3#2 *)", "2024-01-01T00:00:00Z", ["2024-01-09T09:00Z", "2024-02-13T09:00Z"]),
        # 15 June 2024 is a Saturday: the nearest weekday is Friday the 14th; 15 July a Monday.
        ("cron(0 8 15W * ? *)", "2024-06-01T00:00:00Z", ["2024-06-14T08:00Z", "2024-07-15T08:00Z"]),
        # 1 June 2024 is a Saturday: the nearest weekday within June is Monday the 3rd.
        ("cron(0 8 1W * ? *)", "2024-05-31T00:00:00Z", ["2024-06-03T08:00Z", "2024-07-01T08:00Z"]),
        ("cron(0 9 ? * MON-FRI *)", "2024-01-05T10:00:00Z", ["2024-01-08T09:00Z", "2024-01-09T09:00Z"]),
        ("cron(0/20 14 ? * SUN 2024)", "2024-12-29T14:30:00Z", ["2024-12-29T14:40Z"]),
        ("cron(0 0 1 JAN,JUL ? *)", "2024-01-02T00:00:00Z", ["2024-07-01T00:00Z", "2025-01-01T00:00Z"]),
        ("rate(5 minutes)", "2020-01-01T00:07:00Z", ["2020-01-01T00:10Z", "2020-01-01T00:15Z"]),
        ("rate(1 day)", "2020-01-03T12:00:00Z", ["2020-01-04T00:00Z", "2020-01-05T00:00Z"]),
        ("at(2024-01-05T10:00:00)", "2024-01-01T00:00:00Z", ["2024-01-05T10:00Z"]),
        ("at(2024-01-05T10:00:00)", "2024-01-05T10:00:00Z", []),
    ],
)
def test_next_fire_times_follow_the_documented_rules(
    expression: str, after: str, expected: list[str]
) -> None:
    assert fires(expression, after, count=len(expected) or 1) == expected


def test_an_at_time_is_a_wall_clock_time_in_the_schedules_zone() -> None:
    assert fires("at(2024-07-05T10:00:00)", "2024-01-01T00:00:00Z", zone=LONDON) == ["2024-07-05T09:00Z"]


def test_nothing_fires_before_the_start_date_or_after_the_end_date() -> None:
    times = next_times(
        parse("cron(30 3 * * ? *)"),
        UTC,
        after=t("2024-01-01T00:00:00Z"),
        anchor=ANCHOR,
        count=5,
        start=t("2024-01-03T00:00:00Z"),
        end=t("2024-01-04T12:00:00Z"),
    )
    assert times == (t("2024-01-03T03:30:00Z"), t("2024-01-04T03:30:00Z"))


@pytest.mark.parametrize(
    ("expression", "at", "expected"),
    [
        ("cron(30 3 * * ? *)", "2024-01-06T03:30:00Z", "2024-01-06T03:30:00Z"),
        ("cron(30 3 * * ? *)", "2024-01-06T03:29:59Z", "2024-01-05T03:30:00Z"),
        ("cron(0 12 L * ? *)", "2024-03-15T00:00:00Z", "2024-02-29T12:00:00Z"),
        ("rate(2 hours)", "2020-01-01T05:59:00Z", "2020-01-01T04:00:00Z"),
    ],
)
def test_the_latest_fire_time_at_or_before_a_moment(expression: str, at: str, expected: str) -> None:
    assert latest_at_or_before(parse(expression), UTC, at=t(at), anchor=ANCHOR) == t(expected)


def test_a_schedule_that_fired_more_than_a_year_ago_has_no_latest_time_within_the_lookback() -> None:
    once = parse("at(2022-01-01T00:00:00)")
    assert latest_at_or_before(once, UTC, at=t("2024-01-01T00:00:00Z"), anchor=ANCHOR) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(30 3 * * *)", "cron() takes six fields"),
        ("cron(30 3 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(30 3 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(61 3 * * ? *)", "'61' is not within 0-59"),
        ("cron(0 0 ? * FUNDAY *)", "'FUNDAY' is not within 1-7"),
        ("rate(0 minutes)", "rate() takes a positive whole number and minutes|hours|days"),
        ("rate(5 weeks)", "rate() takes a positive whole number and minutes|hours|days"),
        ("at(2024-01-05 10:00)", "at() takes yyyy-mm-ddThh:mm:ss"),
        ("every day", "is not at(...), rate(...) or cron(...)"),
    ],
)
def test_an_expression_that_cannot_be_read_says_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(
        ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)").replace("|", r"\|")
    ):
        parse(expression)


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(ExpressionError, match="'Mars/Olympus' is not an IANA time zone name"):
        zone_of("Mars/Olympus")


@pytest.mark.parametrize(
    ("expression", "zone"),
    [
        ("cron(30 3 * * ? *)", "UTC"),
        ("cron(30 1 * * ? *)", "Europe/London"),
        ("cron(15 10 ? * 6L *)", "America/New_York"),
        ("cron(0 8 15W * ? *)", "UTC"),
        ("rate(7 hours)", "UTC"),
    ],
)
def test_show_agrees_with_what_localcloud_fires(expression: str, zone: str) -> None:
    """localcloud fires schedules by its own evaluator: both readings of the guide agree."""
    after = t("2024-03-20T00:00:00Z")
    ours = next_times(parse(expression), ZoneInfo(zone), after=after, anchor=ANCHOR, count=6)
    theirs, current = [], after
    parsed, their_zone = localcloud_expressions.parse(expression), localcloud_expressions.parse_timezone(zone)
    for _ in range(6):
        found = localcloud_expressions.next_time(parsed, their_zone, after=current, anchor=ANCHOR)
        assert found is not None
        theirs.append(found)
        current = found
    assert list(ours) == theirs
