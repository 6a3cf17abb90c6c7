"""Run one Athena query on DuckDB.

1. Parse the text in Athena's dialect, bind the ExecutionParameters, resolve every table in the
   catalog and read the partition filters off the syntax tree (:mod:`statement`).
2. Select the partitions those filters allow and fetch only their objects (:mod:`partitions`),
   counting the bytes read: Athena's ``DataScannedInBytes``.
3. Normalise each object's text (:mod:`textfile`), write it to a scratch folder, and define each
   table as a DuckDB view over ``read_csv`` with the columns cast to their catalog types. A query
   naming one of Trino's hidden columns (``"$path"``, ``"$file_size"``, ``"$file_modified_time"``)
   gets them in every view, one ``read_csv`` per object, and kept out of ``SELECT *`` as in Trino.
4. Transpile the query to DuckDB with sqlglot, run it, and map DuckDB's errors to Athena's.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import duckdb
from sqlglot import exp

from localcloud.athena.catalog import Catalog, ColumnDefinition, TableDefinition
from localcloud.athena.errors import AthenaQueryError, not_supported
from localcloud.athena.partitions import Partition, select_partitions
from localcloud.athena.results import QueryResult, ResultColumn
from localcloud.athena.statement import DIALECT, Statement, check_comparison_types, parse, position
from localcloud.athena.storage import ObjectStore, S3ObjectStore, StoredObject, split_s3_uri
from localcloud.athena.textfile import TextCache, normalise

_READ_THREADS = 8
# Normalised object texts kept between queries (textfile.TextCache): a month of 10,000 meters' readings.
_TEXT_CACHE_BYTES = 256 * 1024 * 1024
# The hidden columns Trino's Hive connector (so Athena) gives every table, with their DuckDB types:
# the object a row was read from, its size in bytes and its last modification
# ("timestamp(3) with time zone"). Never part of SELECT *.
HIDDEN_COLUMNS: Final = {"$path": "VARCHAR", "$file_size": "BIGINT", "$file_modified_time": "TIMESTAMPTZ"}
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

    ``confirm_cached`` says, at each query, whether an object whose text is cached must still be
    reached (:meth:`ObjectStore.confirm`) so that a failing store fails the query as on AWS. Alone,
    the engine cannot know, so it always does; localcloud's Athena asks only while a fault is set
    on S3's GetObject: otherwise the confirming reads cannot fail, and they cost a request to the
    endpoint per object per query (a tenth of the server's time in ``make demo``).
    """

    def __init__(
        self,
        catalog: Catalog,
        store: ObjectStore | None = None,
        *,
        s3_client: Any = None,
        confirm_cached: Callable[[], bool] = lambda: True,
    ) -> None:
        if store is None:
            if s3_client is None:
                raise ValueError("AthenaEngine needs an object store or an s3_client")
            store = S3ObjectStore(s3_client)
        self.catalog = catalog
        self.store = store
        self.texts = TextCache(_TEXT_CACHE_BYTES)
        self.confirm_cached = confirm_cached

    def execute(self, sql: str, parameters: Sequence[str] = (), *, database: str = "") -> QueryResult:
        """Run ``sql`` with ``parameters`` (ExecutionParameters) in ``database`` (QueryExecutionContext)."""
        started = time.perf_counter()
        statement = parse(sql, parameters, self.catalog, database.lower())
        check_comparison_types(statement)
        hidden = uses_hidden_columns(statement.tree)
        with tempfile.TemporaryDirectory(prefix="athena-") as scratch:
            connection = duckdb.connect(":memory:")
            # DuckDB would push TRY_CAST into the CSV reader as a strict cast, failing on a bad number
            # where Hive (and so Athena) reads NULL.
            connection.execute("SET disabled_optimizers = 'type_pushdown'")
            # Athena's session zone is UTC: timestamps with a zone come back in UTC.
            connection.execute("SET TimeZone = 'UTC'")
            try:
                try:
                    scanned, objects = self._define_tables(connection, statement, Path(scratch), hidden)
                except duckdb.Error as exc:  # a table definition DuckDB refused: our bug, not the query's
                    raise AthenaQueryError("GENERIC_INTERNAL_ERROR", _first_line(str(exc))) from exc
                _confine(connection, Path(scratch))
                result = self._run(connection, statement, hidden)
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
        self, connection: duckdb.DuckDBPyConnection, statement: Statement, scratch: Path, hidden: bool
    ) -> tuple[int, list[StoredObject]]:
        # One view per table; a table referenced twice reads the union of what each reference allows.
        wanted: dict[tuple[str, str], tuple[TableDefinition, dict[PartitionValues, Partition]]] = {}
        for reference in statement.references:
            table = reference.table
            _, partitions = wanted.setdefault((table.database, table.name), (table, {}))
            for partition in select_partitions(table, reference.filters, self.store):
                partitions[partition.values] = partition
        objects = [o for _, parts in wanted.values() for p in parts.values() for o in p.objects]
        texts: dict[tuple[str, str, StoredObject], bytes] = {}
        missing: list[tuple[TableDefinition, StoredObject]] = []
        cached_objects: list[StoredObject] = []
        for table, parts in wanted.values():
            for obj in (o for p in parts.values() for o in p.objects):
                cached = self.texts.get(_text_key(table, obj)) if obj.etag is not None else None
                if cached is None:
                    missing.append((table, obj))
                else:
                    texts[(table.database, table.name, obj)] = cached
                    cached_objects.append(obj)
        # A cached text costs its object one small read only when the store could fail it.
        confirming = cached_objects if self.confirm_cached() else []
        if missing or confirming:
            with ThreadPoolExecutor(max_workers=min(_READ_THREADS, len(missing) + len(confirming))) as pool:
                list(pool.map(self._confirm, confirming))
                for (table, obj), text in zip(missing, pool.map(self._text, missing), strict=True):
                    texts[(table.database, table.name, obj)] = text
        for index, (table, partitions) in enumerate(wanted.values()):
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(table.database)}")
            branches = []
            for number, partition in enumerate(sorted(partitions.values(), key=lambda p: p.values)):
                values = dict(partition.values)
                # One file per partition, or per object when the hidden columns must say which.
                groups = [(o,) for o in partition.objects] if hidden else [partition.objects]
                for part, group in enumerate(groups):
                    path = scratch / f"t{index}-p{number}-{part}.csv"
                    with path.open("wb") as out:
                        for obj in group:
                            out.write(texts[(table.database, table.name, obj)])
                    if path.stat().st_size:
                        source = group[0] if hidden else None
                        branches.append(_partition_select(table, path, values, source))
            body = " UNION ALL ".join(branches) if branches else _empty_select(table, hidden)
            connection.execute(f"CREATE VIEW {_ident(table.database)}.{_ident(table.name)} AS {body}")
        return sum(o.size for o in objects), objects

    def _text(self, read: tuple[TableDefinition, StoredObject]) -> bytes:
        """The object's text as the table reads it (:func:`normalise`), kept for later queries when
        the store gives its ETag."""
        table, obj = read
        text = normalise(
            self._read(obj), skip_header_lines=table.skip_header_lines, null_marker=table.null_format.encode()
        )
        if obj.etag is not None:
            self.texts.put(_text_key(table, obj), text)
        return text

    def _read(self, obj: StoredObject) -> bytes:
        with _read_errors(obj):
            return self.store.read(obj)

    def _confirm(self, obj: StoredObject) -> None:
        with _read_errors(obj):
            self.store.confirm(obj)

    # -- query -----------------------------------------------------------------------------------

    def _run(self, connection: duckdb.DuckDBPyConnection, statement: Statement, hidden: bool) -> QueryResult:
        # The statement's tree is this query's own copy (``parse`` binds the parameters into one):
        # it is rewritten for DuckDB in place. A second copy cost as much as DuckDB's run of a
        # day's query; what an error reads of the tree afterwards (columns, functions) is unchanged.
        tree = statement.tree
        if hidden:
            _hide_from_stars(statement)
        tables = {id(r.node): r.table for r in statement.references}
        for node in list(tree.find_all(exp.Table)):
            table = tables.get(id(node))
            if table is None:
                continue
            node.set("catalog", None)
            node.set("db", exp.to_identifier(table.database, quoted=True))
            node.set("this", exp.to_identifier(table.name, quoted=True))
            if not node.alias:
                # Keep ``t.col`` working for an unaliased ``db.t``, as Trino does.
                node.set("alias", exp.TableAlias(this=exp.to_identifier(table.name, quoted=True)))
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


