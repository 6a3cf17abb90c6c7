"""Run one Athena query on DuckDB.

1. Parse the text in Athena's dialect, bind the ExecutionParameters, resolve every table in the
   catalog and read the partition filters off the syntax tree (:mod:`statement`).
2. Select the partitions those filters allow and fetch only their objects (:mod:`partitions`),
   counting the bytes read: Athena's ``DataScannedInBytes``.
3. Normalise each object's text (:mod:`textfile`), write it to a scratch folder, and define each
   table as a DuckDB view over ``read_csv`` with the columns cast to their catalog types.
4. Transpile the query to DuckDB with sqlglot, run it, and map DuckDB's errors to Athena's.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from localcloud.athena.catalog import Catalog, ColumnDefinition, TableDefinition
from localcloud.athena.errors import AthenaQueryError, not_supported
from localcloud.athena.partitions import Partition, select_partitions
from localcloud.athena.results import QueryResult, ResultColumn
from localcloud.athena.statement import DIALECT, Statement, check_comparison_types, parse, position
from localcloud.athena.storage import ObjectStore, S3ObjectStore, StoredObject, split_s3_uri
from localcloud.athena.textfile import normalise

_READ_THREADS = 8
PartitionValues = tuple[tuple[str, str], ...]
_DECIMAL = re.compile(r"decimal\((\d+)\s*,\s*(\d+)\)")
_SIMPLE_TYPES = {
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "real": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "string": "VARCHAR",
}


class AthenaEngine:
    """Athena's query engine, offline: the catalog says what tables are, the object store holds them.

    ``store`` is an :class:`ObjectStore`; pass ``s3_client=`` (any boto3 ``s3`` client) instead to
    read S3 through boto3.
    """

    def __init__(self, catalog: Catalog, store: ObjectStore | None = None, *, s3_client: Any = None) -> None:
        if store is None:
            if s3_client is None:
                raise ValueError("AthenaEngine needs an object store or an s3_client")
            store = S3ObjectStore(s3_client)
        self.catalog = catalog
        self.store = store

    def execute(self, sql: str, parameters: Sequence[str] = (), *, database: str = "") -> QueryResult:
        """Run ``sql`` with ``parameters`` (ExecutionParameters) in ``database`` (QueryExecutionContext)."""
        started = time.perf_counter()
        statement = parse(sql, parameters, self.catalog, database.lower())
        check_comparison_types(statement)
        with tempfile.TemporaryDirectory(prefix="athena-") as scratch:
            connection = duckdb.connect(":memory:")
            # DuckDB would push TRY_CAST into the CSV reader as a strict cast, failing on a bad number
            # where Hive (and so Athena) reads NULL.
            connection.execute("SET disabled_optimizers = 'type_pushdown'")
            try:
                try:
                    scanned, objects = self._define_tables(connection, statement, Path(scratch))
                except duckdb.Error as exc:  # a table definition DuckDB refused: our bug, not the query's
                    raise AthenaQueryError("GENERIC_INTERNAL_ERROR", _first_line(str(exc))) from exc
                _confine(connection, Path(scratch))
                result = self._run(connection, statement)
            finally:
                connection.close()
        result.data_scanned_bytes = scanned
        result.objects_read = [o.uri for o in objects]
        result.engine_execution_ms = int((time.perf_counter() - started) * 1000)
        return result

    def execute_to(
        self,
        sql: str,
        parameters: Sequence[str] = (),
        *,
        database: str = "",
        output_location: str,
        query_execution_id: str,
    ) -> tuple[QueryResult, str]:
        """Run the query and write ``<output_location>/<id>.csv`` and ``.csv.metadata`` as Athena does.

        Returns the result and the S3 URI of the CSV (``ResultConfiguration.OutputLocation``).
        """
        result = self.execute(sql, parameters, database=database)
        bucket, prefix = split_s3_uri(
            output_location if output_location.endswith("/") else output_location + "/"
        )
        uri = f"s3://{bucket}/{prefix}{query_execution_id}.csv"
        self.write_result(result, uri)
        return result, uri

    def write_result(self, result: QueryResult, uri: str) -> int:
        """Write ``result`` where Athena does: the CSV at ``uri`` (``<OutputLocation>/<id>.csv``)
        and its ``.metadata`` beside it. Returns the CSV's size in bytes."""
        bucket, key = split_s3_uri(uri)
        csv = result.to_csv()
        self.store.write(bucket, key, csv, "text/csv")
        self.store.write(bucket, key + ".metadata", result.metadata_json(), "application/json")
        return len(csv)

    # -- tables ----------------------------------------------------------------------------------

    def _define_tables(
        self, connection: duckdb.DuckDBPyConnection, statement: Statement, scratch: Path
    ) -> tuple[int, list[StoredObject]]:
        # One view per table; a table referenced twice reads the union of what each reference allows.
        wanted: dict[tuple[str, str], tuple[TableDefinition, dict[PartitionValues, Partition]]] = {}
        for reference in statement.references:
            table = reference.table
            _, partitions = wanted.setdefault((table.database, table.name), (table, {}))
            for partition in select_partitions(table, reference.filters, self.store):
                partitions[partition.values] = partition
        objects = [o for _, parts in wanted.values() for p in parts.values() for o in p.objects]
        with ThreadPoolExecutor(max_workers=_READ_THREADS) as pool:
            contents = dict(zip(objects, pool.map(self._read, objects), strict=False))
        for index, (table, partitions) in enumerate(wanted.values()):
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(table.database)}")
            branches = []
            for number, partition in enumerate(sorted(partitions.values(), key=lambda p: p.values)):
                path = scratch / f"t{index}-p{number}.csv"
                with path.open("wb") as out:
                    for obj in partition.objects:
                        out.write(
                            normalise(
                                contents[obj],
                                skip_header_lines=table.skip_header_lines,
                                null_marker=table.null_format.encode(),
                            )
                        )
                if path.stat().st_size:
                    branches.append(_partition_select(table, path, dict(partition.values)))
            body = " UNION ALL ".join(branches) if branches else _empty_select(table)
            connection.execute(f"CREATE VIEW {_ident(table.database)}.{_ident(table.name)} AS {body}")
        return sum(o.size for o in objects), objects

    def _read(self, obj: StoredObject) -> bytes:
        try:
            return self.store.read(obj)
        except AthenaQueryError:
            raise
        except Exception as exc:  # the store's own error: name the object, keep the cause
            raise AthenaQueryError("HIVE_CURSOR_ERROR", f"Failed to read {obj.uri}: {exc}") from exc

    # -- query -----------------------------------------------------------------------------------

    def _run(self, connection: duckdb.DuckDBPyConnection, statement: Statement) -> QueryResult:
        tree = statement.tree.copy()
        tables = {id(r.node): r.table for r in statement.references}
        # The copy walks in the same order as the original, whose nodes the references point at.
        for original, copied in zip(
            statement.tree.find_all(exp.Table), tree.find_all(exp.Table), strict=False
        ):
            table = tables.get(id(original))
            if table is None:
                continue
            copied.set("catalog", None)
            copied.set("db", exp.to_identifier(table.database, quoted=True))
            copied.set("this", exp.to_identifier(table.name, quoted=True))
            if not copied.alias:
                # Keep ``t.col`` working for an unaliased ``db.t``, as Trino does.
                copied.set("alias", exp.TableAlias(this=exp.to_identifier(table.name, quoted=True)))
        sql = tree.sql(dialect="duckdb")
        try:
            relation = connection.sql(sql)
            if relation is None:
                raise not_supported("a statement that returns no rows")
            columns = [
                ResultColumn.from_duckdb(n, str(t))
                for n, t in zip(relation.columns, relation.types, strict=False)
            ]
            rows = relation.fetchall()
        except duckdb.Error as exc:
            raise _athena_error(exc, statement) from exc
        return QueryResult(columns, rows)


