"""Issue 10's data path, end to end through the installed ``meterpipe`` against a running
localcloud: every kind of bad reading (kWh not a decimal, negative or over the ceiling, an unknown
or non-integer sensor, hour 24, a lost kWh column, a truncated last line) fails its day naming the
file, line and value and writes nothing; `run --max-bad-readings` one short fails, exactly enough
skips and counts them; a duplicate file removed brings the month back down; a day
without readings ends NO_DATA. Each scenario ends comparing the whole table (of its month) with
Decimal totals computed here from the CSV text, valid lines only."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cli, Items, local_cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MARCH = [dt.date(2023, 3, 1) + dt.timedelta(days=n) for n in range(3)]
LAKE = "meterpipe-lake"
CENT = Decimal("0.01")
_KWH = re.compile(r"[0-9]+(\.[0-9]{1,6})?")
_HOUR = re.compile(r"[01][0-9]|2[0-3]")


def readings_file(root: Path, day: dt.date) -> Path:
    [path] = sorted(root.glob(f"iot_electricity_metering/year={day:%Y}/month={day:%m}/day={day:%d}/*.csv"))
    return path


def valid_lines(path: Path, owners: dict[str, int]) -> list[list[str]]:
    """The lines of a readings file a reading is made of, the header and bad lines left out (the
    checks, written again here independently of meterpipe/checks.py)."""
    lines = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n").split("\n")[1:]
    kept = []
    for fields in csv.reader(line for line in lines if line):
        if len(fields) != 6 or fields[0] not in owners or not _HOUR.fullmatch(fields[5]):
            continue
        if _KWH.fullmatch(fields[4]) and Decimal(fields[4]) < 1000:
            kept.append(fields)
    return kept


def expected(root: Path, lake: dict[dt.date, list[Path]], run_days: list[dt.date]) -> Items:
    """Hour and day items of ``run_days``; month items over every file of the month in ``lake``."""
    owners: dict[str, int] = {}
    for path in (root / "customer_meter_sensor").glob("*.csv"):
        for customer, sensor, *_ in list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))[1:]:
            owners[sensor] = int(customer)
    sums: dict[tuple[int, str], list[Decimal]] = defaultdict(list)
    for day, paths in lake.items():
        for path in paths:
            for sensor, _v, _c, _f, kwh, hour in valid_lines(path, owners):
                periods = [f"{day:%Y-%m}"] + ([f"{day}T{hour}", f"{day}"] if day in run_days else [])
                for period in periods:
                    sums[(owners[sensor], f"{sensor}#{period}")].append(Decimal(kwh))
    return {k: (sum(v, Decimal(0)).quantize(CENT, ROUND_HALF_UP), len(v)) for k, v in sums.items()}


def march_items(cli: Cli) -> Items:
    return {key: value for key, value in cli.table().items() if "#2023-03" in key[1]}


def ledger_day(cli: Cli, day: dt.date) -> dict[str, Any]:
    item = (
        cli.client("dynamodb")
        .get_item(
            TableName="MeterPipeLedger",
            Key={"Pipeline": {"S": "daily_rollup"}, "Key": {"S": day.isoformat()}},
            ConsistentRead=True,
        )
        .get("Item", {})
    )
    return {name: next(iter(value.values())) for name, value in item.items()}


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A localcloud of this module's own: the days it leaves failed (on purpose) must not reach the
    other modules' `redrive --failed`."""
    with local_cli(tmp_path_factory.mktemp("e2e-data-trust-home")) as running:
        yield running


