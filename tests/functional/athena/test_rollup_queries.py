"""The three rollup queries, run by the engine over moto's S3 and Glue on generated data.

Expected totals are computed here from the CSV text with Decimal arithmetic, independently of the
engine: every reading of the period, joined to its customer, summed exactly, rounded half up.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.athena import AthenaEngine, GlueCatalog
from meterpipe.datagen import GenerateOptions, generate, upload_lake
from meterpipe.definitions import DEFAULT_MAX_KWH_PER_READING, rollup_query
from meterpipe.tables import GLUE_DATABASE, LAKE_TABLES

ROOT = Path(__file__).resolve().parents[3]
BUCKET = "lake"
RESULTS = "s3://athena-results/rollups/"
DAYS = [dt.date(2022, 1, 30), dt.date(2022, 1, 31), dt.date(2022, 2, 1), dt.date(2022, 2, 2)]
EXTRA_CUSTOMER, EXTRA_SENSOR = "99999999", "59999999"


def _rewrite(folder: Path, day: dt.date, name: str, transform: Any) -> None:
    path = folder / f"iot_electricity_metering/year={day:%Y}/month={day:%m}/day={day:%d}/{name}"
    path.write_bytes(transform(path.read_bytes()))


def _make_lake(folder: Path) -> None:
    """15-minute readings, several files a day, then the export quirks real files have."""
    generate(
        GenerateOptions(
            customers=14, start=DAYS[0], end=DAYS[-1], out=folder, interval=15, seed=11, sensors_per_file=6
        )
    )
    _rewrite(folder, DAYS[1], "readings-0001.csv", lambda b: b.replace(b"\n", b"\r"))  # CR-only (old Mac)
    _rewrite(
        folder, DAYS[1], "readings-0002.csv", lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n")
    )  # BOM, CRLF
    _rewrite(folder, DAYS[2], "readings-0001.csv", lambda b: b + b"\n")  # a blank last line
    _rewrite(folder, DAYS[2], "readings-0002.csv", lambda b: b.rstrip(b"\n"))  # no final line end
    # A second customers file, and a late file adding readings to hours that already have some.
    (folder / "customer_meter_sensor/late-joiners.csv").write_text(
        f"CustomerID,SensorID,SensorGroup\n{EXTRA_CUSTOMER},{EXTRA_SENSOR},residential\n"
    )
    day = DAYS[1]
    (folder / f"iot_electricity_metering/year={day:%Y}/month={day:%m}/day={day:%d}/late.csv").write_text(
        "SensorID,Voltage,Current,Frequency,kWh,HourCollected\n"
        f"{EXTRA_SENSOR},220,1,60,0.125,05\n"  # alone in its hour: 0.125 rounds half up to 0.13
        f"{EXTRA_SENSOR},220,1,60,0.1,06\n{EXTRA_SENSOR},220,1,60,0.2,06\n"  # 0.1 + 0.2 is 0.3, no noise
        "51246501,220,1,60,0.333,00\n"  # joins the generated readings of that sensor and hour
    )


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("lake")
    _make_lake(folder)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        glue = boto3.client("glue", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket="athena-results")
        upload_lake(folder, s3, BUCKET)
        glue.create_database(DatabaseInput={"Name": GLUE_DATABASE})
        for spec in LAKE_TABLES:
            glue.create_table(DatabaseName=GLUE_DATABASE, TableInput=spec.glue_table_input(BUCKET))
        yield {"folder": folder, "s3": s3, "engine": AthenaEngine(GlueCatalog(glue), s3_client=s3)}


def _records(path: Path) -> list[list[str]]:
    """A CSV file's data records, read the way Athena's text format reads it (header skipped)."""
    lines = path.read_bytes().decode("utf-8").splitlines()  # LF, CRLF and CR alike
    return [line.split(",") for line in lines[1:] if line]


def _athena_double_text(cents: Decimal) -> str:
    """How Athena writes a DOUBLE holding an exact cents value below 10^7: Java's Double.toString,
    the shortest decimal form with at least one digit after the point ("0.3", "1.0", "12.75")."""
    text = f"{cents:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _expected(folder: Path, granularity: str, day: dt.date) -> list[list[str]]:
    owners = {}
    for path in sorted((folder / "customer_meter_sensor").glob("*.csv")):
        owners.update({sensor: customer for customer, sensor, _ in _records(path)})
    month_folder = folder / f"iot_electricity_metering/year={day:%Y}/month={day:%m}"
    days = [month_folder / f"day={day:%d}"] if granularity != "month" else sorted(month_folder.iterdir())
    totals: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for day_folder in days:
        day_text = f"{day:%Y-%m}-{day_folder.name.removeprefix('day=')}"
        for path in sorted(day_folder.glob("*.csv")):
            for sensor, _, _, _, kwh, hour in _records(path):
                if sensor not in owners:
                    continue
                period = {"hour": f"{day_text}T{hour}", "day": day_text, "month": f"{day:%Y-%m}"}[granularity]
                key = (int(owners[sensor]), f"{sensor}#{period}")
                totals[key] += Decimal(kwh)
                counts[key] += 1
    return [
        [
            str(customer),
            period,
            _athena_double_text(totals[(customer, period)].quantize(Decimal("0.01"), ROUND_HALF_UP)),
            str(counts[(customer, period)]),
        ]
        for customer, period in sorted(totals)
    ]


def _run(lake: dict[str, Any], query: str, day: dt.date, query_id: str) -> tuple[Any, list[list[str]]]:
    parameters = [f"'{day:%Y}'", f"'{day:%m}'"] + ([] if query == "monthly" else [f"'{day:%d}'"])
    result, uri = lake["engine"].execute_to(
        rollup_query(query, DEFAULT_MAX_KWH_PER_READING),
        parameters,
        database=GLUE_DATABASE,
        output_location=RESULTS,
        query_execution_id=query_id,
    )
    body = lake["s3"].get_object(Bucket="athena-results", Key=uri.removeprefix("s3://athena-results/"))[
        "Body"
    ]
    return result, list(csv.reader(io.StringIO(body.read().decode())))


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize(("query", "granularity"), [("hourly", "hour"), ("daily", "day")])
def test_day_queries_equal_exact_decimal_totals(
    lake: dict[str, Any], query: str, granularity: str, day: dt.date
) -> None:
    _, rows = _run(lake, query, day, f"{query}-{day}")
    assert rows[0] == ["customerid", "sensorid_period", "total_kwh", "reading_count"]
    assert rows[1:] == _expected(lake["folder"], granularity, day)


@pytest.mark.parametrize("day", [DAYS[0], DAYS[2]])
def test_month_query_covers_every_reading_of_the_month_present(lake: dict[str, Any], day: dt.date) -> None:
    _, rows = _run(lake, "monthly", day, f"monthly-{day:%Y-%m}")
    assert rows[1:] == _expected(lake["folder"], "month", day)


def test_totals_are_rounded_half_up_without_float_noise(lake: dict[str, Any]) -> None:
    _, rows = _run(lake, "hourly", DAYS[1], "noise")
    extra = {row[1]: row[2] for row in rows if row[0] == EXTRA_CUSTOMER}
    assert extra == {f"{EXTRA_SENSOR}#2022-01-31T05": "0.13", f"{EXTRA_SENSOR}#2022-01-31T06": "0.3"}


def test_fifteen_minute_readings_are_summed_per_hour(lake: dict[str, Any]) -> None:
    _, rows = _run(lake, "hourly", DAYS[0], "fifteen")
    counts = {int(row[3]) for row in rows[1:]}
    assert max(counts) == 4  # four quarter-hour readings per sensor and hour (fewer in outages)


def test_one_day_query_reads_only_that_days_objects_and_the_customers(lake: dict[str, Any]) -> None:
    s3 = lake["s3"]
    day = DAYS[1]
    prefixes = [
        f"iot_electricity_metering/year={day:%Y}/month={day:%m}/day={day:%d}/",
        "customer_meter_sensor/",
    ]
    expected = {
        f"s3://{BUCKET}/{item['Key']}": item["Size"]
        for prefix in prefixes
        for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]
    }
    result, _ = _run(lake, "daily", day, "scan")
    assert sorted(result.objects_read) == sorted(expected)
    assert result.data_scanned_bytes == sum(expected.values())


def test_result_metadata_is_written_beside_the_csv(lake: dict[str, Any]) -> None:
    _run(lake, "daily", DAYS[0], "meta")
    body = lake["s3"].get_object(Bucket="athena-results", Key="rollups/meta.csv.metadata")["Body"].read()
    assert b'"Name":"total_kwh"' in body and b'"Type":"double"' in body
