from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from handlers.rollup_format import (
    KwhAmountError,
    SortKeyError,
    format_kwh,
    format_sort_key,
    parse_sort_key,
)

DAY = dt.date(2022, 1, 5)


def test_sort_keys_follow_the_upstream_sample_formats() -> None:
    assert format_sort_key(51246501, "hour", DAY, 18) == "51246501#2022-01-05T18"
    assert format_sort_key(51246501, "hour", DAY, 0) == "51246501#2022-01-05T00"
    assert format_sort_key(51246501, "day", DAY) == "51246501#2022-01-05"
    assert format_sort_key(51246501, "month", DAY) == "51246501#2022-01"


def test_an_hour_key_needs_an_hour_in_range() -> None:
    with pytest.raises(ValueError, match=r"hour 0\.\.23"):
        format_sort_key(1, "hour", DAY)
    with pytest.raises(ValueError, match=r"hour 0\.\.23"):
        format_sort_key(1, "hour", DAY, 24)


@pytest.mark.parametrize(
    ("value", "granularity", "start", "hour"),
    [
        ("51246501#2022-01-05T18", "hour", DAY, 18),
        ("51246501#2022-01-05", "day", DAY, None),
        ("51246501#2022-01", "month", dt.date(2022, 1, 1), None),
    ],
)
def test_parsing_a_sort_key_gives_its_parts_back(
    value: str, granularity: str, start: dt.date, hour: int | None
) -> None:
    key = parse_sort_key(value, granularity)  # type: ignore[arg-type]
    assert (key.sensor_id, key.start, key.hour) == (51246501, start, hour)
    assert str(key) == value


@pytest.mark.parametrize(
    ("value", "granularity", "message"),
    [
        ("51246501-2022-01-05", "day", "has no '#' between sensor and period (expected <sensor>#YYYY-MM-DD)"),
        ("S51#2022-01-05", "day", "has sensor 'S51', not a whole number (expected <sensor>#YYYY-MM-DD)"),
        ("51#2022-01-05", "month", "is a day key, not a month key (<sensor>#YYYY-MM)"),
        ("51#2022-01-05T03", "day", "is an hour key, not a day key (<sensor>#YYYY-MM-DD)"),
        ("51#2022-01", "hour", "is a month key, not an hour key (<sensor>#YYYY-MM-DDTHH)"),
        ("51#2022-1-5", "day", "has period '2022-1-5', not YYYY-MM-DD (expected <sensor>#YYYY-MM-DD)"),
        ("51#2022-02-30", "day", "has period '2022-02-30', not a real date (day is out of range for month)"),
        ("51#2022-13", "month", "has period '2022-13', not a real date (month must be in 1..12)"),
        ("51#2022-01-05T24", "hour", "has hour 24, not 00..23"),
    ],
)
def test_a_malformed_sort_key_is_refused_with_what_is_wrong(
    value: str, granularity: str, message: str
) -> None:
    with pytest.raises(SortKeyError) as caught:
        parse_sort_key(value, granularity)  # type: ignore[arg-type]
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("12.35", "12.35"),
        ("12.50", "12.5"),
        ("12.5", "12.5"),
        ("1250.00", "1250"),
        ("1.25E+3", "1250"),
        ("1.2345678E7", "12345678"),
        ("0.07", "0.07"),
        ("0.00", "0"),
        ("-0.00", "0"),
        ("-3.10", "-3.1"),
        ("0", "0"),
    ],
)
def test_kwh_amounts_are_written_in_dynamodbs_canonical_text(amount: str, text: str) -> None:
    assert format_kwh(Decimal(amount)) == text


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0.305", "0.305 has more than 2 decimals"),
        ("0.30000000000000004", "0.30000000000000004 has more than 2 decimals"),
        ("NaN", "NaN is not a finite number"),
        ("Infinity", "Infinity is not a finite number"),
        ("1E+36", "1E+36 has more than 36 digits before the point"),
    ],
)
def test_a_kwh_amount_the_contract_cannot_hold_is_refused(amount: str, message: str) -> None:
    with pytest.raises(KwhAmountError) as caught:
        format_kwh(Decimal(amount))
    assert str(caught.value) == message


def test_the_largest_kwh_amount_keeps_all_38_digits() -> None:
    amount = Decimal("9" * 36 + ".99")
    assert format_kwh(amount) == "9" * 36 + ".99"