def _confine(connection: duckdb.DuckDBPyConnection, scratch: Path) -> None:
    """The query reads the tables' files in ``scratch`` and nothing else of the machine: a DuckDB
    table function in the query text (``read_text('/etc/passwd')``, ``glob('/home/*')``) is refused
    with a permission error, and the query cannot change that back."""
    connection.execute(f"SET allowed_directories = [{_literal(str(scratch))}]")
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _duckdb_type(column: ColumnDefinition, table: TableDefinition) -> str:
    hive = column.type
    if hive in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[hive]
    if hive.startswith(("varchar", "char")):
        return "VARCHAR"
    match = _DECIMAL.fullmatch(hive)
    if match:
        return f"DECIMAL({match.group(1)},{match.group(2)})"
    if hive == "decimal":
        return "DECIMAL(10,0)"
    raise not_supported(f"column type {hive} of {table.database}.{table.name}.{column.name}")


def _cast(expression: str, column: ColumnDefinition, table: TableDefinition) -> str:
    target = _duckdb_type(column, table)
    if target == "VARCHAR":
        return f"{expression} AS {_ident(column.name)}"
    return f"TRY_CAST({expression} AS {target}) AS {_ident(column.name)}"


def _partition_select(table: TableDefinition, path: Path, values: dict[str, str]) -> str:
    # Every field is read as text and cast like Hive's LazySimpleSerDe: what does not parse is NULL.
    fields = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(table.columns)))
    source = (
        f"read_csv({_literal(str(path))}, columns={{{fields}}}, header=false, auto_detect=false, "
        f"delim={_literal(table.field_delimiter)}, quote='', escape='', new_line='\\n', "
        f"nullstr={_literal(table.null_format)}, null_padding=true, strict_mode=false, "
        f"parallel=false)"
    )
    selected = [_cast(f"c{i}", c, table) for i, c in enumerate(table.columns)]
    selected += [_cast(_literal(values[k.name]), k, table) for k in table.partition_keys]
    return f"SELECT {', '.join(selected)} FROM {source}"


