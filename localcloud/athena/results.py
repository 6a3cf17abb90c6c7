"""Query results as Athena returns and writes them.

Athena writes a SELECT's result to ``<OutputLocation>/<QueryExecutionId>.csv``: a header row of
column names, then one line per row, every value in double quotes (a quote inside doubled), NULL
as nothing at all, lines ending in LF. Each value is the text Trino gives the value of its type:
``bigint`` as digits, ``double`` as Java's ``Double.toString`` (``0.3``, ``1.0E7``), ``decimal(p,s)``
with exactly ``s`` decimals (``12.30``), ``boolean`` as ``true``/``false``, ``date`` as
``2022-01-05``, ``timestamp`` as ``2022-01-05 18:00:00.000``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_DECIMAL_TYPE = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
# DuckDB result type -> Athena (Trino) type name. HUGEINT is what DuckDB's sum(bigint) returns;
# Trino's is bigint.
_TYPE_NAMES = {
    "BOOLEAN": "boolean",
    "TINYINT": "tinyint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "bigint",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "bigint",
    "FLOAT": "real",
    "DOUBLE": "double",
    "VARCHAR": "varchar",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "BLOB": "varbinary",
    "UUID": "uuid",
}
# ResultSetMetadata.ColumnInfo precision Athena reports per type (decimal: its own precision).
_PRECISION = {
    "tinyint": 3,
    "smallint": 5,
    "integer": 10,
    "bigint": 19,
    "real": 7,
    "double": 17,
    "varchar": 2147483647,
    "varbinary": 2147483647,
    "timestamp": 3,
    "timestamp with time zone": 3,
    "time": 3,
}


@dataclass(frozen=True)
class ResultColumn:
    """One result column, as ``ResultSetMetadata.ColumnInfo`` describes it."""

    name: str
    type: str  # Athena type name: bigint, varchar, double, decimal, ...
    precision: int = 0
    scale: int = 0

    @classmethod
    def from_duckdb(cls, name: str, duckdb_type: str) -> ResultColumn:
        upper = duckdb_type.upper()
        match = _DECIMAL_TYPE.fullmatch(upper)
        if match:
            return cls(name, "decimal", int(match.group(1)), int(match.group(2)))
        if upper.endswith("[]"):
            type_name = "array"
        elif upper.startswith(("STRUCT", "MAP")):
            type_name = "row" if upper.startswith("STRUCT") else "map"
        else:
            type_name = _TYPE_NAMES.get(upper, upper.lower())
        return cls(name, type_name, _PRECISION.get(type_name, 0), 0)

    def column_info(self) -> dict[str, Any]:
        """``ColumnInfo`` as GetQueryResults returns it."""
        return {
            "CatalogName": "hive",
            "SchemaName": "",
            "TableName": "",
            "Name": self.name,
            "Label": self.name,
            "Type": self.type,
            "Precision": self.precision,
            "Scale": self.scale,
            "Nullable": "UNKNOWN",
            "CaseSensitive": self.type in ("varchar", "char"),
        }


@dataclass
class QueryResult:
    """Typed columns, Python rows, and what the query cost to read."""

    columns: list[ResultColumn]
    rows: list[tuple[Any, ...]]
    data_scanned_bytes: int = 0
    objects_read: list[str] = field(default_factory=list)
    engine_execution_ms: int = 0

    def text_rows(self) -> list[list[str | None]]:
        """Every value as Athena's text (None for NULL): what GetQueryResults' ``VarCharValue`` holds."""
        formatters = [_formatter(c) for c in self.columns]
        return [[f(v) for f, v in zip(formatters, row, strict=False)] for row in self.rows]

    def to_csv(self) -> bytes:
        """The result file Athena writes: header row, every value quoted, NULL empty, LF line ends."""
        lines = [",".join(_quote(c.name) for c in self.columns)]
        lines.extend(",".join("" if v is None else _quote(v) for v in row) for row in self.text_rows())
        return ("\n".join(lines) + "\n").encode("utf-8")

    def metadata(self) -> dict[str, Any]:
        """The result's ``ResultSetMetadata`` (Athena's ``.csv.metadata`` is binary; ours is JSON)."""
        return {"ColumnInfo": [c.column_info() for c in self.columns]}

    def metadata_json(self) -> bytes:
        return json.dumps(self.metadata(), indent=None, separators=(",", ":")).encode("utf-8")


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def format_value(value: Any, column: ResultColumn) -> str | None:
    """The text Athena writes for one value of ``column``'s type; None for NULL."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if column.type == "double" and isinstance(value, float):
        return java_double(value)
    if column.type == "real" and isinstance(value, float):
        return java_float(value)
    if isinstance(value, decimal.Decimal):
        return format(value, f".{column.scale}f") if column.type == "decimal" else str(value)
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
        return text + (value.strftime(" %Z") if value.tzinfo else "")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return " ".join(f"{b:02x}" for b in bytes(value))
    if isinstance(value, list | tuple):
        element = ResultColumn("", "double" if value and isinstance(value[0], float) else "")
        return "[" + ", ".join(_nested(v, element) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_nested(v, ResultColumn('', ''))}" for k, v in value.items()) + "}"
    return str(value)


def _formatter(column: ResultColumn) -> Callable[[Any], str | None]:
    """``format_value`` for one column, its type's common case decided once: a query result holds
    hundreds of thousands of values (a day of 100,000 meters: 2.4 million hour rows)."""

    def general(value: Any) -> str | None:
        return format_value(value, column)

    if column.type in ("bigint", "integer", "smallint", "tinyint"):
        return lambda value: str(value) if type(value) is int else general(value)
    if column.type in ("varchar", "char"):
        return lambda value: value if type(value) is str else general(value)
    if column.type == "double":

        def double(value: Any) -> str | None:
            # In this range Python's repr and Java's Double.toString agree: the shortest digits that
            # read back as the same double, in plain notation (java_double handles the rest).
            if type(value) is float and 1e-3 <= abs(value) < 1e7:
                return repr(value)
            return general(value)

        return double
    return general


def _nested(value: Any, column: ResultColumn) -> str:
    text = format_value(value, column)
    return "null" if text is None else text


def java_double(value: float) -> str:
    """Java's ``Double.toString``: shortest digits; plain for 1e-3 <= |x| < 1e7, else ``d.dddE±n``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return _java_float_text(repr(value), value)


def java_float(value: float) -> str:
    """Java's ``Float.toString``: as :func:`java_double` with the shortest digits of the 32-bit value."""
    if math.isnan(value) or math.isinf(value):
        return java_double(value)
    single = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        text = f"{single:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            return _java_float_text(text, single)
    return _java_float_text(repr(single), single)


def _java_float_text(shortest: str, value: float) -> str:
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign, digit_tuple, exponent = decimal.Decimal(shortest).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    assert isinstance(exponent, int)
    point = len(digits) + exponent  # position of the decimal point relative to the digits
    prefix = "-" if sign else ""
    if 1e-3 <= abs(value) < 1e7:
        if point <= 0:
            return f"{prefix}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return f"{prefix}{digits}{'0' * (point - len(digits))}.0"
        return f"{prefix}{digits[:point]}.{digits[point:]}"
    mantissa = digits[0] + "." + (digits[1:] or "0")
    return f"{prefix}{mantissa}E{point - 1}"
