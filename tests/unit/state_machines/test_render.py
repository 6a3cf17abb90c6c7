from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from asl_support import sample_values
from hypothesis import given, settings
from hypothesis import strategies as st

from meterpipe.definitions import (
    BACKFILL,
    DAILY_ROLLUP,
    LEDGER_SYNC,
    QUERIES_DIR,
    DefinitionError,
    build_substitutions,
    definition_path,
    placeholders_in,
    render_definition,
    sql_for_definition,
    state_machine_name,
    utc_offset_transitions,
)


def _template(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "machine.asl.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_string_that_is_one_placeholder_takes_the_substitution_type(tmp_path: Path) -> None:
    template = _template(tmp_path, {"MaxConcurrency": "${Concurrency}", "Flags": "${Flags}"})

    rendered = json.loads(render_definition(template, {"Concurrency": 40, "Flags": [1, 2]}))

    assert rendered == {"MaxConcurrency": 40, "Flags": [1, 2]}


def test_a_placeholder_inside_a_longer_string_is_replaced_by_its_text(tmp_path: Path) -> None:
    template = _template(tmp_path, {"Expr": "{% $t := ${Table}; $count($t) + ${Limit} %}", "Arn": "${Arn}"})

    rendered = json.loads(render_definition(template, {"Table": [1, 2, 3], "Limit": 5, "Arn": "arn:x"}))

    assert rendered == {"Expr": "{% $t := [1,2,3]; $count($t) + 5 %}", "Arn": "arn:x"}


def test_sql_with_quotes_backslashes_and_newlines_comes_out_json_escaped(tmp_path: Path) -> None:
    template = _template(tmp_path, {"QueryString": "${Query}"})
    sql = "SELECT 'it''s' AS a, \"col\" AS b, 'C:\\dir' AS c\nFROM t"

    text = render_definition(template, {"Query": sql})

    assert json.loads(text)["QueryString"] == sql
    assert '\\"col\\"' in text and "\\n" in text


def test_an_unfilled_placeholder_is_named_in_the_error(tmp_path: Path) -> None:
    template = _template(tmp_path, {"A": "${First}", "B": "x ${Second} y"})

    with pytest.raises(DefinitionError, match=r"left unfilled: \$\{Second\}") as caught:
        render_definition(template, {"First": "a"})
    assert "machine.asl.json" in str(caught.value)


def test_a_substitution_matching_no_placeholder_is_named_in_the_error(tmp_path: Path) -> None:
    template = _template(tmp_path, {"A": "${First}"})

    with pytest.raises(DefinitionError, match="matching no placeholder: Typo"):
        render_definition(template, {"First": "a", "Typo": "b"})


def test_a_substitution_value_carrying_a_placeholder_is_refused(tmp_path: Path) -> None:
    template = _template(tmp_path, {"A": "${First}"})

    with pytest.raises(DefinitionError, match=r"contains placeholder\(s\) \$\{Other\}"):
        render_definition(template, {"First": "${Other}"})


def test_cloudformation_tokens_pass_through_untouched(tmp_path: Path) -> None:
    template = _template(tmp_path, {"Arn": "${Arn}", "Expr": "{% '${Arn}' %}"})
    token = "${Token[TOKEN.123]}"

    rendered = json.loads(render_definition(template, {"Arn": token}))

    assert rendered == {"Arn": token, "Expr": "{% '" + token + "' %}"}


def test_a_template_that_is_not_json_is_reported_by_name(tmp_path: Path) -> None:
    path = tmp_path / "broken.asl.json"
    path.write_text('{"MaxConcurrency": ${Concurrency}}', encoding="utf-8")

    with pytest.raises(DefinitionError, match=r"broken\.asl\.json is not valid JSON"):
        render_definition(path, {"Concurrency": 1})


def test_the_builder_fills_exactly_the_placeholders_each_template_uses() -> None:
    substitutions = build_substitutions(sample_values())

    for name in (DAILY_ROLLUP, BACKFILL, LEDGER_SYNC):
        assert set(substitutions[name]) == placeholders_in(definition_path(name))


def test_queries_go_in_as_one_line_without_their_comment_lines() -> None:
    daily = build_substitutions(sample_values())[DAILY_ROLLUP]

    def one_line(name: str) -> str:
        source = (QUERIES_DIR / name).read_text(encoding="utf-8")
        kept = (line.strip() for line in source.splitlines())
        return " ".join(line for line in kept if line and not line.startswith("--"))

    # The valid readings of one day, the ceiling filled in, where the hourly query reads readings.
    valid = (
        one_line("valid_readings.sql")
        .replace("{{ partitions }}", "l.year = ? AND l.month = ? AND l.day = ?")
        .replace("{{ max_kwh_per_reading }}", str(sample_values().max_kwh_per_reading))
    )
    assert daily["HourlyQuery"] == one_line("hourly.sql").replace("{{ valid_readings_of_day }}", valid)
    assert "\n" not in str(daily["MonthlyQuery"])
    assert "{{" not in str(daily["MonthlyQuery"])


def test_sql_with_an_inline_comment_is_refused_rather_than_truncated() -> None:
    with pytest.raises(DefinitionError, match="whole-line '--' comments"):
        sql_for_definition("SELECT 1 -- one\nFROM t")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_items_per_batch": 0}, "max_items_per_batch must be a whole number >= 1"),
        ({"max_input_bytes_per_batch": 262_144}, "max_input_bytes_per_batch must leave room"),
        ({"timezone": "Mars/Olympus"}, "'Mars/Olympus' is not an IANA time zone"),
        ({"backfill_max_concurrency": 11}, "exceeds backfill_max_concurrency_limit 10"),
        ({"map_results_prefix": "results"}, "must be a key prefix ending in '/'"),
        ({"results_bucket": "it's"}, "results_bucket must not contain a single quote"),
    ],
)
def test_deployment_values_that_cannot_work_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        build_substitutions(replace(sample_values(), **change))  # type: ignore[arg-type]