def _empty_select(table: TableDefinition) -> str:
    selected = [f"CAST(NULL AS {_duckdb_type(c, table)}) AS {_ident(c.name)}" for c in table.all_columns]
    return f"SELECT {', '.join(selected)} WHERE false"


_MISSING_COLUMN = re.compile(r'Referenced column "([^"]+)" not found', re.IGNORECASE)
_MISSING_TABLE_COLUMN = re.compile(r'Table "([^"]+)" does not have a column named "([^"]+)"', re.IGNORECASE)
_FAILED_CAST = re.compile(r"Could not convert string '(.*)' to (\w+)")
_DUCKDB_TO_TRINO_TYPE = {"INT64": "BIGINT", "INT32": "INTEGER", "INT16": "SMALLINT", "INT8": "TINYINT"}
_MISSING_FUNCTION = re.compile(r"(?:Scalar|Aggregate|Table)? ?Function with name (\w+) does not exist", re.I)


def _athena_error(error: duckdb.Error, statement: Statement) -> AthenaQueryError:
    """DuckDB's error as the Athena error a user would see for the same mistake."""
    text = str(error)
    missing = _MISSING_COLUMN.search(text) or _MISSING_TABLE_COLUMN.search(text)
    if missing:
        name = missing.group(missing.lastindex or 1)
        node = next((c for c in statement.tree.find_all(exp.Column) if c.name.lower() == name.lower()), None)
        shown = node.sql(dialect=DIALECT) if node is not None else name
        line, column = position(node) if node is not None else (None, None)
        return AthenaQueryError(
            "COLUMN_NOT_FOUND",
            f"Column '{shown}' cannot be resolved or requester is not authorized to access requested "
            "resources",
            line=line,
            column=column,
        )
    function = _MISSING_FUNCTION.search(text)
    if function:
        name = function.group(1)
        function_node = next(
            (
                f
                for f in statement.tree.find_all(exp.Func)
                if f.sql_name().lower() == name.lower()
                or (isinstance(f, exp.Anonymous) and f.name.lower() == name.lower())
            ),
            None,
        )
        line, column = position(function_node) if function_node is not None else (None, None)
        return AthenaQueryError(
            "FUNCTION_NOT_FOUND", f"Function '{name}' not registered", line=line, column=column
        )
    if isinstance(error, duckdb.ParserException):
        return AthenaQueryError("SYNTAX_ERROR", _first_line(text))
    if "Division by zero" in text:
        return AthenaQueryError("DIVISION_BY_ZERO", "Division by zero")
    if isinstance(error, duckdb.ConversionException):
        cast = _FAILED_CAST.search(text)
        if cast:
            target = _DUCKDB_TO_TRINO_TYPE.get(cast.group(2), cast.group(2))
            return AthenaQueryError("INVALID_CAST_ARGUMENT", f"Cannot cast '{cast.group(1)}' to {target}")
        return AthenaQueryError("INVALID_CAST_ARGUMENT", _first_line(text))
    if isinstance(error, duckdb.BinderException):
        return AthenaQueryError("SYNTAX_ERROR", _first_line(text))
    if isinstance(error, duckdb.OutOfRangeException):
        return AthenaQueryError("NUMERIC_VALUE_OUT_OF_RANGE", _first_line(text))
    return AthenaQueryError("GENERIC_INTERNAL_ERROR", _first_line(text))


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return re.sub(r"^\w+ Error: ", "", line)
