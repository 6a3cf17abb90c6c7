"""The validation query and the valid readings the rollups read, run on localcloud's engine.

Every kind of bad reading is named with its object key, line text, rule and value, counted, and
left out of every rollup; the expected totals are Decimal sums of the good lines, computed here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lake_support import CUSTOMERS_HEADER, READINGS_HEADER, Lake

DAY = dt.date(2024, 1, 5)
OTHER_DAY = dt.date(2024, 1, 4)
CUSTOMERS = {"51246501": 10000001, "51246502": 10000002}
GOOD = [
    "51246501,240,10,60,0.125,05",
    "51246501,240,10,60,0.25,05",
    "51246501,240,10,60,1.000001,06",
    "51246502,240,10,60,2.5,05",
]
CENT = Decimal("0.01")


def customers_text() -> str:
    return CUSTOMERS_HEADER + "".join(f"{c},{s},residential\n" for s, c in CUSTOMERS.items())


def lake_with(*readings: str) -> Lake:
    lake = Lake()
    lake.customers(customers_text())
    lake.readings(DAY, READINGS_HEADER + "".join(line + "\n" for line in readings))
    return lake


def totals(lines: list[str], day: dt.date = DAY) -> dict[str, dict[tuple[int, str], tuple[Decimal, int]]]:
    """Hour, day and month items of good lines, summed exactly and rounded half up, here."""
    sums: dict[str, dict[tuple[int, str], list[Decimal]]] = {
        g: defaultdict(list) for g in ("hourly", "daily", "monthly")
    }
    for line in lines:
        sensor, _, _, _, kwh, hour = line.split(",")
        customer = CUSTOMERS[sensor]
        sums["hourly"][(customer, f"{sensor}#{day}T{hour}")].append(Decimal(kwh))
        sums["daily"][(customer, f"{sensor}#{day}")].append(Decimal(kwh))
        sums["monthly"][(customer, f"{sensor}#{day:%Y-%m}")].append(Decimal(kwh))
    return {
        g: {k: (sum(v, Decimal(0)).quantize(CENT, ROUND_HALF_UP), len(v)) for k, v in items.items()}
        for g, items in sums.items()
    }


BAD_LINES = [
    pytest.param(
        "51246501,240,10,60,abc,05", "kwh", "abc", "kWh 'abc' is not a non-negative decimal", id="kwh abc"
    ),
    pytest.param("51246501,240,10,60,-5.000,05", "kwh", "-5.000", "kWh '-5.000' is not", id="negative kwh"),
    pytest.param(
        "59999999,240,10,60,0.5,05",
        "unknown_sensor",
        "59999999",
        "SensorID 59999999 is not in",
        id="unknown sensor",
    ),
    pytest.param("51246501,240,10,60,0.5,24", "hour", "24", "HourCollected '24' is not 00..23", id="hour 24"),
    pytest.param(
        "51246501,240,10,60,1000,05",
        "kwh_ceiling",
        "1000",
        "kWh 1000 is not below the ceiling of 1000 kWh per reading",
        id="kwh at the ceiling",
    ),
    pytest.param(
        "5124650x,240,10,60,0.5,05", "sensor_id", "5124650x", "SensorID '5124650x' is not", id="sensor id"
    ),
    pytest.param(
        "51246501,240,10,60,0.5,05,1", "field_count", "7", "the line has 7 fields, not 6", id="extra field"
    ),
    pytest.param(
        "51246501,240,10,60,0.1234567,05", "kwh", "0.1234567", "at most 6 decimals", id="seven decimals"
    ),
]


@pytest.mark.parametrize(("bad", "rule", "value", "problem"), BAD_LINES)
def test_each_kind_of_bad_reading_is_named_with_its_key_line_rule_and_value_and_never_summed(
    bad: str, rule: str, value: str, problem: str
) -> None:
    lake = lake_with(GOOD[0], bad, *GOOD[1:])
    found = lake.validate(DAY)
    assert (found.counts["readings"], found.counts["bad_readings"]) == (len(GOOD) + 1, 1)
    [listed] = found.bad_readings
    assert (listed["object_key"], listed["line"], listed["rule"], listed["value"]) == (
        "iot_electricity_metering/year=2024/month=01/day=05/readings.csv",
        bad,
        rule,
        value,
    )
    assert problem in str(listed["problem"])
    expected = totals(GOOD)
    for stem in ("hourly", "daily", "monthly"):
        assert lake.rollup(stem, DAY) == expected[stem], stem


def test_a_truncated_last_line_is_a_bad_reading() -> None:
    lake = Lake()
    lake.customers(customers_text())
    key = lake.readings(DAY, READINGS_HEADER + "\r\n".join(GOOD) + "\r\n51246501,240,1")
    found = lake.validate(DAY)
    assert found.counts["bad_readings"] == 1
    assert found.bad_readings[0] == {
        "object_key": key,
        "line": "51246501,240,1",
        "rule": "field_count",
        "value": "3",
        "problem": "the line has 3 fields, not 6",
    }
    assert lake.rollup("daily", DAY) == totals(GOOD)["daily"]


def test_a_file_without_its_kwh_column_fails_on_every_line_and_the_listing_stops_at_ten() -> None:
    lake = lake_with(*GOOD)
    no_kwh = "SensorID,Voltage,Current,Frequency,HourCollected\n" + "".join(
        f"51246501,240,10,60,{hour:02d}\n" for hour in range(12)
    )
    key = lake.readings(DAY, no_kwh, name="no-kwh.csv")
    found = lake.validate(DAY)
    assert (found.counts["readings"], found.counts["bad_readings"]) == (len(GOOD) + 12, 12)
    assert len(found.bad_readings) == 10
    assert {(r["object_key"], r["rule"], r["value"]) for r in found.bad_readings} == {
        (key, "field_count", "5")
    }
    assert lake.rollup("hourly", DAY) == totals(GOOD)["hourly"]


def test_blank_lines_are_not_readings_and_the_header_is_skipped() -> None:
    lake = Lake()
    lake.customers(customers_text() + "\n")
    lake.readings(DAY, b"\xef\xbb\xbf" + (READINGS_HEADER + "\n".join(GOOD) + "\n\n\n").encode())
    found = lake.validate(DAY)
    assert found.counts == {
        "readings": len(GOOD),
        "bad_readings": 0,
        "month_bad_readings": 0,
        "sensors_reporting": 2,
        "sensors_known": 2,
        "bad_customers": 0,
    }
    assert found.bad_readings == [] and found.bad_customers == []


def test_a_bad_reading_on_another_day_is_left_out_of_the_month_but_fails_only_its_own_day() -> None:
    lake = lake_with(*GOOD)
    lake.readings(OTHER_DAY, READINGS_HEADER + "51246501,240,10,60,3.0,07\n51246501,240,10,60,n/a,08\n")
    found = lake.validate(DAY)
    assert (found.counts["bad_readings"], found.counts["month_bad_readings"]) == (0, 1)
    month = lake.rollup("monthly", DAY)
    expected = totals([*GOOD, "51246501,240,10,60,3.0,07"])["monthly"]
    assert month == expected
    other = lake.validate(OTHER_DAY)
    assert (other.counts["bad_readings"], other.counts["month_bad_readings"]) == (1, 0)


def test_sensors_reporting_count_only_sensors_with_a_valid_reading() -> None:
    lake = lake_with("51246501,240,10,60,0.5,05", "51246502,240,10,60,bad,05")
    found = lake.validate(DAY)
    assert (found.counts["sensors_reporting"], found.counts["sensors_known"]) == (1, 2)


def test_a_day_with_no_reading_lines_counts_none() -> None:
    lake = Lake()
    lake.customers(customers_text())
    lake.readings(DAY, READINGS_HEADER)
    assert lake.validate(DAY).counts["readings"] == 0
    assert lake.validate(dt.date(2099, 1, 1)).counts["readings"] == 0


def test_bad_customer_rows_and_a_sensor_listed_twice_are_named() -> None:
    lake = lake_with(*GOOD)
    key = lake.customers(
        CUSTOMERS_HEADER + "1000000x,51246503,a\n10000009,51246501,b\n10000010,7,c,d\n", name="more.csv"
    )
    found = lake.validate(DAY)
    assert found.counts["bad_customers"] == 4  # the bad id, the extra field, both rows of 51246501
    listed = {(r["object_key"], r["line"], r["rule"], r["value"]) for r in found.bad_customers}
    assert listed == {
        (key, "1000000x,51246503,a", "customer_id", "1000000x"),
        (key, "10000009,51246501,b", "duplicate_sensor", "51246501"),
        (key, "10000010,7,c,d", "field_count", "4"),
        (
            "customer_meter_sensor/customers.csv",
            "10000001,51246501,residential",
            "duplicate_sensor",
            "51246501",
        ),
    }


# -- properties ------------------------------------------------------------------------------------

KWH = re.compile(r"[0-9]+(\.[0-9]{1,6})?")
# Field text that a CSV export could hold: no field or line separators, nothing the lines table splits on.
FIELD_TEXT = st.text(
    alphabet=st.characters(blacklist_characters=",\r\n\x01", blacklist_categories=("Cs",)), max_size=8
)
GOOD_KWH = st.builds(
    lambda whole, decimals: str(whole) + (f".{decimals}" if decimals else ""),
    st.integers(0, 999),
    st.one_of(st.none(), st.from_regex(r"[0-9]{1,6}", fullmatch=True)),
)
GOOD_HOUR = st.integers(0, 23).map(lambda h: f"{h:02d}")


@st.composite
def good_line(draw: st.DrawFn) -> str:
    sensor = draw(st.sampled_from(sorted(CUSTOMERS)))
    volts = draw(st.integers(0, 400))
    return f"{sensor},{volts},1,60,{draw(GOOD_KWH)},{draw(GOOD_HOUR)}"


@st.composite
def bad_line(draw: st.DrawFn) -> tuple[str, str]:
    """A line that breaks exactly one check, the first it reaches, and that check's rule."""
    fields = draw(good_line()).split(",")
    rule = draw(st.sampled_from(["field_count", "sensor_id", "unknown_sensor", "kwh", "kwh_ceiling", "hour"]))
    if rule == "field_count":
        count = draw(st.integers(1, 9).filter(lambda n: n != 6))
        fields = (fields + [draw(FIELD_TEXT) for _ in range(3)])[:count]
    elif rule == "sensor_id":
        fields[0] = draw(FIELD_TEXT.filter(lambda t: not re.fullmatch(r"[0-9]{1,18}", t)))
    elif rule == "unknown_sensor":
        fields[0] = str(draw(st.integers(0, 10**18 - 1).filter(lambda n: str(n) not in CUSTOMERS)))
    elif rule == "kwh":
        fields[4] = draw(FIELD_TEXT.filter(lambda t: not KWH.fullmatch(t)))
    elif rule == "kwh_ceiling":
        fields[4] = str(draw(st.integers(1000, 10**12)))
    else:
        fields[5] = draw(FIELD_TEXT.filter(lambda t: t not in {f"{h:02d}" for h in range(24)}))
    return ",".join(fields), rule


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(goods=st.lists(good_line(), max_size=6), bads=st.lists(bad_line(), max_size=6))
def test_any_generated_bad_line_is_caught_and_any_good_line_passes(
    goods: list[str], bads: list[tuple[str, str]]
) -> None:
    lake = lake_with(*goods, *(line for line, _ in bads))
    found = lake.validate(DAY)
    assert (found.counts["readings"], found.counts["bad_readings"]) == (len(goods) + len(bads), len(bads))
    assert sorted((str(r["line"]), str(r["rule"])) for r in found.bad_readings) == sorted(bads)
    assert lake.rollup("daily", DAY) == totals(goods)["daily"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days=st.lists(st.lists(good_line(), min_size=1, max_size=12), min_size=1, max_size=3))
