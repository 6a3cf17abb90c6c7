"""How the engine reads text tables: Hive's LazySimpleSerDe rules, over an in-memory store."""

from __future__ import annotations

import datetime as dt

import pytest
from athena_fakes import EVENTS_COLUMNS, MemoryStore, glue_table

from localcloud.athena import AthenaEngine, StaticCatalog
from localcloud.athena.errors import AthenaQueryError
from localcloud.athena.storage import StoredObject


def test_select_star_returns_data_columns_then_partition_columns(
    engine: AthenaEngine, store: MemoryStore
) -> None:
    store.put("s3://lake/listed/year=2022/month=01/a.csv", "id,name,amount\n1,x,0.5\n")
    result = engine.execute("SELECT * FROM listed", database="db")
    assert [c.name for c in result.columns] == ["id", "name", "amount", "year", "month"]
    assert [c.type for c in result.columns] == ["bigint", "varchar", "double", "varchar", "varchar"]
    assert result.text_rows() == [["1", "x", "0.5", "2022", "01"]]


def test_missing_fields_are_null_extra_fields_ignored_bad_numbers_null(
    engine: AthenaEngine, store: MemoryStore
) -> None:
    store.put("s3://lake/events/a.csv", 'h\n1\n2,b,1.5,surplus\nthree,"q",x\n,,\n4,\\N,2\n')
    result = engine.execute("SELECT id, name, amount FROM events", database="db")
    assert result.text_rows() == [
        ["1", None, None],
        ["2", "b", "1.5"],
        [None, '"q"', None],  # no quoting in the text format: the quotes are part of the value
        [None, "", None],  # an empty string field is '', an empty number field NULL
        ["4", None, "2.0"],  # \N is NULL
    ]


def test_blank_lines_read_as_rows_of_nulls(engine: AthenaEngine, store: MemoryStore) -> None:
    store.put("s3://lake/events/a.csv", "h\n1,a,1\n\n")
    result = engine.execute("SELECT count(*) AS n, count(id) AS ids FROM events", database="db")
    assert result.text_rows() == [["2", "1"]]


def test_every_object_under_the_location_is_read_except_hidden_ones(
    engine: AthenaEngine, store: MemoryStore
) -> None:
    store.put("s3://lake/events/a.csv", "h\n1,a,1\n")
    store.put("s3://lake/events/sub/b.csv", "h\n2,b,2\n")
    store.put("s3://lake/events/_SUCCESS", "")
    store.put("s3://lake/events/.hidden.csv", "h\n3,c,3\n")
    store.put("s3://lake/eventsother/c.csv", "h\n4,d,4\n")
    result = engine.execute("SELECT id FROM events ORDER BY id", database="db")
    assert result.text_rows() == [["1"], ["2"]]
    assert result.objects_read == ["s3://lake/events/a.csv", "s3://lake/events/sub/b.csv"]
    assert result.data_scanned_bytes == len(b"h\n1,a,1\n") + len(b"h\n2,b,2\n")


def test_field_delimiter_and_null_format_come_from_the_serde() -> None:
    store = MemoryStore()
    catalog = StaticCatalog(
        {
            "db": [
                glue_table("tabbed", "s3://lake/t/", EVENTS_COLUMNS, serde={"field.delim": "\t"}),
                glue_table(
                    "ctrl_a", "s3://lake/c/", EVENTS_COLUMNS, serde={"serialization.null.format": "NA"}
                ),
            ]
        }
    )
    store.put("s3://lake/t/a.tsv", "1\tx, y\t2.5\n")
    store.put("s3://lake/c/a.txt", "1\x01NA\x012\n")
    engine = AthenaEngine(catalog, store)
    assert engine.execute("SELECT * FROM tabbed", database="db").text_rows() == [["1", "x, y", "2.5"]]
    assert engine.execute("SELECT * FROM ctrl_a", database="db").text_rows() == [["1", None, "2.0"]]


def test_an_empty_table_has_typed_columns_and_no_rows(engine: AthenaEngine) -> None:
    result = engine.execute("SELECT id, amount FROM events", database="db")
    assert result.rows == []
    assert [c.type for c in result.columns] == ["bigint", "double"]
    assert result.data_scanned_bytes == 0


