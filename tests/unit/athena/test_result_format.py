from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localcloud.athena import QueryResult, ResultColumn, format_value, java_double


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.3, "0.3"),
        (0.1 + 0.2, "0.30000000000000004"),
        (100.0, "100.0"),
        (-2.5, "-2.5"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (1234567.0, "1234567.0"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (1.5e-10, "1.5E-10"),
        (float("nan"), "NaN"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_doubles_are_written_as_javas_double_to_string(value: float, text: str) -> None:
    assert java_double(value) == text


def test_decimals_keep_exactly_their_scale() -> None:
    column = ResultColumn("total", "decimal", 38, 2)
    assert format_value(Decimal("0.30"), column) == "0.30"
    assert format_value(Decimal("12"), column) == "12.00"
    assert format_value(Decimal("-1.05"), column) == "-1.05"


def test_other_types_use_trinos_text() -> None:
    assert format_value(True, ResultColumn("b", "boolean")) == "true"
    assert format_value(42, ResultColumn("n", "bigint")) == "42"
    assert format_value(dt.date(2022, 1, 5), ResultColumn("d", "date")) == "2022-01-05"
    assert format_value(dt.datetime(2022, 1, 5, 18, 0, 1, 250000), ResultColumn("t", "timestamp")) == (
        "2022-01-05 18:00:01.250"
    )
    assert format_value([1, 2], ResultColumn("a", "array")) == "[1, 2]"
    assert format_value(None, ResultColumn("n", "bigint")) is None


def test_result_csv_quotes_every_value_and_leaves_null_empty() -> None:
    result = QueryResult(
        [ResultColumn("id", "bigint", 19), ResultColumn("name", "varchar", 2147483647)],
        [(1, 'say "hi", then go'), (2, None), (None, "")],
    )
    assert result.to_csv() == (b'"id","name"\n"1","say ""hi"", then go"\n"2",\n,""\n')


def test_empty_result_is_just_the_header() -> None:
    assert QueryResult([ResultColumn("x", "integer", 10)], []).to_csv() == b'"x"\n'


def test_column_info_matches_get_query_results() -> None:
    info = ResultColumn.from_duckdb("total_kwh", "DECIMAL(38,2)").column_info()
    assert info == {
        "CatalogName": "hive",
        "SchemaName": "",
        "TableName": "",
        "Name": "total_kwh",
        "Label": "total_kwh",
        "Type": "decimal",
        "Precision": 38,
        "Scale": 2,
        "Nullable": "UNKNOWN",
        "CaseSensitive": False,
    }
    assert ResultColumn.from_duckdb("n", "HUGEINT").type == "bigint"
    assert ResultColumn.from_duckdb("s", "VARCHAR").column_info()["CaseSensitive"] is True


@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
            st.one_of(st.none(), st.text(max_size=12)),
            st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
        ),
        max_size=20,
    )
)
def test_a_results_text_is_each_values_format_value_whatever_the_column_fast_paths(
    rows: list[tuple[int | None, str | None, float | None]],
) -> None:
    columns = [ResultColumn("n", "bigint"), ResultColumn("s", "varchar"), ResultColumn("x", "double")]

    text = QueryResult(columns, rows).text_rows()

    assert text == [[format_value(v, c) for v, c in zip(row, columns, strict=True)] for row in rows]