def test_hours_add_up_to_the_day_and_days_to_the_month_under_athenas_rounding(days: list[list[str]]) -> None:
    # Every item is the exact Decimal sum of its readings rounded half up to cents, so an item and
    # the items it contains differ by no more than their rounding: half a cent per contained item.
    lake = Lake()
    lake.customers(customers_text())
    dates = [dt.date(2024, 1, 1 + n) for n in range(len(days))]
    for date, lines in zip(dates, days, strict=True):
        lake.readings(date, READINGS_HEADER + "".join(line + "\n" for line in lines))
    exact: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    days_of_month: dict[tuple[int, str], list[Decimal]] = defaultdict(list)  # month key -> its day items
    for date, lines in zip(dates, days, strict=True):
        hours = lake.rollup("hourly", date)
        day_items = lake.rollup("daily", date)
        for (customer, key), (amount, _) in day_items.items():
            days_of_month[(customer, key.split("#")[0] + "#2024-01")].append(amount)
        assert hours == totals(lines, date)["hourly"]
        assert day_items == totals(lines, date)["daily"]
        for (customer, key), (amount, _) in day_items.items():
            contained = [a for (c, k), (a, _) in hours.items() if c == customer and k.startswith(key + "T")]
            assert abs(sum(contained, Decimal(0)) - amount) <= Decimal("0.005") * len(contained)
        for line in lines:
            sensor, *_, kwh, _ = line.split(",")
            exact[(CUSTOMERS[sensor], f"{sensor}#2024-01")] += Decimal(kwh)
    month = lake.rollup("monthly", dates[0])
    assert {k: a for k, (a, _) in month.items()} == {
        k: v.quantize(CENT, ROUND_HALF_UP) for k, v in exact.items()
    }
    assert month.keys() == days_of_month.keys()
    for key, (amount, _) in month.items():
        contained = days_of_month[key]
        assert abs(sum(contained, Decimal(0)) - amount) <= Decimal("0.005") * len(contained)