def test_tables_resolve_by_default_database_or_qualified_name(
    engine: AthenaEngine, store: MemoryStore
) -> None:
    store.put("s3://lake/events/a.csv", "h\n1,a,1\n")
    for sql in (
        "SELECT events.id FROM events",
        "SELECT e.id FROM db.events e",
        'SELECT id FROM "AwsDataCatalog"."DB"."EVENTS"',
        "WITH x AS (SELECT id FROM events) SELECT id FROM x",
    ):
        assert engine.execute(sql, database="db").text_rows() == [["1"]], sql
    assert engine.execute("SELECT id FROM db.events").text_rows() == [["1"]]


def test_execute_to_writes_the_csv_and_metadata_beside_each_other(
    engine: AthenaEngine, store: MemoryStore
) -> None:
    store.put("s3://lake/events/a.csv", "h\n1,a,0.25\n")
    result, uri = engine.execute_to(
        "SELECT name, amount FROM events",
        database="db",
        output_location="s3://results/athena/",
        query_execution_id="q-1",
    )
    assert uri == "s3://results/athena/q-1.csv"
    assert store.objects[("results", "athena/q-1.csv")] == b'"name","amount"\n"a","0.25"\n'
    assert b'"Type":"double"' in store.objects[("results", "athena/q-1.csv.metadata")]
    assert result.rows == [("a", 0.25)]


def test_hidden_columns_name_each_rows_object_its_size_and_modification_time(
    engine: AthenaEngine, store: MemoryStore
) -> None:
    # Trino's Hive connector (Athena's engine) has "$path", "$file_size" and "$file_modified_time"
    # on every table: https://trino.io/docs/current/connector/hive.html#metadata-columns
    first, second = "h\n1,a,1\n2,b,2\n", "h\n3,c,3\n"
    store.put(
        "s3://lake/listed/year=2022/month=01/a.csv", first, dt.datetime(2024, 1, 5, 10, 0, 0, tzinfo=dt.UTC)
    )
    store.put(
        "s3://lake/listed/year=2022/month=02/b.csv",
        second,
        dt.datetime(2024, 2, 1, 9, 30, 15, 250_000, tzinfo=dt.UTC),
    )
    result = engine.execute(
        'SELECT id, "$path", "$file_size", l."$file_modified_time" FROM listed AS l ORDER BY id',
        database="db",
    )
    assert [(c.name, c.type) for c in result.columns] == [
        ("id", "bigint"),
        ("$path", "varchar"),
        ("$file_size", "bigint"),
        ("$file_modified_time", "timestamp with time zone"),
    ]
    a, b = "s3://lake/listed/year=2022/month=01/a.csv", "s3://lake/listed/year=2022/month=02/b.csv"
    assert result.text_rows() == [
        ["1", a, str(len(first)), "2024-01-05 10:00:00.000 UTC"],
        ["2", a, str(len(first)), "2024-01-05 10:00:00.000 UTC"],
        ["3", b, str(len(second)), "2024-02-01 09:30:15.250 UTC"],
    ]


def test_hidden_columns_stay_out_of_select_star_but_can_be_named_beside_it(
    engine: AthenaEngine, store: MemoryStore
) -> None:
    store.put("s3://lake/events/a.csv", "h\n1,a,1\n")
    result = engine.execute('SELECT *, e.*, "$path" AS p FROM events AS e', database="db")
    assert [c.name for c in result.columns] == ["id", "name", "amount", "id", "name", "amount", "p"]
    grouped = engine.execute(
        'SELECT "$path", count(*) AS n FROM events WHERE "$path" LIKE \'%a.csv\' GROUP BY 1', database="db"
    )
    assert grouped.text_rows() == [["s3://lake/events/a.csv", "1"]]
    through_cte = engine.execute('WITH x AS (SELECT "$path" AS p FROM events) SELECT * FROM x', database="db")
    assert through_cte.text_rows() == [["s3://lake/events/a.csv"]]


def test_a_one_column_table_without_a_delimiter_reads_whole_lines() -> None:
    # LazySimpleSerDe's default field delimiter is Ctrl-A: a one-column string table over CSV files
    # gets each line whole, commas included; the header is skipped and a blank line is no text.
    store = MemoryStore()
    lines = {
        "Name": "lines",
        "Parameters": {"skip.header.line.count": "1"},
        "PartitionKeys": [],
        "StorageDescriptor": {
            "Location": "s3://lake/raw/",
            "Columns": [{"Name": "line", "Type": "string"}],
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"},
        },
    }
    store.put("s3://lake/raw/a.csv", 'a,b,c\r\n1,"x, y",3\r\n\r\n4,,\r\n5')
    engine = AthenaEngine(StaticCatalog({"db": [lines]}), store)
    result = engine.execute("SELECT line, cardinality(split(line, ',')) AS fields FROM lines", database="db")
    assert result.text_rows() == [['1,"x, y",3', "4"], [None, None], ["4,,", "3"], ["5", "1"]]