def test_the_offset_table_starts_with_the_offset_in_force_on_the_first_day() -> None:
    starts, offsets, end = utc_offset_transitions("America/New_York", 2000, 2099)

    assert starts[0] == int(datetime(2000, 1, 1, tzinfo=UTC).timestamp() * 1000)
    assert offsets[0] == -5 * 3_600_000
    assert end == int(datetime(2100, 1, 1, tzinfo=UTC).timestamp() * 1000)
    assert list(starts) == sorted(starts)


def test_london_springs_forward_at_one_in_the_morning_utc_on_the_last_sunday_of_march() -> None:
    starts, offsets, _ = utc_offset_transitions("Europe/London", 2000, 2099)
    spring_2024 = int(datetime(2024, 3, 31, 1, 0, tzinfo=UTC).timestamp() * 1000)

    index = starts.index(spring_2024)

    assert (offsets[index - 1], offsets[index]) == (0, 3_600_000)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]),
    seconds=st.integers(min_value=946_684_800, max_value=4_102_444_799),
)
def test_the_offset_table_agrees_with_zoneinfo_at_any_instant(zone: str, seconds: int) -> None:
    starts, offsets, _ = utc_offset_transitions(zone, 2000, 2099)
    millis = seconds * 1000
    in_effect = offsets[max(i for i, start in enumerate(starts) if start <= millis)]

    expected = datetime.fromtimestamp(seconds, ZoneInfo(zone)).utcoffset()

    assert expected is not None
    assert in_effect == expected // timedelta(milliseconds=1)


def test_deployed_names_are_the_prefix_and_the_machine_in_kebab_case() -> None:
    assert state_machine_name(DAILY_ROLLUP) == "meterpipe-daily-rollup"
    assert state_machine_name(BACKFILL, "meterpipe-test") == "meterpipe-test-backfill"
    with pytest.raises(DefinitionError, match="unknown state machine 'weekly'"):
        state_machine_name("weekly")