@pytest.fixture(scope="module")
def march(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("march")
    days = ["--from", "2023-03-01", "--to", "2023-03-03"]
    done = cli("generate", "--customers", "3", *days, "--seed", "17", "--out", str(data))
    assert done.returncode == 0, done.stderr
    assert cli("ingest", str(data)).returncode == 0
    return data


def corrupt(path: Path) -> list[tuple[str, str]]:
    """Every kind of bad reading the issue names, written into one day's file: each bad line with
    the problem its cause must name. The last line is cut short, with no line end after it."""
    lines = path.read_text().rstrip("\n").split("\n")
    sensor, volts, amps, hertz, kwh, hour = lines[7].split(",")
    rest = f"{volts},{amps},{hertz}"
    bad = [
        (
            f"{sensor},{rest},abc,{hour}",
            "kWh 'abc' is not a non-negative decimal with at most 6 decimals (kwh)",
        ),
        (
            f"{sensor},{rest},-5.000,{hour}",
            "kWh '-5.000' is not a non-negative decimal with at most 6 decimals (kwh)",
        ),
        (
            f"59999999,{rest},{kwh},{hour}",
            "SensorID 59999999 is not in customer_meter_sensor (unknown_sensor)",
        ),
        (f"x{sensor},{rest},{kwh},{hour}", f"SensorID 'x{sensor}' is not an integer (sensor_id)"),
        (
            f"{sensor},{rest},1000.5,{hour}",
            "kWh 1000.5 is not below the ceiling of 1000 kWh per reading (kwh_ceiling)",
        ),
        (f"{sensor},{rest},{kwh},24", "HourCollected '24' is not 00..23 (hour)"),
        (f"{sensor},{rest},{hour}", "the line has 5 fields, not 6 (field_count)"),  # its kWh column lost
    ]
    lines[7:8] = [line for line, _ in bad]
    truncated = lines[-1][: lines[-1].index(",", lines[-1].index(",") + 1)]  # SensorID,Voltage
    lines[-1] = truncated
    path.write_text("\n".join(lines))
    return [*bad, (truncated, "the line has 2 fields, not 6 (field_count)")]


@pytest.fixture(scope="module")
def bad(cli: Cli, march: Path) -> list[tuple[str, str]]:
    """The second day of March with every kind of bad reading, ingested: its bad lines and problems."""
    found = corrupt(readings_file(march, MARCH[1]))
    assert cli("ingest", str(march)).returncode == 0
    return found


def test_every_kind_of_bad_reading_fails_its_day_naming_the_file_line_and_value_and_writes_nothing(
    cli: Cli, march: Path, bad: list[tuple[str, str]]
) -> None:
    path = readings_file(march, MARCH[1])

    done = cli("run", "--date", str(MARCH[1]), "--wait", "--json")
    assert done.returncode == 3, done.stdout + done.stderr
    [run] = json.loads(done.stdout)["executions"]
    key = f"iot_electricity_metering/year=2023/month=03/day=02/{path.name}"
    assert (run["status"], run["error"]) == ("FAILED", "MeterPipe.BadReadings")
    assert run["cause"].startswith(f"{len(bad)} bad reading(s) of ")
    for line, problem in bad:
        assert f'{key}: "{line}": {problem}' in run["cause"]
    assert march_items(cli) == {}  # nothing written
    record = ledger_day(cli, MARCH[1])
    assert (record["Status"], record["Error"], record["BadReadings"], record["WritesStarted"]) == (
        "FAILED",
        "MeterPipe.BadReadings",
        str(len(bad)),
        False,
    )


def test_with_a_tolerance_exactly_the_bad_readings_are_skipped_and_counted(
    cli: Cli, march: Path, bad: list[tuple[str, str]]
) -> None:
    day = str(MARCH[1])
    one_short = cli("run", "--date", day, "--max-bad-readings", str(len(bad) - 1), "--wait", "--json")
    assert one_short.returncode == 3, one_short.stdout + one_short.stderr
    assert json.loads(one_short.stdout)["days"][0]["error"] == "MeterPipe.BadReadings"
    assert march_items(cli) == {}

    done = cli("run", "--date", day, "--max-bad-readings", str(len(bad)), "--wait", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    [record] = json.loads(done.stdout)["days"]
    assert (record["status"], record["badReadingsSkipped"], record["maxBadReadings"]) == (
        "SUCCEEDED",
        len(bad),
        len(bad),
    )
    [run] = json.loads(done.stdout)["executions"]
    described = cli.client("stepfunctions").describe_execution(executionArn=run["executionArn"])
    output = json.loads(described["output"])
    assert (output["bad_readings_skipped"], output["max_bad_readings"]) == (len(bad), len(bad))
    lake = {day: [readings_file(march, day)] for day in MARCH}
    assert march_items(cli) == expected(march, lake, [MARCH[1]])
    assert ledger_day(cli, MARCH[1])["BadReadingsSkipped"] == str(len(bad))
    # The CLI reads the same totals back.
    customer, sort_key = next(k for k in march_items(cli) if k[1].endswith("#2023-03-02"))
    sensor, day = sort_key.split("#")
    [item] = cli.json(
        "query",
        "--customer",
        str(customer),
        "--sensor",
        sensor,
        "--granularity",
        "day",
        "--from",
        day,
        "--to",
        day,
    )
    assert Decimal(str(item["kWh"])) == march_items(cli)[(customer, sort_key)][0]


def test_a_duplicate_file_removed_brings_every_month_item_back_down(cli: Cli, march: Path) -> None:
    lake = {day: [readings_file(march, day)] for day in MARCH}
    first = readings_file(march, MARCH[0])
    duplicate = first.with_name("readings-copy.csv")
    duplicate.write_bytes(first.read_bytes())
    assert cli("ingest", str(march)).returncode == 0
    done = cli("run", "--date", str(MARCH[0]), "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    doubled = {**lake, MARCH[0]: [first, duplicate]}
    assert march_items(cli) == expected(march, doubled, [MARCH[0], MARCH[1]])

    duplicate.unlink()
    relative = duplicate.relative_to(march).as_posix()
    cli.client("s3").delete_object(Bucket=LAKE, Key=relative)
    done = cli("run", "--date", str(MARCH[0]), "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    assert march_items(cli) == expected(march, lake, [MARCH[0], MARCH[1]])  # every month item came back down
    record = ledger_day(cli, MARCH[0])
    assert (record["Status"], record["Attempts"], record["InputObjects"]) == ("SUCCEEDED", "2", "1")


def test_a_day_without_readings_ends_no_data_naming_the_prefix_and_writes_nothing(
    cli: Cli, march: Path
) -> None:
    before = march_items(cli)
    done = cli("run", "--date", "2023-03-20", "--wait", "--json")
    assert done.returncode == 3, done.stdout + done.stderr
    [run] = json.loads(done.stdout)["executions"]
    assert (run["status"], run["error"]) == ("FAILED", "MeterPipe.NoReadings")
    assert run["cause"] == (
        "no readings for 2023-03-20: no objects under s3://meterpipe-lake/iot_electricity_metering/year=2023/month=03/day=20/"
    )
    assert ledger_day(cli, dt.date(2023, 3, 20))["Status"] == "NO_DATA"
    assert march_items(cli) == before
    lake = {day: [readings_file(march, day)] for day in MARCH}
    assert before == expected(march, lake, [MARCH[0], MARCH[1]])
