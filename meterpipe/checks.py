"""The checks every reading passes before any rollup is computed from it, declared as data.

Each check is a rule over one field of a lake line (dbt's generic tests, Deequ's constraints): its
name, the field, the kind of test, and the message a person reads. :func:`valid_readings_sql` and
:func:`validation_sql` compile the same list into Athena SQL over the whole-line tables
(``meterpipe.tables.READINGS_LINES`` and ``CUSTOMERS_LINES``), so AWS and localcloud run the very
same text and the rollups and the validation can never disagree on what a bad reading is:

* ``meterpipe/queries/valid_readings.sql``: the readings no check rejects, with their customer; the three
  rollup queries read readings only through it (``{{ valid_readings_of_day }}`` /
  ``{{ valid_readings_of_month }}``), so no item is ever computed from a bad reading.
* ``meterpipe/queries/validation.sql``: what daily_rollup checks before any write: counts, sensors reporting
  and known, the first bad lines of the day with their object key, text, rule and value, and the
  bad rows of the customers table.

Both files are generated (``python -m meterpipe.checks`` writes them; a test checks they are
current). Markers ``{{ name }}`` are filled when the definitions are rendered
(:func:`fill`): ``partitions`` (the partition filter of one day or one month) and
``max_kwh_per_reading`` (the per-reading ceiling, a deployment setting).

A line is a reading when it is not blank; a line fails the *first* check it breaks, in the order
below, and that check's rule and value are what the validation reports.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from meterpipe.errors import MeterpipeError
from meterpipe.tables import CUSTOMERS, CUSTOMERS_LINES, READINGS_LINES

# The package data the definitions read (meterpipe.definitions.QUERIES_DIR); written from a checkout.
QUERIES_DIR: Final = Path(__file__).resolve().parent / "queries"
VALID_READINGS_FILE: Final = "valid_readings.sql"
VALIDATION_FILE: Final = "validation.sql"

# How many bad lines (of the day's readings, of the customers table) the validation lists.
SAMPLE_LINES: Final = 10
# Longest line text and value the validation reports (a line without line ends could be a whole file).
MAX_LINE_CHARS: Final = 200
MAX_VALUE_CHARS: Final = 60

Kind = Literal["field_count", "pattern", "known", "below", "unique"]


@dataclass(frozen=True)
class Check:
    """One rule over one field of a line.

    ``kind`` says what is tested: ``field_count`` (the line has exactly ``argument`` fields),
    ``pattern`` (the field matches the regular expression ``argument``), ``known`` (the field's
    integer value is a sensor of the customers table), ``below`` (the field's value is below the
    setting named by ``argument``), ``unique`` (no other line has the same integer value in the
    field). ``message`` is said of the offending value, ``{value}`` standing for it.
    """

    rule: str
    kind: Kind
    field: str
    message: str
    argument: str | int = ""


@dataclass(frozen=True)
class LineFormat:
    """The comma-separated fields of a lake file's lines."""

    fields: tuple[str, ...]

    def position(self, field: str) -> int:
        """The field's 1-based position (``element_at``)."""
        return self.fields.index(field) + 1


READING_FORMAT: Final = LineFormat(("SensorID", "Voltage", "Current", "Frequency", "kWh", "HourCollected"))
CUSTOMER_FORMAT: Final = LineFormat(("CustomerID", "SensorID", "SensorGroup"))

_INTEGER: Final = "^[0-9]{1,18}$"

READING_CHECKS: Final = (
    Check("field_count", "field_count", "*", "the line has {value} fields, not 6", 6),
    Check("sensor_id", "pattern", "SensorID", "SensorID '{value}' is not an integer", _INTEGER),
    Check(
        "unknown_sensor", "known", "SensorID", "SensorID {value} is not in customer_meter_sensor", "sensorid"
    ),
    Check(
        "kwh",
        "pattern",
        "kWh",
        "kWh '{value}' is not a non-negative decimal with at most 6 decimals",
        "^[0-9]+([.][0-9]{1,6})?$",
    ),
    Check(
        "kwh_ceiling",
        "below",
        "kWh",
        "kWh {value} is not below the ceiling of {{ max_kwh_per_reading }} kWh per reading",
        "max_kwh_per_reading",
    ),
    Check(
        "hour", "pattern", "HourCollected", "HourCollected '{value}' is not 00..23", "^([01][0-9]|2[0-3])$"
    ),
)

