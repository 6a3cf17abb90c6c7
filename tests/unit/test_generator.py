from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from meterpipe.cli import app
from meterpipe.datagen import GenerateOptions, generate
from meterpipe.datagen.writer import GenerateOptionsError
from meterpipe.errors import InvalidDateError

JAN_3 = dt.date(2022, 1, 3)  # a Monday
READING = re.compile(r"^(\d{8}),(\d{3}),(\d+),(\d{2}),(\d+\.\d{3}),(\d{2})$")


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.csv"))
    }


def _readings(folder: Path) -> list[tuple[str, ...]]:
    rows = []
    for path in sorted(folder.glob("iot_electricity_metering/**/*.csv")):
        lines = path.read_text().splitlines()
        assert lines[0] == "SensorID,Voltage,Current,Frequency,kWh,HourCollected"
        for line in lines[1:]:
            match = READING.match(line)
            assert match, line
            rows.append((path.parent.name, *match.groups()))
    return rows


def _options(out: Path, **changes: object) -> GenerateOptions:
    values: dict[str, object] = {
        "customers": 6,
        "start": JAN_3,
        "end": JAN_3 + dt.timedelta(days=1),
        "out": out,
    }
    values.update(changes)
    return GenerateOptions(**values)  # type: ignore[arg-type]


def test_same_seed_gives_the_same_bytes_and_another_seed_other_data(tmp_path: Path) -> None:
    generate(_options(tmp_path / "a", seed=3))
    generate(_options(tmp_path / "b", seed=3))
    generate(_options(tmp_path / "c", seed=4))
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_a_days_readings_do_not_depend_on_the_range_asked_for(tmp_path: Path) -> None:
    generate(_options(tmp_path / "one", end=JAN_3))
    generate(_options(tmp_path / "two"))
    day = "iot_electricity_metering/year=2022/month=01/day=03/readings-0001.csv"
    assert (tmp_path / "one" / day).read_bytes() == (tmp_path / "two" / day).read_bytes()


def test_layout_has_one_folder_per_day_and_the_customers_table(tmp_path: Path) -> None:
    summary = generate(_options(tmp_path, start=dt.date(2022, 1, 30), end=dt.date(2022, 2, 2)))
    days = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("iot_electricity_metering/*/*/*"))
    assert days == [
        "iot_electricity_metering/year=2022/month=01/day=30",
        "iot_electricity_metering/year=2022/month=01/day=31",
        "iot_electricity_metering/year=2022/month=02/day=01",
        "iot_electricity_metering/year=2022/month=02/day=02",
    ]
    customers = (tmp_path / "customer_meter_sensor/customers.csv").read_text().splitlines()
    assert customers[0] == "CustomerID,SensorID,SensorGroup"
    assert len({line.split(",")[0] for line in customers[1:]}) == 6 == summary.customers
    assert all(re.fullmatch(r"\d{8},\d{8},[a-z-]+", line) for line in customers[1:])
    assert summary.days == 4


def test_readings_are_plausible_and_carry_three_decimals(tmp_path: Path) -> None:
    generate(_options(tmp_path, customers=30))
    rows = _readings(tmp_path)
    assert rows
    for _, sensor, voltage, current, frequency, kwh, hour in rows:
        assert 51_246_501 <= int(sensor) < 100_000_000
        assert 200 <= int(voltage) <= 240
        assert int(current) >= 1
        assert int(frequency) in (59, 60, 61)
        assert Decimal(kwh) > 0 and Decimal(kwh).as_tuple().exponent == -3
        assert 0 <= int(hour) <= 23


def test_hourly_interval_gives_one_reading_per_hour_and_fifteen_gives_four(tmp_path: Path) -> None:
    generate(_options(tmp_path / "h", customers=20, interval=60))
    generate(_options(tmp_path / "q", customers=20, interval=15))
    hourly = Counter((day, sensor, hour) for day, sensor, *_, hour in _readings(tmp_path / "h"))
    quarter = Counter((day, sensor, hour) for day, sensor, *_, hour in _readings(tmp_path / "q"))
    assert set(hourly.values()) == {1}
    assert max(quarter.values()) == 4
    sensors = {sensor for _, sensor, _ in hourly}
    assert len(hourly) <= len(sensors) * 24 * 2


def test_evening_peak_and_occasional_gaps_show(tmp_path: Path) -> None:
    generate(_options(tmp_path, customers=200, end=JAN_3 + dt.timedelta(days=6)))
    by_hour: dict[str, Decimal] = Counter()  # type: ignore[assignment]
    per_sensor_day = Counter()
    for day, sensor, _, _, _, kwh, hour in _readings(tmp_path):
        by_hour[hour] += Decimal(kwh)
        per_sensor_day[(day, sensor)] += 1
    assert by_hour["19"] > 2 * by_hour["03"]
    assert any(count < 24 for count in per_sensor_day.values())  # some outages
    assert sum(count == 24 for count in per_sensor_day.values()) > 0.9 * len(per_sensor_day)


