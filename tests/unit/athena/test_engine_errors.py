"""Failures carry Athena's error name first and Trino's wording, with the position in the query."""

from __future__ import annotations

import pytest
from athena_fakes import EVENTS_COLUMNS, MemoryStore, glue_table

from localcloud.athena import AthenaEngine, AthenaQueryError, ErrorCategory, StaticCatalog


def _error(engine: AthenaEngine, sql: str) -> AthenaQueryError:
    with pytest.raises(AthenaQueryError) as caught:
        engine.execute(sql, database="db")
    return caught.value


def test_missing_table(engine: AthenaEngine) -> None:
    error = _error(engine, "SELECT * FROM nothing_here")
    assert str(error) == "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.db.nothing_here' does not exist"
    assert error.name == "TABLE_NOT_FOUND"
    assert error.category is ErrorCategory.USER
    assert (error.line, error.column) == (1, 15)


def test_missing_schema_and_catalog(engine: AthenaEngine) -> None:
    assert (
        str(_error(engine, "SELECT *\nFROM nodb.t"))
        == "SCHEMA_NOT_FOUND: line 2:6: Schema 'nodb' does not exist"
    )
    assert _error(engine, "SELECT * FROM other.db.events").name == "CATALOG_NOT_FOUND"


def test_missing_column(engine: AthenaEngine) -> None:
    error = _error(engine, "SELECT id, nope FROM events")
    assert str(error) == (
        "COLUMN_NOT_FOUND: line 1:12: Column 'nope' cannot be resolved or requester is not authorized "
        "to access requested resources"
    )


def test_syntax_error(engine: AthenaEngine) -> None:
    error = _error(engine, "SELECT id FROM events WHERE")
    assert error.name == "SYNTAX_ERROR"
    assert str(error).startswith("SYNTAX_ERROR: line 1:")


def test_unknown_function(engine: AthenaEngine) -> None:
    error = _error(engine, "SELECT frobnicate(id) FROM events")
    assert str(error) == "FUNCTION_NOT_FOUND: line 1:8: Function 'frobnicate' not registered"


def test_type_mismatch(engine: AthenaEngine) -> None:
    error = _error(engine, "SELECT id FROM events WHERE name = 5")
    assert str(error) == "TYPE_MISMATCH: line 1:29: Cannot apply operator: varchar = integer"


def test_invalid_cast(engine: AthenaEngine, store: MemoryStore) -> None:
    store.put("s3://lake/events/a.csv", "h\n1,abc,1\n")
    error = _error(engine, "SELECT CAST(name AS bigint) FROM events")
    assert str(error) == "INVALID_CAST_ARGUMENT: Cannot cast 'abc' to BIGINT"


def test_only_queries_run(engine: AthenaEngine) -> None:
    assert _error(engine, "DROP TABLE events").name == "NOT_SUPPORTED"
    assert _error(engine, "SELECT 1; SELECT 2").name == "INVALID_INPUT"


def test_tables_the_engine_cannot_read_are_refused_by_name() -> None:
    catalog = StaticCatalog()
    catalog.add_database("db")
    catalog.add_database("db2")
    opencsv = glue_table("q", "s3://lake/q/", EVENTS_COLUMNS)
    opencsv["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] = (
        "org.apache.hadoop.hive.serde2.OpenCSVSerde"
    )
    with pytest.raises(AthenaQueryError) as caught:
        catalog.add_table("db", opencsv)
    assert caught.value.name == "NOT_SUPPORTED"
    assert "OpenCSVSerde" in str(caught.value)
    catalog.add_table("db2", glue_table("m", "s3://lake/m/", [("tags", "map<string,string>")]))
    error = _error(AthenaEngine(catalog, MemoryStore()), "SELECT * FROM db2.m")
    assert error.name == "NOT_SUPPORTED"
    assert "map<string,string>" in str(error)


def test_the_message_starts_with_the_name_as_state_change_reason_does() -> None:
    error = AthenaQueryError("HIVE_CURSOR_ERROR", "Failed to read s3://b/k")
    assert error.message == "HIVE_CURSOR_ERROR: Failed to read s3://b/k"
    assert error.category is ErrorCategory.SYSTEM
    assert error.retryable


def test_the_duckdb_connection_of_a_query_reads_only_its_scratch_folder(tmp_path) -> None:
    # Table functions are refused by the parser already (NOT_SUPPORTED); this is the second wall:
    # whatever reaches DuckDB can read the query's own files and nothing else of the machine.
    import duckdb

    from localcloud.athena.engine import _confine

    (tmp_path / "t.csv").write_text("1\n")
    connection = duckdb.connect(":memory:")
    connection.execute(f"CREATE VIEW v AS SELECT * FROM read_csv('{tmp_path / 't.csv'}', header=false)")
    _confine(connection, tmp_path)
    assert connection.sql("SELECT * FROM v").fetchall() == [(1,)]
    with pytest.raises(duckdb.PermissionException, match="file system operations are disabled"):
        connection.sql("SELECT * FROM read_text('/etc/hostname')").fetchall()
    with pytest.raises(duckdb.Error):
        connection.execute("SET enable_external_access = true")