CUSTOMER_CHECKS: Final = (
    Check("field_count", "field_count", "*", "the line has {value} fields, not 3", 3),
    Check("customer_id", "pattern", "CustomerID", "CustomerID '{value}' is not an integer", _INTEGER),
    Check("sensor_id", "pattern", "SensorID", "SensorID '{value}' is not an integer", _INTEGER),
    Check("duplicate_sensor", "unique", "SensorID", "SensorID {value} is listed more than once"),
)

# The rows of the validation query's result (column "kind"), each a count or a listed bad line.
COUNT_KINDS: Final = (
    "readings",  # reading lines of the day (not blank)
    "bad_readings",  # of those, lines that fail a check
    "month_bad_readings",  # lines of the month's other days that fail a check
    "sensors_reporting",  # distinct sensors with a valid reading that day
    "sensors_known",  # distinct sensors of the customers table
    "bad_customers",  # rows of the customers table that fail a check
)
BAD_READING: Final = "bad_reading"
BAD_CUSTOMER: Final = "bad_customer"
RESULT_COLUMNS: Final = ("kind", "n", "object_key", "line", "rule", "value", "problem")

_PATH: Final = '"$path"'  # Athena's hidden column: the s3:// URI of the object a row was read from
_MARKER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


class QueryTemplateError(MeterpipeError):
    """A query's ``{{ marker }}`` left unfilled, or a value given for no marker."""


def fill(sql: str, values: Mapping[str, str]) -> str:
    """Replace every ``{{ name }}`` of ``sql``; every marker must have a value and every value a marker."""
    used = set(_MARKER.findall(sql))
    missing, unknown = sorted(used - set(values)), sorted(set(values) - used)
    if missing or unknown:
        problems = [f"unfilled: {', '.join(missing)}"] if missing else []
        problems += [f"no such marker: {', '.join(unknown)}"] if unknown else []
        raise QueryTemplateError("cannot fill the query's markers: " + "; ".join(problems))
    return _MARKER.sub(lambda match: values[match.group(1)], sql)


def markers(sql: str) -> set[str]:
    return set(_MARKER.findall(sql))


def _string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _field(line_format: LineFormat, field: str, fields: str) -> str:
    return f"element_at({fields}, {line_format.position(field)})"


def _integer(expression: str) -> str:
    """The field as bigint, NULL unless it is digits (Trino's and DuckDB's casts differ on '1.5')."""
    digits = f"regexp_like({expression}, {_string(_INTEGER)})"
    return f"CASE WHEN {digits} THEN try_cast({expression} AS bigint) END"


@dataclass(frozen=True)
class _Compiled:
    bad: str  # SQL condition: the line breaks the check
    value: str  # SQL expression: the offending value as text


def _compile(check: Check, line_format: LineFormat, fields: str, aliases: Mapping[str, str]) -> _Compiled:
    if check.kind == "field_count":
        count = f"cardinality({fields})"
        return _Compiled(f"{count} <> {int(check.argument)}", f"CAST({count} AS varchar)")
    value = _field(line_format, check.field, fields)
    if check.kind == "pattern":
        return _Compiled(f"NOT coalesce(regexp_like({value}, {_string(str(check.argument))}), false)", value)
    if check.kind == "known":
        return _Compiled(f"{aliases['known']}.{check.argument} IS NULL", value)
    if check.kind == "below":
        ceiling = "{{ " + str(check.argument) + " }}"
        return _Compiled(f"NOT coalesce(try_cast({value} AS decimal(38, 6)) < {ceiling}, false)", value)
    if check.kind == "unique":
        return _Compiled(f"{aliases['same']} > 1", value)
    raise ValueError(f"unknown check kind {check.kind!r}")


def _message(check: Check, value: str) -> str:
    before, _, after = check.message.partition("{value}")
    parts = [_string(before)] if before else []
    parts.append(f"substr({value}, 1, {MAX_VALUE_CHARS})")
    if after:
        parts.append(_string(after))
    return f"concat({', '.join(parts)})"


def _case(compiled: list[tuple[Check, _Compiled]], what: Literal["rule", "value", "problem"]) -> str:
    branches = []
    for check, sql in compiled:
        results = {"rule": _string(check.rule), "value": sql.value, "problem": _message(check, sql.value)}
        result = results[what]
        branches.append(f"WHEN {sql.bad} THEN {result}")
    return "CASE " + " ".join(branches) + " END"


