"""The operator's four uses, end to end, through the installed ``meterpipe`` command against a
running localcloud: ingest (both layouts), the schedule, a month's backfill checked item by item
against totals computed here, a corrupt day failing and being redriven once fixed, and every
error path as one line with a non-zero exit code. The tests run in order and share localcloud."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cli, Items, error_line, expected_items, lake_readings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FEBRUARY = [dt.date(2024, 2, 1) + dt.timedelta(days=n) for n in range(29)]
CORRUPT_DAY = dt.date(2024, 2, 10)
SCHEDULED_DAY = dt.date(2024, 4, 1)


def only(items: Items, periods: set[str]) -> Items:
    """The items whose period (after the ``#``) is one of ``periods``."""
    return {key: value for key, value in items.items() if key[1].split("#", 1)[1] in periods}


def periods_of(days: list[dt.date]) -> set[str]:
    return (
        {f"{d}T{h:02d}" for d in days for h in range(24)}
        | {str(d) for d in days}
        | {f"{d:%Y-%m}" for d in days}
    )


@pytest.fixture(scope="module")
def february(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("february")
    done = cli(
        "generate",
        "--customers",
        "3",
        "--from",
        "2024-02-01",
        "--to",
        "2024-02-29",
        "--seed",
        "11",
        "--out",
        str(data),
    )
    assert done.returncode == 0, done.stderr
    return data


def test_ingest_reads_the_upstream_samples_layout_bytes_unchanged(cli: Cli, tmp_path: Path) -> None:
    # The upstream sample's files: its header typo (SendorID), here with CRLF line ends and a BOM.
    readings = tmp_path / "iot_electricity_metering/2022-01-05/electricity_metering_blockA1_2022-01-05-09.csv"
    readings.parent.mkdir(parents=True)
    readings.write_bytes(
        b"\xef\xbb\xbfSendorID,Voltage,Current,Frequency,kWh,HourCollected\r\n"
        b"61246501,240,10,60,0.22,09\r\n61246501,240,10,60,0.21,09\r\n61246502,240,20,60,0.44,09\r\n"
        b"61246502,240,20,60,0.455,10\r\n"
    )
    customers = tmp_path / "customer_meter_sensor/customer_meter_sensor.csv"
    customers.parent.mkdir(parents=True)
    customers.write_bytes(b"CustomerID,SensorID,SensorGroup\n20027610,61246501,B\n20027611,61246502,B\n")

    report = cli.json("ingest", str(tmp_path))
    assert (report["layout"], report["uploaded"], report["skipped"], report["days"]) == (
        "upstream sample",
        2,
        0,
        ["2022-01-05"],
    )
    key = "iot_electricity_metering/year=2022/month=01/day=05/electricity_metering_blockA1_2022-01-05-09.csv"
    stored = cli.client("s3").get_object(Bucket="meterpipe-lake", Key=key)["Body"].read()
    assert stored == readings.read_bytes()
    again = cli("ingest", str(tmp_path))
    assert again.returncode == 0 and "uploaded 0 files (0 B), skipped 2 unchanged" in again.stdout

    run = cli("run", "--date", "2022-01-05", "--wait")
    assert run.returncode == 0, run.stdout + run.stderr
    expected = expected_items(customers.parent, {dt.date(2022, 1, 5): [readings]})
    assert only(cli.table(), periods_of([dt.date(2022, 1, 5)])) == expected
    assert expected[(20027611, "61246502#2022-01-05")] == (sum_of("0.44", "0.455"), 2)


def sum_of(*values: str) -> object:
    from decimal import ROUND_HALF_UP, Decimal

    return sum(Decimal(v) for v in values).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_the_schedule_fires_for_a_day_and_its_items_appear(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "april"
    done = cli(
        "generate",
        "--customers",
        "3",
        "--from",
        str(SCHEDULED_DAY),
        "--to",
        str(SCHEDULED_DAY),
        "--seed",
        "11",  # February's customers too: one customers.csv for both
        "--out",
        str(data),
    )
    assert done.returncode == 0, done.stderr
    assert cli("ingest", str(data)).returncode == 0
    shown = cli.json("schedule", "show")
    assert (shown["state"], shown["expression"]) == ("ENABLED", "cron(30 3 * * ? *)")

    fired = cli("schedule", "fire", "--at", "2024-04-02T03:30:00Z", "--wait", "--json")
    assert fired.returncode == 0, fired.stdout + fired.stderr
    [run] = json.loads(fired.stdout)
    assert (run["date"], run["status"], run["origin"]) == (str(SCHEDULED_DAY), "SUCCEEDED", "schedule")
    assert only(cli.table(), periods_of([SCHEDULED_DAY])) == expected_items(
        data / "customer_meter_sensor", lake_readings(data)
    )
    history = cli.json("history", "--from", str(SCHEDULED_DAY), "--to", str(SCHEDULED_DAY))
    assert [(d["status"], d["origin"], d["execution"]) for d in history] == [
        ("SUCCEEDED", "schedule", run["execution"])
    ]


def test_a_months_backfill_writes_exactly_the_totals_of_the_readings(cli: Cli, february: Path) -> None:
    assert cli("ingest", str(february)).returncode == 0
    plan = cli.json("backfill", "--from", "2024-02-01", "--to", "2024-02-29", "--dry-run")
    assert len(plan["days"]) == 29 and all(d["run"] and d["reason"] == "never run" for d in plan["days"])

    done = cli("backfill", "--from", "2024-02-01", "--to", "2024-02-29", "--concurrency", "6", "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "29 of 29 days succeeded, 0 failed" in done.stdout
    expected = expected_items(february / "customer_meter_sensor", lake_readings(february))
    assert only(cli.table(), periods_of(FEBRUARY)) == expected
    calendar = cli.json("calendar", "--month", "2024-02")
    assert calendar["counts"] == {"succeeded": 29, "failed": 0, "running": 0, "never": 0}
    nothing = cli("backfill", "--from", "2024-02-01", "--to", "2024-02-29", "--only-missing")
    assert (
        nothing.stdout.strip()
        == "nothing to do: every day of 2024-02-01..2024-02-29 has a latest run that succeeded"
    )


def test_a_corrupt_day_fails_with_its_cause_and_redrive_completes_it_once_fixed(
    cli: Cli, february: Path
) -> None:
    [day_file] = lake_readings(february)[CORRUPT_DAY]
    good = day_file.read_bytes()
    lines = good.decode().splitlines()
    # Every reading of 05:00 loses its kWh: the hour rows of the day's query have no total.
    corrupt = [lines[0]] + [
        ",".join([*ln.split(",")[:4], "n/a", ln.split(",")[5]]) if ln.endswith(",05") else ln
        for ln in lines[1:]
    ]
    day_file.write_text("\n".join(corrupt) + "\n")
    assert cli("ingest", str(february)).returncode == 0

    tenth_before = only(cli.table(), periods_of([CORRUPT_DAY]) - {"2024-02"})
    failed = cli("backfill", "--from", "2024-02-09", "--to", "2024-02-11", "--wait", "--json")
    assert failed.returncode == 3, failed.stdout + failed.stderr
    assert error_line(failed) == f"error: 1 day(s) failed: {CORRUPT_DAY}"
    days = {d["date"]: d for d in json.loads(failed.stdout)["days"]}
    bad = days[str(CORRUPT_DAY)]
    # Validated before any write: the day fails naming the file, a bad line and its value.
    corrupted = sum(1 for ln in corrupt[1:] if ",n/a," in ln)
    key = f"iot_electricity_metering/year=2024/month=02/day=10/{day_file.name}"
    assert bad["status"] == "FAILED" and bad["error"] == "MeterPipe.BadReadings"
    assert bad["cause"].startswith(f"{corrupted} bad reading(s) of {len(corrupt) - 1} on 2024-02-10")
    assert f'{key}: "' in bad["cause"] and "kWh 'n/a' is not a non-negative decimal" in bad["cause"]
    assert only(cli.table(), periods_of([CORRUPT_DAY]) - {"2024-02"}) == tenth_before  # nothing written
    assert [days[d]["status"] for d in ("2024-02-09", "2024-02-11")] == ["SUCCEEDED", "SUCCEEDED"]
    assert cli.json("calendar", "--month", "2024-02")["counts"]["failed"] == 1

    day_file.write_bytes(good)
    assert cli("ingest", str(february)).returncode == 0
    redriven = cli("redrive", "--failed", "--wait")
    assert redriven.returncode == 0, redriven.stdout + redriven.stderr
    assert f"{CORRUPT_DAY}  SUCCEEDED  {CORRUPT_DAY}_redrive_" in redriven.stdout
    assert "it failed in its BadReadings state (MeterPipe.BadReadings)" in redriven.stderr

    calendar = cli.json("calendar", "--month", "2024-02")
    assert calendar["counts"] == {"succeeded": 29, "failed": 0, "running": 0, "never": 0}
    [line] = cli.json("history", "--from", str(CORRUPT_DAY), "--to", str(CORRUPT_DAY))
    assert (line["status"], line["origin"], line["runs"]) == ("SUCCEEDED", "redrive", 3)
    assert line["execution"].startswith(f"{CORRUPT_DAY}_redrive_")
    expected = expected_items(february / "customer_meter_sensor", lake_readings(february))
    assert only(cli.table(), periods_of(FEBRUARY)) == expected
    timeline = cli("history", str(CORRUPT_DAY))
    assert timeline.returncode == 0 and "WriteHourlyRollups" in timeline.stdout


def test_every_error_is_one_line_and_a_non_zero_exit(cli: Cli, tmp_path: Path) -> None:
    cases = {
        ("run", "--date", "2024-02-30"): "error: --date '2024-02-30' is not a real calendar date",
        (
            "backfill",
            "--from",
            "2024-02-10",
            "--to",
            "2024-02-01",
        ): "error: --to 2024-02-01 is before --from 2024-02-10",
        ("history", "no-such-run"): "error: unknown execution 'no-such-run': no such execution of "
        "meterpipe-daily-rollup or meterpipe-backfill",
        ("redrive", "no-such-run"): "error: unknown execution 'no-such-run': no such execution of "
        "meterpipe-daily-rollup or meterpipe-backfill",
        (
            "calendar",
            "--month",
            "2024-13",
        ): "error: --month '2024-13' is not a month (month 13 is not 01..12)",
        (
            "query",
            "--customer",
            "1",
            "--granularity",
            "day",
            "--from",
            "2024-02-31",
        ): "error: --from '2024-02-31' is not a real date",
        ("ingest", str(tmp_path / "missing")): f"error: {tmp_path / 'missing'} is not a folder",
        ("history", "1999-01-01"): "error: 1999-01-01 has never been run (see `meterpipe history`)",
    }
    for args, message in cases.items():
        done = cli(*args)
        assert (done.returncode, error_line(done)) == (1, message), args

    stopped = cli("calendar", home=tmp_path / "no-localcloud")
    assert stopped.returncode == 1
    missing = tmp_path / "no-localcloud"
    assert (
        error_line(stopped)
        == f"error: localcloud is not running for {missing}: start it with `meterpipe local up`"
    )

    # --target aws with no reachable AWS: one line, whatever the cause.
    unreachable = cli(
        "calendar",
        "--target",
        "aws",
        "--region",
        "eu-west-1",
        env={
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_MAX_ATTEMPTS": "1",
        },
    )
    assert unreachable.returncode == 1
    assert error_line(unreachable).startswith("error: cannot reach http://127.0.0.1:9")
    usage = cli("query", "--customer", "1", "--granularity", "week")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_localcloud_without_the_stack_deployed_answers_as_aws_for_a_missing_stack(cli: Cli) -> None:
    """localcloud serves CloudFormation: `local up` deploys no stack, so --target aws finds none."""
    done = cli(
        "history",
        "--target",
        "aws",
        "--region",
        "us-east-1",
        env={"AWS_ENDPOINT_URL": cli.endpoint, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"},
    )
    assert done.returncode == 1
    assert error_line(done) == (
        "error: no stack 'MeterPipe' in us-east-1: deploy it with `make deploy`, "
        "or name the deployed one with --stack"
    )


def connecting_commands(folder: Path) -> list[tuple[str, ...]]:
    """Every command that reaches a deployment, with arguments that pass their own checks
    (``folder`` holds something to ingest)."""
    (folder / "customer_meter_sensor").mkdir(exist_ok=True)
    (folder / "customer_meter_sensor" / "c.csv").write_text("CustomerID,SensorID,SensorGroup\n1,2,A\n")
    return [
        ("ingest", str(folder)),
        ("run", "--date", "2024-01-05"),
        ("backfill", "--from", "2024-01-01", "--to", "2024-01-02"),
        ("redrive", "--failed"),
        ("redrive", "some-execution"),
        ("history",),
        ("history", "2024-01-05"),
        ("calendar", "--month", "2024-01"),
        ("query", "--customer", "1", "--granularity", "day"),
        ("schedule", "show"),
        ("schedule", "enable"),
        ("schedule", "disable"),
    ]


def run_all(cli: Cli, commands: list[tuple[str, ...]], **kwargs: Any) -> list[Any]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda command: cli(*command, **kwargs), commands))


def test_a_missing_stack_is_one_line_from_every_command(no_stack_endpoint: str, tmp_path: Path) -> None:
    aws = ("--target", "aws", "--region", "us-east-1")
    commands = [(*c, *aws) for c in connecting_commands(tmp_path)] + [("calendar", *aws, "--stack", "Other")]
    env = {"AWS_ENDPOINT_URL": no_stack_endpoint, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}

    done = run_all(Cli(tmp_path, no_stack_endpoint), commands, env=env)

    for command, result in zip(commands, done, strict=True):
        stack = "Other" if "--stack" in command else "MeterPipe"
        assert (result.returncode, error_line(result)) == (
            1,
            f"error: no stack '{stack}' in us-east-1: deploy it with `make deploy`, "
            "or name the deployed one with --stack",
        ), command


def test_localcloud_not_running_is_one_line_from_every_command(tmp_path: Path) -> None:
    home = tmp_path / "never-started"
    commands = [*connecting_commands(tmp_path), ("schedule", "fire")]

    done = run_all(Cli(home, ""), commands)

    for command, result in zip(commands, done, strict=True):
        assert (result.returncode, error_line(result)) == (
            1,
            f"error: localcloud is not running for {home}: start it with `meterpipe local up`",
        ), command
