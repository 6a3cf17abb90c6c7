"""Partition pruning: only the partitions the filters allow are listed and read."""

from __future__ import annotations

import pytest
from athena_fakes import EVENTS_COLUMNS, MemoryStore, glue_table

from localcloud.athena import AthenaEngine, AthenaQueryError, StaticCatalog

MONTHS = ("01", "02", "03")


def _fill(store: MemoryStore, table: str) -> None:
    for year in ("2021", "2022"):
        for month in MONTHS:
            store.put(f"s3://lake/{table}/year={year}/month={month}/part-1.csv", f"h\n{year}{month},x,1\n")


@pytest.mark.parametrize("table", ["listed", "projected"])
def test_equality_filters_read_only_their_partition(
    engine: AthenaEngine, store: MemoryStore, table: str
) -> None:
    _fill(store, table)
    result = engine.execute(
        f"SELECT id, year, month FROM {table} WHERE year = '2022' AND month = '02'", database="db"
    )
    assert result.text_rows() == [["202202", "2022", "02"]]
    assert store.read_keys == [f"{table}/year=2022/month=02/part-1.csv"]
    assert result.data_scanned_bytes == len(b"h\n202202,x,1\n")


@pytest.mark.parametrize("table", ["listed", "projected"])
def test_in_lists_and_partial_filters_prune_what_they_can(
    engine: AthenaEngine, store: MemoryStore, table: str
) -> None:
    _fill(store, table)
    result = engine.execute(
        f"SELECT id FROM {table} t WHERE t.month IN ('01', '03') AND t.year = ? ORDER BY id",
        ["'2021'"],
        database="db",
    )
    assert result.text_rows() == [["202101"], ["202103"]]
    assert sorted(store.read_keys) == [
        f"{table}/year=2021/month=01/part-1.csv",
        f"{table}/year=2021/month=03/part-1.csv",
    ]


def test_projection_lists_only_the_computed_locations(engine: AthenaEngine, store: MemoryStore) -> None:
    _fill(store, "projected")
    engine.execute("SELECT id FROM projected WHERE year = '2022' AND month = '02'", database="db")
    assert store.listed == ["s3://lake/projected/year=2022/month=02/"]


def test_projected_partitions_of_one_folder_are_listed_once_and_keep_their_own_objects(
    engine: AthenaEngine, store: MemoryStore
) -> None:
    _fill(store, "projected")
    store.put("s3://lake/projected/year=2022/month=1/part-1.csv", "h\n20221,x,1\n")  # not month=01
    store.put("s3://lake/projected/year=2022/month=02/_SUCCESS", "")
    store.put("s3://lake/projected/year=2022/month=02/extra/part-2.csv", "h\n2022022,x,1\n")
    result = engine.execute("SELECT id, month FROM projected WHERE year = '2022' ORDER BY id", database="db")
    assert result.text_rows() == [["202201", "01"], ["202202", "02"], ["202203", "03"], ["2022022", "02"]]
    assert store.listed == ["s3://lake/projected/year=2022/"]


def test_projection_ignores_folders_outside_its_range(engine: AthenaEngine, store: MemoryStore) -> None:
    _fill(store, "projected")
    store.put("s3://lake/projected/year=2019/month=01/part-1.csv", "h\n201901,x,1\n")
    store.put("s3://lake/projected/year=2022/month=13/part-1.csv", "h\n202213,x,1\n")
    result = engine.execute("SELECT count(*) AS n FROM projected", database="db")
    assert result.text_rows() == [["6"]]


def test_without_filters_every_partition_is_read(engine: AthenaEngine, store: MemoryStore) -> None:
    _fill(store, "listed")
    store.put("s3://lake/listed/stray.csv", "h\n9,x,1\n")  # not in a partition folder: not part of the table
    result = engine.execute("SELECT count(*) AS n FROM listed", database="db")
    assert result.text_rows() == [["6"]]
    assert len(store.read_keys) == 6