def _reading_checks(fields: str, known: str) -> list[tuple[Check, _Compiled]]:
    return [(c, _compile(c, READING_FORMAT, fields, {"known": known})) for c in READING_CHECKS]


def _customer_checks(fields: str, same: str) -> list[tuple[Check, _Compiled]]:
    return [(c, _compile(c, CUSTOMER_FORMAT, fields, {"same": same})) for c in CUSTOMER_CHECKS]


_HEADER = "-- Generated by meterpipe/checks.py from its checks (python -m meterpipe.checks); do not edit.\n"


def valid_readings_sql() -> str:
    """``meterpipe/queries/valid_readings.sql``: every reading that passes every check, with its customer.

    Columns: customerid, sensorid (bigint), kwh (decimal(18, 6), exact), hourcollected ('00'..'23'),
    year, month, day. Markers: ``partitions`` (conditions on ``l.year``, ``l.month``, ``l.day``),
    ``max_kwh_per_reading``.
    """
    fields, customers = "r.fields", "c"
    rule = _case(_reading_checks(fields, customers), "rule")
    return (
        _HEADER
        + "-- The readings that pass every check of meterpipe/checks.py, each with its customer: the one\n"
        + "-- way the rollup queries read readings, so no item is ever computed from a bad reading.\n"
        + "-- {{ partitions }}: the partition filter (one day or one month); {{ max_kwh_per_reading }}:\n"
        + "-- the per-reading ceiling (meterpipe:maxKwhPerReading). Both are filled when the definitions\n"
        + "-- are rendered.\n"
        + "SELECT\n"
        + f"    {customers}.customerid AS customerid,\n"
        + f"    {_integer(_field(READING_FORMAT, 'SensorID', fields))} AS sensorid,\n"
        + f"    try_cast({_field(READING_FORMAT, 'kWh', fields)} AS decimal(18, 6)) AS kwh,\n"
        + f"    {_field(READING_FORMAT, 'HourCollected', fields)} AS hourcollected,\n"
        + "    r.year AS year,\n"
        + "    r.month AS month,\n"
        + "    r.day AS day\n"
        + "FROM (\n"
        + "    SELECT l.year AS year, l.month AS month, l.day AS day, split(l.line, ',') AS fields\n"
        + f"    FROM {READINGS_LINES.name} AS l\n"
        + "    WHERE {{ partitions }} AND coalesce(l.line, '') <> ''\n"
        + ") AS r\n"
        + f"LEFT JOIN {CUSTOMERS.name} AS {customers}\n"
        + f"    ON {customers}.sensorid = {_integer(_field(READING_FORMAT, 'SensorID', fields))}\n"
        + f"WHERE ({rule}) IS NULL\n"
    )


