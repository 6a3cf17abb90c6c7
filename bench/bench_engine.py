"""Athena engine speed: a day's validation and a day and a month of the rollup queries on a realistic
lake, against DuckDB reading the same files directly.

1,000 customers (about 1,260 sensors), hourly readings for January 2022 (~0.93 M readings,
~25 MB). Each query runs against two object stores: moto's in-process S3 through boto3 (what
tests and the demo use) and the local folder directly (the engine alone). Also measured: the
text pre-pass (line ends, headers, blank lines) on the month's bytes.

The reference: the month's query written for DuckDB by hand, its ``read_csv`` reading the lake's
files where they lie (hive partitions, header), as someone with DuckDB and no Athena would. The
ratio is bytes scanned per second, ours (the engine over the local folder: what it adds is
Athena's semantics, the text pre-pass, the per-partition views, the transpiled SQL) against it.
Target: at least half.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import duckdb
from moto import mock_aws

from bench.report import Ratio, Result
from localcloud.athena import AthenaEngine, StaticCatalog, StoredObject
from localcloud.athena.textfile import normalise
from meterpipe.datagen import GenerateOptions, generate, upload_lake
from meterpipe.definitions import DEFAULT_MAX_KWH_PER_READING, rollup_query, validation_query
from meterpipe.tables import GLUE_DATABASE, LAKE_TABLES

CUSTOMERS = 1_000
MONTH = dt.date(2022, 1, 1)
DAY = dt.date(2022, 1, 17)
BUCKET = "bench-lake"
REPEAT = 3
TARGET = 0.5

# meterpipe/queries/monthly.sql as one would write it for DuckDB on the files themselves.
DUCKDB_MONTHLY = """
SELECT c.customerid AS customerid,
       concat(cast(r.sensorid AS varchar), '#', r.year, '-', r.month) AS sensorid_period,
       cast(round(sum(cast(r.kwh AS decimal(18, 6))), 2) AS double) AS total_kwh,
       count(*) AS reading_count
FROM read_csv('{lake}/iot_electricity_metering/year={year}/month={month}/*/*.csv', header = true,
              hive_partitioning = true, hive_types_autocast = false,
              columns = {{'SensorID': 'BIGINT', 'Voltage': 'BIGINT', 'Current': 'BIGINT',
                          'Frequency': 'BIGINT', 'kWh': 'DOUBLE', 'HourCollected': 'VARCHAR'}}) AS r
JOIN read_csv('{lake}/customer_meter_sensor/*.csv', header = true,
              columns = {{'customerid': 'BIGINT', 'sensorid': 'BIGINT', 'sensorgroup': 'VARCHAR'}}) AS c
  ON c.sensorid = r.sensorid