@contextmanager
def _read_errors(obj: StoredObject) -> Iterator[None]:
    """The store's own error as Athena reports a failed read: the object named, the cause kept."""
    try:
        yield
    except AthenaQueryError:
        raise
    except Exception as exc:
        raise AthenaQueryError("HIVE_CURSOR_ERROR", f"Failed to read {obj.uri}: {exc}") from exc


def _text_key(table: TableDefinition, obj: StoredObject) -> tuple[str, str, str | None, int, str]:
    """What a normalised text depends on: the object's content (its ETag) and the table's settings."""
    return (obj.bucket, obj.key, obj.etag, table.skip_header_lines, table.null_format)


def _confine(connection: duckdb.DuckDBPyConnection, scratch: Path) -> None:
    """The query reads the tables' files in ``scratch`` and nothing else of the machine: a DuckDB
    table function in the query text (``read_text('/etc/passwd')``, ``glob('/home/*')``) is refused
    with a permission error, and the query cannot change that back."""
    connection.execute(f"SET allowed_directories = [{_literal(str(scratch))}]")
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")


def uses_hidden_columns(tree: exp.Expr) -> bool:
    """Whether the query names any of the hidden columns (``"$path"``, ...)."""
    return any(column.name.lower() in HIDDEN_COLUMNS for column in tree.find_all(exp.Column))