def test_a_day_of_many_sensors_is_split_into_several_files(tmp_path: Path) -> None:
    summary = generate(_options(tmp_path, customers=10, end=JAN_3, sensors_per_file=3))
    files = sorted(tmp_path.glob("iot_electricity_metering/**/*.csv"))
    assert len(files) >= 4
    assert summary.files == len(files) + 1
    sensors_per_file = [{line.split(",")[0] for line in f.read_text().splitlines()[1:]} for f in files]
    assert all(len(s) <= 3 for s in sensors_per_file)
    assert not set.intersection(*sensors_per_file[:2])


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"customers": 0}, GenerateOptionsError, "--customers must be between 1"),
        ({"end": JAN_3 - dt.timedelta(days=1)}, InvalidDateError, "is before --from"),
        ({"interval": 5}, GenerateOptionsError, "--interval must be 60 or 15"),
    ],
)
def test_bad_options_are_refused_before_anything_is_written(
    tmp_path: Path, changes: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        generate(_options(tmp_path / "out", **changes))
    assert not (tmp_path / "out").exists()


def test_command_writes_the_dataset_and_reports_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["generate", "--customers", "3", "--from", "2022-01-01", "--to", "2022-01-02", "--interval", "15",
         "--seed", "9", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 customers, 2 days" in result.output
    quarter = Counter((d, s, h) for d, s, *_, h in _readings(tmp_path))
    assert max(quarter.values()) == 4


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--customers", "3", "--from", "2022-02-30", "--to", "2022-03-01"],
            "--from '2022-02-30' is not a date",
        ),
        (
            ["--customers", "3", "--from", "2022-03-02", "--to", "2022-03-01"],
            "--to 2022-03-01 is before --from",
        ),
        (["--customers", "-1", "--from", "2022-03-01", "--to", "2022-03-01"], "--customers must be between"),
    ],
)
def test_command_turns_bad_options_into_one_line_and_exit_code_1(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-m", "meterpipe", "generate", *arguments, "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [
        f"error: {completed.stderr.strip().removeprefix('error: ')}"
    ]
    assert message in completed.stderr


def test_weekends_seasons_groups_and_installations_shape_the_load(tmp_path: Path) -> None:
    winter, summer = tmp_path / "winter", tmp_path / "summer"
    generate(_options(winter, customers=200, end=JAN_3 + dt.timedelta(days=6)))  # Monday to Sunday
    july_4 = dt.date(2022, 7, 4)  # a Monday
    generate(_options(summer, customers=200, start=july_4, end=july_4 + dt.timedelta(days=6)))
    group_of = {
        sensor: group
        for _, sensor, group in (
            line.split(",")
            for line in (winter / "customer_meter_sensor/customers.csv").read_text().splitlines()[1:]
        )
    }
    daily: dict[tuple[str, str], Decimal] = Counter()  # type: ignore[assignment]
    for day, sensor, *_, kwh, _hour in _readings(winter):
        daily[(day, sensor)] += Decimal(kwh)
    business = {s for s, g in group_of.items() if g in ("small-business", "commercial")}

    def mean(values: list[Decimal]) -> Decimal:
        return sum(values, Decimal(0)) / len(values)

    weekdays = [total for (day, s), total in daily.items() if s in business and day <= "day=07"]
    weekend = [total for (day, s), total in daily.items() if s in business and day >= "day=08"]
    assert mean(weekend) < Decimal("0.75") * mean(weekdays)  # businesses rest at the weekend

    january = sum((Decimal(r[5]) for r in _readings(winter)), Decimal(0))
    july = sum((Decimal(r[5]) for r in _readings(summer)), Decimal(0))
    assert january > Decimal("1.3") * july  # same customers, winter against summer

    assert len(set(group_of.values())) == 4
    residential = [
        total for (day, s), total in daily.items() if group_of[s] == "residential" and day == "day=03"
    ]
    assert max(residential) > 2 * min(residential)  # each installation has its own scale


def test_generate_json_says_what_it_wrote_and_matches_the_files(tmp_path: Path) -> None:
    out = tmp_path / "o"
    done = CliRunner().invoke(
        app,
        [
            "generate",
            "--customers",
            "2",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-02",
            "--seed",
            "3",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    files = sorted(p for p in out.rglob("*.csv"))
    lines = [
        line
        for p in files
        if "iot_electricity_metering" in p.parts
        for line in p.read_text().splitlines()[1:]
        if line
    ]
    sensors = {
        line.split(",")[1]
        for line in (out / "customer_meter_sensor/customers.csv").read_text().splitlines()[1:]
    }
    assert report == {
        "readings": len(lines),
        "sensors": len(sensors),
        "customers": 2,
        "days": 2,
        "from": "2024-01-01",
        "to": "2024-01-02",
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
        "out": str(out),
    }
