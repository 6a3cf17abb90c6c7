"""ResolveDate: the input rules and the processing date, DST included.

Expected dates are computed here with zoneinfo/datetime, independently of the JSONata under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from asl_support import evaluate, evaluate_with_reference, reference_available, rendered, states_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ZONES = ["Europe/London", "America/New_York", "UTC", "Australia/Lord_Howe"]


def resolve_expression(timezone: str = "Europe/London") -> str:
    expression: str = states_of(rendered(timezone)["daily_rollup"])["ResolveDate"]["Assign"]["run"]
    return expression


def resolve(input_: Any, timezone: str = "Europe/London") -> dict[str, Any]:
    result: dict[str, Any] = evaluate(resolve_expression(timezone), input=input_)
    return result


def previous_local_day(instant: datetime, timezone: str) -> str:
    return (instant.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)).isoformat()


def test_an_operator_date_is_processed_as_given_and_split_for_the_queries() -> None:
    assert resolve({"date": "2024-02-29"}) == {
        "problem": None,
        "source": "date",
        "date": "2024-02-29",
        "year": "2024",
        "month": "02",
        "day": "29",
    }


@pytest.mark.parametrize(
    "day", ["2023-02-29", "2023-02-30", "1900-02-29", "2024-04-31", "2024-13-01", "2024-00-10"]
)
def test_an_impossible_date_is_rejected_naming_it(day: str) -> None:
    assert resolve({"date": day}) == {"problem": f"date {day} is not a real calendar date"}


def test_the_leap_day_of_a_year_divisible_by_400_is_real() -> None:
    assert resolve({"date": "2000-02-29"})["date"] == "2000-02-29"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2024-1-5", "2024-1-5"),
        ("20240105", "20240105"),
        (20240105, "20240105"),
        (None, "null"),
        ("2024-01-05T00:00:00Z", "2024-01-05T00:00:00Z"),
        ({"y": 2024}, '{"y":2024}'),
    ],
)
def test_a_date_that_is_not_a_yyyy_mm_dd_string_is_rejected_showing_what_came(value: Any, shown: str) -> None:
    assert resolve({"date": value}) == {"problem": f"date must be a YYYY-MM-DD string, got {shown}"}


@pytest.mark.parametrize(
    ("input_", "start"),
    [
        ([{"date": "2024-01-05"}], "the input must be a JSON object"),
        ("2024-01-05", "the input must be a JSON object"),
        ({}, "the input has neither date nor scheduled_time"),
        ({"Comment": "Insert your JSON here"}, "unexpected input field(s): Comment;"),
        ({"date": "2024-01-05", "force": True}, "unexpected input field(s): force;"),
        (
            {"date": "2024-01-05", "scheduled_time": "2024-01-05T03:30:00Z"},
            "give either date or scheduled_time",
        ),
    ],
)
def test_an_input_of_the_wrong_shape_is_rejected_saying_what_is_expected(input_: Any, start: str) -> None:
    problem = resolve(input_)["problem"]

    assert problem.startswith(start)
    assert set(resolve(input_)) == {"problem"}


@pytest.mark.parametrize(
    "value",
    ["2024-01-05 03:30:00Z", "2024-01-05T03:30:00", "2024-01-05T3:30:00Z", "yesterday", 1704425400000],
)
def test_a_scheduled_time_that_is_not_iso_8601_is_rejected(value: Any) -> None:
    problem = resolve({"scheduled_time": value})["problem"]

    assert problem.startswith(
        "scheduled_time must be an ISO 8601 timestamp such as 2024-01-05T03:30:00Z, got "
    )


@pytest.mark.parametrize(
    "value",
    ["2024-02-30T03:30:00Z", "2024-01-05T24:00:00Z", "2024-01-05T03:60:00Z", "2024-01-05T03:30:00+15:00"],
)
def test_a_scheduled_time_that_does_not_exist_is_rejected(value: str) -> None:
    assert resolve({"scheduled_time": value}) == {
        "problem": f"scheduled_time {value} is not a real date and time"
    }


def test_a_scheduled_time_outside_the_rendered_years_is_rejected_naming_the_range() -> None:
    problem = resolve({"scheduled_time": "1999-12-31T23:59:59Z"})["problem"]

    assert problem.startswith("scheduled_time 1999-12-31T23:59:59Z is outside 2000-01-01 to 2099-12-31")
    assert "Europe/London" in problem


@pytest.mark.parametrize(
    ("scheduled", "zone", "expected"),
    [
        # The upstream schedule, cron(30 3 * * ? *) UTC: yesterday in UTC.
        ("2024-01-05T03:30:00Z", "UTC", "2024-01-04"),
        # London in summer: 23:00 UTC is already tomorrow's midnight (BST).
        ("2024-06-30T22:59:59Z", "Europe/London", "2024-06-29"),
        ("2024-06-30T23:00:00Z", "Europe/London", "2024-06-30"),
        # Either side of the spring-forward instant (01:00 UTC, last Sunday of March).
        ("2024-03-31T00:59:59Z", "Europe/London", "2024-03-30"),
        ("2024-03-31T23:00:00Z", "Europe/London", "2024-03-31"),
        # New York, the night the clocks fall back (06:00 UTC, 3 Nov 2024).
        ("2024-11-03T03:59:59Z", "America/New_York", "2024-11-01"),
        ("2024-11-03T04:00:00Z", "America/New_York", "2024-11-02"),
        ("2024-11-04T04:30:00Z", "America/New_York", "2024-11-02"),
        ("2024-11-04T05:00:00Z", "America/New_York", "2024-11-03"),
        # Offsets and fractions in the timestamp itself.
        ("2024-01-05T00:30:00+05:30", "UTC", "2024-01-03"),
        ("2024-01-04T20:00:00-0800", "UTC", "2024-01-04"),
        ("2024-01-05T03:30:00.123Z", "UTC", "2024-01-04"),
    ],
)
def test_a_scheduled_run_processes_the_previous_calendar_day_in_the_configured_zone(
    scheduled: str, zone: str, expected: str
) -> None:
    instant = datetime.fromisoformat(scheduled.replace("Z", "+00:00"))
    assert previous_local_day(instant, zone) == expected  # the table above is itself right

    resolved = resolve({"scheduled_time": scheduled}, zone)

    assert (resolved["problem"], resolved["source"], resolved["date"]) == (None, "scheduled_time", expected)
    assert (resolved["year"], resolved["month"], resolved["day"]) == tuple(expected.split("-"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=st.sampled_from(ZONES),
    seconds=st.integers(min_value=946_771_200, max_value=4_102_358_400),
)
def test_any_scheduled_instant_resolves_to_the_previous_local_day(zone: str, seconds: int) -> None:
    instant = datetime.fromtimestamp(seconds, UTC)

    resolved = resolve({"scheduled_time": instant.strftime("%Y-%m-%dT%H:%M:%SZ")}, zone)

    assert resolved["date"] == previous_local_day(instant, zone)


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=12),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(["date", "scheduled_time", "x"]), inner, max_size=3)
        ),
        max_leaves=6,
    )
)
def test_any_input_resolves_to_a_date_or_a_problem_never_to_an_evaluation_error(input_: Any) -> None:
    resolved = resolve(input_)

    assert (resolved["problem"] is None) == ("date" in resolved)
    if resolved["problem"] is None:
        assert date.fromisoformat(resolved["date"])


@pytest.mark.skipif(
    not reference_available(), reason="the JSONata reference implementation comes with `make setup`"
)
def test_the_reference_jsonata_implementation_resolves_every_case_the_same() -> None:
    inputs: list[Any] = [
        {"date": "2024-02-29"},
        {"date": "2023-02-29"},
        {"date": "2024-1-5"},
        {"date": None},
        {"Comment": "x"},
        [],
        {},
        {"scheduled_time": "2024-01-05T24:00:00Z"},
        {"scheduled_time": "1999-12-31T23:59:59Z"},
        {"scheduled_time": "2024-01-05T00:30:00+05:30"},
        {"scheduled_time": "2024-01-04T20:00:00-0800"},
    ]
    start = datetime(2024, 3, 30, tzinfo=UTC)
    inputs += [
        {"scheduled_time": (start + timedelta(hours=7 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")} for i in range(40)
    ]
    expression = resolve_expression("America/New_York")

    reference = evaluate_with_reference(expression, [{"states": {"input": i, "context": {}}} for i in inputs])

    ours = [{"value": evaluate(expression, input=i)} for i in inputs]
    assert reference == ours
