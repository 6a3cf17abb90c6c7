"""`make demo`: a newcomer's first command does real work.

Generates a small month of readings, puts it in an in-process S3 and Glue (moto), runs the three
rollup queries of ``queries/`` through localcloud's Athena engine exactly as the pipeline will,
and prints one customer's hourly, daily and monthly kWh. Interim: once localcloud serves the
Athena API, the demo runs the real state machine instead.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

import boto3
from moto import mock_aws  # a development dependency: the interim demo runs from a checkout
from rich.console import Console
from rich.table import Table

from localcloud.athena import AthenaEngine, GlueCatalog, QueryResult
from meterpipe.datagen import GenerateOptions, generate, upload_lake
from meterpipe.tables import GLUE_DATABASE, LAKE_TABLES

if TYPE_CHECKING:
    from mypy_boto3_glue.type_defs import TableInputTypeDef

QUERIES = Path(__file__).resolve().parent.parent / "queries"
LAKE_BUCKET = "meterpipe-demo-lake"
DAY = dt.date(2022, 1, 5)
CUSTOMERS = 25


def _params(day: dt.date, *, with_day: bool = True) -> list[str]:
    values = [f"'{day:%Y}'", f"'{day:%m}'"] + ([f"'{day:%d}'"] if with_day else [])
    return values


def _rows_of(result: QueryResult, customer: str) -> list[list[str | None]]:
    return [row for row in result.text_rows() if row[0] == customer]


def _table(title: str, result: QueryResult, rows: Sequence[Sequence[str | None]], elapsed: float) -> Table:
    table = Table(
        title=title,
        caption=f"{len(result.rows)} rows for all customers, {result.data_scanned_bytes:,} bytes scanned "
        f"from {len(result.objects_read)} objects, {elapsed * 1000:.0f} ms",
        title_justify="left",
        caption_justify="left",
    )
    table.add_column("SensorID-Period")
    table.add_column("kWh", justify="right")
    table.add_column("readings", justify="right")
    for row in rows:
        table.add_row(row[1], row[2], row[3])
    return table


def main() -> None:
    console = Console()
    for name, value in {"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo"}.items():
        os.environ.setdefault(name, value)
    with tempfile.TemporaryDirectory(prefix="meterpipe-demo-") as folder, mock_aws():
        started = time.perf_counter()
        options = GenerateOptions(
            customers=CUSTOMERS, start=DAY.replace(day=1), end=DAY.replace(day=31), out=Path(folder), seed=7
        )
        summary = generate(options)
        s3 = boto3.client("s3", region_name="us-east-1")
        glue = boto3.client("glue", region_name="us-east-1")
        s3.create_bucket(Bucket=LAKE_BUCKET)
        upload_lake(Path(folder), s3, LAKE_BUCKET)
        glue.create_database(DatabaseInput={"Name": GLUE_DATABASE})
        for spec in LAKE_TABLES:
            table_input = cast("TableInputTypeDef", spec.glue_table_input(LAKE_BUCKET))
            glue.create_table(DatabaseName=GLUE_DATABASE, TableInput=table_input)
        console.print(
            f"[bold]meterpipe demo[/bold]: {summary.readings:,} readings of {summary.sensors} sensors "
            f"({summary.customers} customers) for {options.start:%B %Y} in an in-process S3 "
            f"([dim]s3://{LAKE_BUCKET}/[/dim]), queried with localcloud's Athena engine"
        )
        engine = AthenaEngine(GlueCatalog(glue), s3_client=s3)

        def run(name: str, parameters: list[str]) -> tuple[QueryResult, float]:
            began = time.perf_counter()
            result = engine.execute((QUERIES / f"{name}.sql").read_text(), parameters, database=GLUE_DATABASE)
            return result, time.perf_counter() - began

        hourly, hourly_s = run("hourly", _params(DAY))
        monthly, monthly_s = run("monthly", _params(DAY, with_day=False))
        # The customer with the most sensors makes the most interesting tables.
        counts: dict[str, int] = {}
        for row in monthly.text_rows():
            counts[str(row[0])] = counts.get(str(row[0]), 0) + 1
        customer = max(counts, key=lambda c: (counts[c], c))
        week = [DAY.replace(day=n) for n in range(1, 8)]
        dailies = [run("daily", _params(day)) for day in week]
        daily_rows = [row for result, _ in dailies for row in _rows_of(result, customer)]
        daily_s = sum(seconds for _, seconds in dailies)
        console.print(f"\nCustomer [bold]{customer}[/bold]\n")
        console.print(_table(f"hourly.sql, {DAY}", hourly, _rows_of(hourly, customer), hourly_s))
        console.print(
            _table(f"daily.sql, {week[0]} to {week[-1]} (7 queries)", dailies[-1][0], daily_rows, daily_s)
        )
        console.print(_table(f"monthly.sql, {DAY:%Y-%m}", monthly, _rows_of(monthly, customer), monthly_s))
        console.print(f"[dim]done in {time.perf_counter() - started:.1f} s[/dim]")


if __name__ == "__main__":
    main()