def test_the_trino_string_and_array_functions_keep_trinos_meaning(engine: AthenaEngine) -> None:
    # https://trino.io/docs/current/functions/array.html and .../functions/regexp.html: split keeps
    # empty fields, element_at past the end is NULL, regexp_like matches anywhere in the string,
    # regexp_replace replaces every match, try_cast gives NULL for what does not parse.
    sql = (
        "SELECT cardinality(split(t, ',')) AS n, element_at(split(t, ','), 2) AS second, "
        "element_at(split(t, ','), 9) AS ninth, regexp_like(t, '[0-9]') AS digit, "
        "regexp_like(t, '^[0-9]+$') AS digits, regexp_replace(t, ',', ';') AS replaced, "
        "try_cast(element_at(split(t, ','), 1) AS decimal(18, 6)) AS amount, substr(t, 1, 3) AS head "
        "FROM (VALUES ('1.5,,x'), (''), ('abc,7')) AS v(t)"
    )
    assert engine.execute(sql).text_rows() == [
        ["3", "", None, "true", "false", "1.5;;x", "1.500000", "1.5"],
        ["1", None, None, "false", "false", "", None, ""],
        ["2", "7", None, "true", "false", "abc;7", None, "abc"],
    ]


def test_an_object_read_before_is_not_fetched_again_until_its_content_changes(
    engine: AthenaEngine, store: MemoryStore
) -> None:
    store.put("s3://lake/events/a.csv", "h\n1,x,1\n")
    store.put("s3://lake/events/b.csv", "h\n2,y,2\n")
    first = engine.execute("SELECT sum(id) AS n FROM events", database="db")
    store.put("s3://lake/events/b.csv", "h\n5,y,2\n")  # rewritten: another ETag
    second = engine.execute("SELECT sum(id) AS n FROM events", database="db")
    assert (first.text_rows(), second.text_rows()) == ([["3"]], [["6"]])
    assert sorted(store.read_keys) == ["events/a.csv", "events/b.csv", "events/b.csv"]
    assert second.data_scanned_bytes == len(b"h\n1,x,1\n") + len(b"h\n5,y,2\n")
    assert store.confirmed_keys == ["events/a.csv"]  # the cached one is still reached, without its body


def test_a_cached_object_that_cannot_be_read_fails_the_query_as_a_read_would(
    engine: AthenaEngine, store: MemoryStore
) -> None:
    """Athena on AWS reads S3 at every query: an S3 outage fails it even when localcloud holds the text."""
    store.put("s3://lake/events/a.csv", "h\n1,x,1\n")
    engine.execute("SELECT sum(id) AS n FROM events", database="db")

    def refused(obj: StoredObject) -> None:
        raise RuntimeError("An error occurred (InternalError) when calling the GetObject operation")

    store.confirm = refused  # type: ignore[method-assign]
    with pytest.raises(AthenaQueryError) as failure:
        engine.execute("SELECT sum(id) AS n FROM events", database="db")
    assert failure.value.name == "HIVE_CURSOR_ERROR"
    assert failure.value.detail.startswith(
        "Failed to read s3://lake/events/a.csv: An error occurred (InternalError)"
    )


def test_a_cached_object_is_not_reached_again_while_the_store_cannot_fail(
    catalog: StaticCatalog, store: MemoryStore
) -> None:
    """localcloud's Athena confirms cached objects only while a fault is set on S3's GetObject."""
    faulted = False
    engine = AthenaEngine(catalog, store, confirm_cached=lambda: faulted)
    store.put("s3://lake/events/a.csv", "h\n1,x,1\n")
    engine.execute("SELECT sum(id) AS n FROM events", database="db")
    engine.execute("SELECT sum(id) AS n FROM events", database="db")
    assert (store.read_keys, store.confirmed_keys) == (["events/a.csv"], [])
    faulted = True
    assert engine.execute("SELECT sum(id) AS n FROM events", database="db").text_rows() == [["1"]]
    assert (store.read_keys, store.confirmed_keys) == (["events/a.csv"], ["events/a.csv"])
