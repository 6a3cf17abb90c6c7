"""The checks as data, and the query files compiled from them."""

from __future__ import annotations

import pytest

from meterpipe.checks import (
    CUSTOMER_CHECKS,
    GENERATED,
    QUERIES_DIR,
    READING_CHECKS,
    QueryTemplateError,
    fill,
    markers,
)
from meterpipe.definitions import QUERY_PLACEHOLDERS, VALID_READINGS_MARKERS, sql_for_definition
from meterpipe.tables import LAKE_TABLES


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_the_generated_query_files_are_current(name: str) -> None:
    # python -m meterpipe.checks writes them again after a check changes.
    assert (QUERIES_DIR / name).read_text(encoding="utf-8") == GENERATED[name]()


def test_every_check_has_a_distinct_rule_and_a_message_naming_the_value() -> None:
    for checks in (READING_CHECKS, CUSTOMER_CHECKS):
        assert len({c.rule for c in checks}) == len(checks)
        assert all("{value}" in c.message for c in checks)
    assert [c.rule for c in READING_CHECKS] == [
        "field_count",
        "sensor_id",
        "unknown_sensor",
        "kwh",
        "kwh_ceiling",
        "hour",
    ]


def test_every_rollup_query_reads_readings_only_through_the_valid_readings() -> None:
    for stem in QUERY_PLACEHOLDERS:
        sql = (QUERIES_DIR / f"{stem}.sql").read_text(encoding="utf-8")
        assert markers(sql) <= set(VALID_READINGS_MARKERS) and len(markers(sql)) == 1, stem
        body = sql_for_definition(sql)  # the SQL without its comment lines
        assert [t.name for t in LAKE_TABLES if t.name in body] == [], stem


def test_fill_refuses_an_unfilled_marker_and_a_value_for_no_marker() -> None:
    assert fill("a {{ x }} b {{x}}", {"x": "1"}) == "a 1 b 1"
    with pytest.raises(QueryTemplateError, match="unfilled: y"):
        fill("{{ x }} {{ y }}", {"x": "1"})
    with pytest.raises(QueryTemplateError, match="no such marker: z"):
        fill("{{ x }}", {"x": "1", "z": "2"})
