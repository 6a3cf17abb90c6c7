from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from meterpipe.ops.ingest import IngestError, ingest, plan_ingest
from meterpipe.ops.pipeline import Pipeline
from tests.unit.ops.conftest import LAKE

# The upstream sample's real header (note the typo), CRLF line ends and a UTF-8 BOM.
UPSTREAM_READINGS = (
    b"\xef\xbb\xbfSendorID,Voltage,Current,Frequency,kWh,HourCollected\r\n51246501,240,10,60,0.22,01\r\n"
)
CUSTOMERS = b"CustomerID,SensorID,SensorGroup\n10027610,51246501,B\n"


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_the_upstream_layout_maps_date_folders_to_partitions(tmp_path: Path) -> None:
    write(
        tmp_path / "iot_electricity_metering/2022-01-05/electricity_metering_blockA1_2022-01-05-09.csv", b"x"
    )
    write(tmp_path / "customer_meter_sensor/customer_meter_sensor.csv", CUSTOMERS)
    plan = plan_ingest(tmp_path)
    assert plan.layout == "upstream sample"
    assert sorted(f.key for f in plan.files) == [
        "customer_meter_sensor/customer_meter_sensor.csv",
        "iot_electricity_metering/year=2022/month=01/day=05/electricity_metering_blockA1_2022-01-05-09.csv",
    ]
    assert plan.days == [dt.date(2022, 1, 5)]


def test_the_lake_layout_keeps_its_keys_and_ignores_files_that_are_not_csv(tmp_path: Path) -> None:
    write(tmp_path / "iot_electricity_metering/year=2024/month=02/day=29/readings-0001.csv", b"x")
    write(tmp_path / "iot_electricity_metering/year=2024/month=02/day=29/notes.txt", b"x")
    plan = plan_ingest(tmp_path / "iot_electricity_metering")
    assert [f.key for f in plan.files] == [
        "iot_electricity_metering/year=2024/month=02/day=29/readings-0001.csv"
    ]
    assert [p.name for p in plan.ignored] == ["notes.txt"]


@pytest.mark.parametrize(
    ("relative", "message"),
    [
        ("iot_electricity_metering/2022-02-30/a.csv", "2022-02-30, which is not a real date"),
        ("iot_electricity_metering/january/a.csv", "is neither a day folder (YYYY-MM-DD"),
        ("iot_electricity_metering/year=2022/month=13/day=01/a.csv", "which is not a real date"),
        ("iot_electricity_metering/year=2022/month=1/day=01/a.csv", "is not a month=MM partition folder"),
        ("iot_electricity_metering/a.csv", "is not in a day folder"),
        ("elsewhere/a.csv", "holds neither iot_electricity_metering/ nor customer_meter_sensor/"),
        ("customer_meter_sensor/readme.md", "no .csv files under"),
    ],
)
def test_a_folder_in_no_known_layout_is_one_clear_error(tmp_path: Path, relative: str, message: str) -> None:
    write(tmp_path / relative, b"x")
    with pytest.raises(IngestError, match=message.replace("(", r"\(").replace(".", r"\.")):
        plan_ingest(tmp_path)


def test_files_go_up_byte_for_byte_and_unchanged_ones_are_skipped(pipeline: Pipeline, tmp_path: Path) -> None:
    day = write(tmp_path / "iot_electricity_metering/2022-01-05/part.csv", UPSTREAM_READINGS)
    write(tmp_path / "customer_meter_sensor/customer_meter_sensor.csv", CUSTOMERS)
    first = ingest(pipeline, plan_ingest(tmp_path))
    assert (first.uploaded, first.skipped, first.bytes_uploaded) == (
        2,
        0,
        len(UPSTREAM_READINGS) + len(CUSTOMERS),
    )
    s3 = pipeline.client("s3")
    key = "iot_electricity_metering/year=2022/month=01/day=05/part.csv"
    assert s3.get_object(Bucket=LAKE, Key=key)["Body"].read() == UPSTREAM_READINGS

    again = ingest(pipeline, plan_ingest(tmp_path))
    assert (again.uploaded, again.skipped) == (0, 2)

    day.write_bytes(UPSTREAM_READINGS.replace(b"0.22", b"0.23"))  # same size, other bytes
    changed = ingest(pipeline, plan_ingest(tmp_path))
    assert [(k, a) for k, a, _ in changed.files if a == "uploaded"] == [(key, "uploaded")]


def test_a_dry_run_uploads_nothing(pipeline: Pipeline, tmp_path: Path) -> None:
    write(tmp_path / "customer_meter_sensor/c.csv", CUSTOMERS)
    report = ingest(pipeline, plan_ingest(tmp_path), dry_run=True)
    assert report.files == [("customer_meter_sensor/c.csv", "would upload", len(CUSTOMERS))]
    assert pipeline.client("s3").list_objects_v2(Bucket=LAKE).get("KeyCount") == 0


def test_a_missing_lake_bucket_says_to_deploy(pipeline: Pipeline, tmp_path: Path) -> None:
    write(tmp_path / "customer_meter_sensor/c.csv", CUSTOMERS)
    pipeline.client("s3").delete_bucket(Bucket=LAKE)
    with pytest.raises(IngestError, match="the lake bucket meterpipe-lake does not exist: deploy"):
        ingest(pipeline, plan_ingest(tmp_path))