def test_filters_on_other_expressions_still_give_right_answers(
    engine: AthenaEngine, store: MemoryStore
) -> None:
    _fill(store, "listed")
    result = engine.execute("SELECT id FROM listed WHERE month || year = '022022' OR id < 0", database="db")
    assert result.text_rows() == [["202202"]]


def test_a_self_join_reads_the_partitions_of_both_sides(engine: AthenaEngine, store: MemoryStore) -> None:
    _fill(store, "projected")
    result = engine.execute(
        "SELECT a.id AS a, b.id AS b FROM projected a CROSS JOIN projected b "
        "WHERE a.year = '2021' AND a.month = '01' AND b.year = '2022' AND b.month = '03'",
        database="db",
    )
    assert result.text_rows() == [["202101", "202203"]]
    assert len(store.read_keys) == 2


def _projected_catalog(parameters: dict[str, str]) -> StaticCatalog:
    return StaticCatalog(
        {
            "db": [
                glue_table("p", "s3://lake/p/", EVENTS_COLUMNS, [("region", "string")], parameters=parameters)
            ]
        }
    )


def test_enum_projection_and_a_custom_template() -> None:
    store = MemoryStore()
    store.put("s3://lake/p/eu/a.csv", "1,x,1\n")
    store.put("s3://lake/p/us/a.csv", "2,y,2\n")
    engine = AthenaEngine(
        _projected_catalog(
            {
                "projection.enabled": "true",
                "projection.region.type": "enum",
                "projection.region.values": "eu,us",
                "storage.location.template": "s3://lake/p/${region}/",
            }
        ),
        store,
    )
    assert engine.execute("SELECT id, region FROM p WHERE region = 'us'", database="db").text_rows() == [
        ["2", "us"]
    ]
    assert store.listed == ["s3://lake/p/us/"]


def test_injected_projection_needs_an_equality_filter() -> None:
    engine = AthenaEngine(
        _projected_catalog({"projection.enabled": "true", "projection.region.type": "injected"}),
        MemoryStore(),
    )
    with pytest.raises(AthenaQueryError) as caught:
        engine.execute("SELECT id FROM p", database="db")
    assert caught.value.name == "CONSTRAINT_VIOLATION"
    assert "injected projected partition column region" in str(caught.value)


def test_date_projection_is_refused_by_name() -> None:
    engine = AthenaEngine(
        _projected_catalog({"projection.enabled": "true", "projection.region.type": "date"}), MemoryStore()
    )
    with pytest.raises(AthenaQueryError) as caught:
        engine.execute("SELECT id FROM p", database="db")
    assert caught.value.name == "NOT_SUPPORTED"
    assert "date partition projection (projection.region.type of table 'db.p')" in str(caught.value)


def test_a_wide_projection_without_filters_lists_once_and_keeps_projected_folders() -> None:
    store = MemoryStore()
    parameters = {
        "projection.enabled": "true",
        "projection.year.type": "integer",
        "projection.year.range": "2000,2099",
        "projection.month.type": "integer",
        "projection.month.range": "1,12",
        "projection.month.digits": "2",
    }
    catalog = StaticCatalog(
        {
            "db": [
                glue_table(
                    "wide", "s3://lake/wide/", EVENTS_COLUMNS, [("year", "string"), ("month", "string")],
                    parameters=parameters,
                )
            ]
        }
    )  # fmt: skip
    store.put("s3://lake/wide/year=2021/month=12/a.csv", "1,x,1\n")
    store.put("s3://lake/wide/year=2022/month=01/a.csv", "2,x,1\n")
    store.put("s3://lake/wide/year=2022/month=1/a.csv", "3,x,1\n")  # not a projected value: digits are 2
    store.put("s3://lake/wide/year=1999/month=01/a.csv", "4,x,1\n")  # outside the range
    result = AthenaEngine(catalog, store).execute("SELECT id FROM wide ORDER BY id", database="db")
    assert result.text_rows() == [["1"], ["2"]]
    assert store.listed == ["s3://lake/wide/year="]