def validation_sql() -> str:
    """``meterpipe/queries/validation.sql``: the checks of one day, before any write.

    Parameters (ExecutionParameters, SQL string literals): year, month, day. Marker:
    ``max_kwh_per_reading``. Result columns: kind, n, object_key, line, rule, value, problem; one row
    per count (``COUNT_KINDS``, in ``n``) and one per listed bad line (``bad_reading``: the day's
    first ``SAMPLE_LINES`` by key and text; ``bad_customer``: the customers table's), the rest NULL.
    """
    reading_checks = _reading_checks("m.fields", "c")
    customer_checks = _customer_checks("u.fields", "u.same_sensor")

    def key(path: str) -> str:  # the object's key: "$path" is its s3:// URI
        return f"regexp_replace({path}, '^s3://[^/]+/', '')"

    nulls = "CAST(NULL AS varchar)"

    def count(kind: str, expression: str, source: str, where: str = "") -> str:
        condition = f" WHERE {where}" if where else ""
        return (
            f"SELECT {_string(kind)} AS kind, {expression} AS n, {nulls} AS object_key, {nulls} AS line, "
            f"{nulls} AS rule, {nulls} AS value, {nulls} AS problem FROM {source}{condition}"
        )

    def listed(kind: str, source: str, where: str) -> str:
        return (
            f"SELECT * FROM (SELECT {_string(kind)} AS kind, CAST(NULL AS bigint) AS n, object_key, "
            f"substr(line, 1, {MAX_LINE_CHARS}) AS line, rule, value, problem FROM {source} WHERE {where} "
            f"ORDER BY object_key, line LIMIT {SAMPLE_LINES})"
        )

    sensor = _integer(_field(READING_FORMAT, "SensorID", "m.fields"))
    customer_sensor = _integer(_field(CUSTOMER_FORMAT, "SensorID", "split(line, ',')"))
    return (
        _HEADER
        + "-- One day's validation, before any write: the month's reading lines (a bad reading on\n"
        + "-- another day of the month is left out of the month items) and the customers table, checked\n"
        + "-- by the rules of meterpipe/checks.py. Parameters: year, month, day ('2024', '01', '05').\n"
        + "-- One row per count (kind, n) and per listed bad line (kind, object_key, line, rule, value,\n"
        + "-- problem).\n"
        + "WITH month_lines AS (\n"
        + f"    SELECT l.{_PATH} AS path, l.line AS line, l.day AS day, split(l.line, ',') AS fields\n"
        + f"    FROM {READINGS_LINES.name} AS l\n"
        + "    WHERE l.year = ? AND l.month = ? AND coalesce(l.line, '') <> ''\n"
        + "),\n"
        + "target AS (SELECT ? AS day),\n"
        + "readings AS (\n"
        + "    SELECT\n"
        + f"        {key('m.path')} AS object_key,\n"
        + "        m.line AS line,\n"
        + "        m.day = t.day AS on_day,\n"
        + f"        {sensor} AS sensorid,\n"
        + f"        {_case(reading_checks, 'rule')} AS rule,\n"
        + f"        {_case(reading_checks, 'value')} AS value,\n"
        + f"        {_case(reading_checks, 'problem')} AS problem\n"
        + "    FROM month_lines AS m\n"
        + "    CROSS JOIN target AS t\n"
        + f"    LEFT JOIN {CUSTOMERS.name} AS c ON c.sensorid = {sensor}\n"
        + "),\n"
        + "customer_lines AS (\n"
        + "    SELECT\n"
        + f"        {key(_PATH)} AS object_key,\n"
        + "        line,\n"
        + "        split(line, ',') AS fields,\n"
        + f"        count(*) OVER (PARTITION BY {customer_sensor}) AS same_sensor\n"
        + f"    FROM {CUSTOMERS_LINES.name}\n"
        + "    WHERE coalesce(line, '') <> ''\n"
        + "),\n"
        + "customers AS (\n"
        + "    SELECT\n"
        + "        u.object_key AS object_key,\n"
        + "        u.line AS line,\n"
        + f"        {_case(customer_checks, 'rule')} AS rule,\n"
        + f"        {_case(customer_checks, 'value')} AS value,\n"
        + f"        {_case(customer_checks, 'problem')} AS problem\n"
        + "    FROM customer_lines AS u\n"
        + ")\n"
        + count("readings", "count(*)", "readings", "on_day")
        + "\nUNION ALL\n"
        + count("bad_readings", "count(*)", "readings", "on_day AND rule IS NOT NULL")
        + "\nUNION ALL\n"
        + count("month_bad_readings", "count(*)", "readings", "NOT on_day AND rule IS NOT NULL")
        + "\nUNION ALL\n"
        + count("sensors_reporting", "count(DISTINCT sensorid)", "readings", "on_day AND rule IS NULL")
        + "\nUNION ALL\n"
        + count("sensors_known", "count(DISTINCT sensorid)", CUSTOMERS.name)
        + "\nUNION ALL\n"
        + count("bad_customers", "count(*)", "customers", "rule IS NOT NULL")
        + "\nUNION ALL\n"
        + listed(BAD_READING, "readings", "on_day AND rule IS NOT NULL")
        + "\nUNION ALL\n"
        + listed(BAD_CUSTOMER, "customers", "rule IS NOT NULL")
        + "\n"
    )


GENERATED: Final = {VALID_READINGS_FILE: valid_readings_sql, VALIDATION_FILE: validation_sql}


def write_queries(directory: Path = QUERIES_DIR) -> list[Path]:
    """Write the generated query files; returns those whose text changed."""
    changed = []
    for name, build in GENERATED.items():
        path = directory / name
        text = build()
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


if __name__ == "__main__":
    for written in write_queries():
        print(f"wrote {written}", file=sys.stderr)