GROUP BY c.customerid, r.sensorid, r.year, r.month
ORDER BY customerid, sensorid_period
"""


class FolderStore:
    """The engine's ObjectStore over a local folder standing for the bucket."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def list(self, bucket: str, prefix: str) -> Iterator[StoredObject]:
        base = self.root / prefix
        folder = base if prefix.endswith("/") else base.parent
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                key = path.relative_to(self.root).as_posix()
                if path.is_file() and key.startswith(prefix):
                    yield StoredObject(bucket, key, path.stat().st_size)

    def read(self, obj: StoredObject) -> bytes:
        return (self.root / obj.key).read_bytes()

    def confirm(self, obj: StoredObject) -> None:
        (self.root / obj.key).stat()

    def write(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        raise NotImplementedError


def _time(engine: AthenaEngine, query: str, parameters: list[str]) -> tuple[float, Any]:
    # The SQL as daily_rollup runs it: the rollups through the valid readings, the ceiling filled in.
    if query == "validation":
        sql = validation_query(DEFAULT_MAX_KWH_PER_READING)
    else:
        sql = rollup_query(query, DEFAULT_MAX_KWH_PER_READING)
    times, result = [], None
    for _ in range(REPEAT):
        began = time.perf_counter()
        result = engine.execute(sql, parameters, database=GLUE_DATABASE)
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def duckdb_month(lake: Path) -> tuple[float, list[Any]]:
    sql = DUCKDB_MONTHLY.format(lake=lake, year=f"{MONTH:%Y}", month=f"{MONTH:%m}")
    times, rows = [], []
    for _ in range(REPEAT):
        began = time.perf_counter()
        with duckdb.connect(":memory:") as connection:
            rows = connection.sql(sql).fetchall()
        times.append(time.perf_counter() - began)
    return statistics.median(times), rows


def run() -> Result:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        folder = Path(tmp)
        began = time.perf_counter()
        summary = generate(
            GenerateOptions(customers=CUSTOMERS, start=MONTH, end=MONTH.replace(day=31), out=folder, seed=1)
        )
        figures["generate_month_seconds"] = round(time.perf_counter() - began, 2)
        figures["generate_readings_per_second"] = round(summary.readings / (time.perf_counter() - began))
        figures["dataset"] = (
            f"{summary.customers} customers, {summary.sensors} sensors, {summary.readings:,} readings, "
            f"{summary.bytes_written / 1e6:.1f} MB"
        )
        month_bytes = [p.read_bytes() for p in folder.glob("iot_electricity_metering/**/*.csv")]
        began = time.perf_counter()
        for data in month_bytes:
            normalise(data.replace(b"\n", b"\r\n"), skip_header_lines=1, null_marker=b"\\N")
        figures["prepass_crlf_month_seconds"] = round(time.perf_counter() - began, 3)
        catalog = StaticCatalog({GLUE_DATABASE: [t.glue_table_input(BUCKET) for t in LAKE_TABLES]})
        day_readings = summary.readings / summary.days
        stores: dict[str, Any] = {"local": FolderStore(folder)}
        with mock_aws():
            s3 = boto3.client("s3", region_name="us-east-1")
            s3.create_bucket(Bucket=BUCKET)
            upload_lake(folder, s3, BUCKET)
            stores["moto_s3"] = None
            for name, store in stores.items():
                engine = AthenaEngine(catalog, store, s3_client=s3)
                for query, parameters, readings in (
                    ("validation", [f"'{DAY:%Y}'", f"'{DAY:%m}'", f"'{DAY:%d}'"], summary.readings),
                    ("daily", [f"'{DAY:%Y}'", f"'{DAY:%m}'", f"'{DAY:%d}'"], day_readings),
                    ("hourly", [f"'{DAY:%Y}'", f"'{DAY:%m}'", f"'{DAY:%d}'"], day_readings),
                    ("monthly", [f"'{MONTH:%Y}'", f"'{MONTH:%m}'"], summary.readings),
                ):
                    seconds, result = _time(engine, query, parameters)
                    figures[f"{name}_{query}_seconds"] = round(seconds, 3)
                    figures[f"{name}_{query}_readings_per_second"] = round(readings / seconds)
                    figures[f"{name}_{query}_result_rows"] = len(result.rows)
                    figures[f"{name}_{query}_mb_scanned"] = round(result.data_scanned_bytes / 1e6, 2)
                    if name == "local" and query == "monthly":
                        month_seconds, month_result = seconds, result
        reference_seconds, reference_rows = duckdb_month(folder)
    scanned = month_result.data_scanned_bytes
    figures["duckdb_direct_monthly_seconds"] = round(reference_seconds, 3)
    figures["duckdb_direct_monthly_result_rows"] = len(reference_rows)
    figures["monthly results equal (engine, DuckDB direct)"] = [tuple(r) for r in month_result.rows] == [
        tuple(r) for r in reference_rows
    ]
    ratio = Ratio(
        "a month's query: MB scanned/s",
        scanned / 1e6 / month_seconds,
        scanned / 1e6 / reference_seconds,
        "DuckDB on the files",
        TARGET,
    )
    return Result(figures=figures, ratios=[ratio])