def _hide_from_stars(statement: Statement) -> None:
    """Keep the hidden columns out of ``*`` and ``t.*`` over a catalog table."""
    aliases: dict[int, set[str]] = {}
    for reference in statement.references:
        select = reference.node.find_ancestor(exp.Select)
        if select is not None:
            aliases.setdefault(id(select), set()).add(reference.node.alias_or_name.lower())
    for select in list(statement.tree.find_all(exp.Select)):
        tables = aliases.get(id(select))
        if tables is None:
            continue
        for projection in select.expressions:
            star = projection if isinstance(projection, exp.Star) else None
            if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
                star = projection.this if projection.table.lower() in tables else None
            if star is not None:
                star.set("except_", [exp.column(name, quoted=True) for name in HIDDEN_COLUMNS])


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


def _partition_select(
    table: TableDefinition, path: Path, values: dict[str, str], source: StoredObject | None = None
) -> str:
    # Every field is read as text and cast like Hive's LazySimpleSerDe: what does not parse is NULL.
    fields = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(table.columns)))
    reader = (
        f"read_csv({_literal(str(path))}, columns={{{fields}}}, header=false, auto_detect=false, "
        f"delim={_literal(table.field_delimiter)}, quote='', escape='', new_line='\\n', "
        f"nullstr={_literal(table.null_format)}, null_padding=true, strict_mode=false, "
        f"parallel=false)"
    )
    selected = [_cast(f"c{i}", c, table) for i, c in enumerate(table.columns)]
    selected += [_cast(_literal(values[k.name]), k, table) for k in table.partition_keys]
    if source is not None:
        selected += _hidden_values(source)
    return f"SELECT {', '.join(selected)} FROM {reader}"


def _hidden_values(source: StoredObject) -> list[str]:
    modified = (
        f"TIMESTAMPTZ {_literal(source.last_modified.astimezone(dt.UTC).isoformat())}"
        if source.last_modified is not None
        else "CAST(NULL AS TIMESTAMPTZ)"
    )
    return [
        f"{_literal(source.uri)} AS {_ident('$path')}",
        f"CAST({int(source.size)} AS BIGINT) AS {_ident('$file_size')}",
        f"{modified} AS {_ident('$file_modified_time')}",
    ]


def _empty_select(table: TableDefinition, hidden: bool = False) -> str:
    selected = [f"CAST(NULL AS {_duckdb_type(c, table)}) AS {_ident(c.name)}" for c in table.all_columns]
    if hidden:
        selected += [f"CAST(NULL AS {kind}) AS {_ident(name)}" for name, kind in HIDDEN_COLUMNS.items()]
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
