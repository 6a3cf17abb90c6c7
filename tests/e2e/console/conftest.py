"""A localcloud with failed days, shared by the console's tests (one localcloud, one deployment per
session): three customers' readings for 2024-01-01..05; the 1st..4th backfilled once, the 3rd's
05:00 readings corrupt (kWh ``n/a``) so that validation fails it (``MeterPipe.BadReadings``,
nothing written); then the 5th run while DynamoDB refuses every BatchWriteItem (a localcloud
fault, as a role that lost ``dynamodb:BatchWriteItem`` would), so its hour and day map runs fail
batch by batch: the day INCOMPLETE, none of its hour or day items written (its month items are).
Expected figures are computed here from the generated files with Decimal sums, never read from the
code."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

from meterpipe.aws import Target
from meterpipe.console.app import ConsoleApp
from meterpipe.console.http import Guard
from meterpipe.ops.pipeline import Pipeline, connect
from tests.e2e.conftest import Cli, local_cli

DAYS = [dt.date(2024, 1, d) for d in range(1, 5)]  # backfilled
BAD_DAY = dt.date(2024, 1, 3)  # fails validation: BadReadings, nothing written
BATCH_DAY = dt.date(2024, 1, 5)  # run while write_batch cannot write: its map runs fail
GENERATED = [*DAYS, BATCH_DAY]
REFUSED = "AccessDeniedException"
CONSOLE_PORT = 18001  # the Guard's port for in-process calls; nothing listens on it
CENT = Decimal("0.01")


@dataclass(frozen=True)
class FailedMap:
    """The map state of BATCH_DAY's run whose map run failed: the hourly or the daily one, whichever
    failed first (the Parallel then aborts the other)."""

    state: str  # WriteHourlyRollups | WriteDailyRollups
    batch_state: str  # its processor's Task
    map_run_arn: str
    rows: int  # the query's rows: every one an item of the map run


@dataclass(frozen=True)
class World:
    cli: Cli
    data: Path
    owners: dict[int, int]  # sensor -> customer
    batch_run: str  # the execution ARN of BATCH_DAY's failed run

    def readings(self, day: dt.date) -> list[tuple[int, Decimal, int]]:
        """The day's valid readings: (sensor, kWh, hour); a kWh that is not a number is a bad one."""
        return [(s, k, h) for s, k, h, _line in self.lines(day) if k is not None]

    def lines(self, day: dt.date) -> list[tuple[int, Decimal | None, int, str]]:
        """Every reading line of the day: (sensor, kWh or None when not a number, hour, its text)."""
        found = []
        folder = self.data / f"iot_electricity_metering/year={day:%Y}/month={day:%m}/day={day:%d}"
        for path in sorted(folder.glob("*.csv")):
            lines = path.read_text(encoding="utf-8-sig").splitlines()[1:]
            for line in lines:
                if not line:
                    continue
                sensor, _v, _c, _f, kwh, hour = next(csv.reader([line]))
                try:
                    value: Decimal | None = Decimal(kwh)
                except InvalidOperation:
                    value = None
                found.append((int(sensor), value, int(hour), line))
        return found

    def files(self, day: dt.date) -> list[str]:
        """The lake keys of the day's files."""
        folder = self.data / f"iot_electricity_metering/year={day:%Y}/month={day:%m}/day={day:%d}"
        return [str(path.relative_to(self.data)) for path in sorted(folder.glob("*.csv"))]

    def sensor_hours(self, day: dt.date) -> set[tuple[int, int]]:
        """(sensor, hour) of every reading line of the day, bad ones included."""
        folder = self.data / f"iot_electricity_metering/year={day:%Y}/month={day:%m}/day={day:%d}"
        found = set()
        for path in sorted(folder.glob("*.csv")):
            lines = path.read_text(encoding="utf-8-sig").splitlines()[1:]
            found |= {(int(row[0]), int(row[5])) for row in csv.reader(line for line in lines if line)}
        return found

    def day_kwh(self, customer: int, day: dt.date) -> dict[int, Decimal]:
        totals: dict[int, Decimal] = defaultdict(Decimal)
        for sensor, kwh, _hour in self.readings(day):
            if self.owners.get(sensor) == customer:
                totals[sensor] += kwh
        return {s: v.quantize(CENT, ROUND_HALF_UP) for s, v in totals.items()}

    def hour_kwh(self, customer: int, day: dt.date) -> dict[tuple[int, int], Decimal]:
        totals: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
        for sensor, kwh, hour in self.readings(day):
            if self.owners.get(sensor) == customer:
                totals[(sensor, hour)] += kwh
        return {k: v.quantize(CENT, ROUND_HALF_UP) for k, v in totals.items()}

    def month_kwh(self, customer: int) -> dict[int, Decimal]:
        totals: dict[int, Decimal] = defaultdict(Decimal)
        for day in GENERATED:  # every valid reading of the month, whichever day's run wrote it
            for sensor, kwh, _hour in self.readings(day):
                if self.owners.get(sensor) == customer:
                    totals[sensor] += kwh
        return {s: v.quantize(CENT, ROUND_HALF_UP) for s, v in totals.items()}

    def customers(self) -> list[int]:
        return sorted(set(self.owners.values()))

    def executions(self, machine: str, status: str | None = None) -> list[dict[str, Any]]:
        """ListExecutions of ``meterpipe-<machine>``, straight from boto3."""
        sfn = self.cli.client("stepfunctions")
        arn = f"arn:aws:states:us-east-1:000000000000:stateMachine:meterpipe-{machine}"
        arguments = {"stateMachineArn": arn, **({"statusFilter": status} if status else {})}
        return [
            e
            for page in sfn.get_paginator("list_executions").paginate(**arguments)
            for e in page["executions"]
        ]

    def failed_map(self) -> FailedMap:
        """From the history and DescribeMapRun (boto3), never from the console's code."""
        sfn = self.cli.client("stepfunctions")
        events = sfn.get_execution_history(executionArn=self.batch_run, maxResults=1000)["events"]
        for event in events:
            if event["type"] != "MapRunStarted":
                continue
            arn = event["mapRunStartedEventDetails"]["mapRunArn"]
            if sfn.describe_map_run(mapRunArn=arn)["status"] != "FAILED":
                continue
            label = "hourly" if "/hourly:" in arn else "daily"
            hours = self.sensor_hours(BATCH_DAY)
            rows = len(hours) if label == "hourly" else len({sensor for sensor, _hour in hours})
            kind = label.capitalize()
            return FailedMap(f"Write{kind}Rollups", f"Write{kind}Batch", arn, rows)
        raise AssertionError(f"no failed map run in {self.batch_run}")

    def pipeline(self) -> Pipeline:
        return connect(Target.local(self.cli.home))


def corrupt(path: Path) -> int:
    """Every 05:00 reading loses its kWh (``n/a``), as a broken export would; returns how many."""
    lines = path.read_text().splitlines(keepends=True)
    pattern = re.compile(r"^((?:[^,]*,){4})[^,]*(,05\r?\n?)$")
    changed = [pattern.sub(r"\1n/a\2", line) for line in lines]
    path.write_text("".join(changed))
    return sum(a != b for a, b in zip(lines, changed, strict=True))


def build(cli: Cli, data: Path) -> World:
    """Generate, ingest and run the console's days on the running localcloud of ``cli``."""
    first, last = str(GENERATED[0]), str(GENERATED[-1])
    made = cli(
        "generate", "--customers", "3", "--from", first, "--to", last, "--seed", "7", "--out", str(data)
    )
    assert made.returncode == 0, made.stderr
    folder = data / f"iot_electricity_metering/year=2024/month=01/day={BAD_DAY:%d}"
    assert sum(corrupt(path) for path in folder.glob("*.csv")) > 0
    assert cli("ingest", str(data)).returncode == 0
    done = cli("backfill", "--from", str(DAYS[0]), "--to", str(DAYS[-1]), "--wait")
    assert done.returncode == 3, done.stdout + done.stderr
    refused = cli("local", "faults", "add", "dynamodb", "BatchWriteItem", "--error", REFUSED)
    assert refused.returncode == 0, refused.stderr
    try:
        failed = cli("run", "--date", str(BATCH_DAY), "--wait", "--json")
    finally:
        assert cli("local", "faults", "clear").returncode == 0
    assert failed.returncode == 3, failed.stdout + failed.stderr
    owners = {}
    for path in (data / "customer_meter_sensor").glob("*.csv"):
        for customer, sensor, *_ in list(csv.reader(path.read_text().splitlines()))[1:]:
            owners[int(sensor)] = int(customer)
    return World(cli, data, owners, _run_arn(failed.stdout))


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with local_cli(tmp_path_factory.mktemp("console-home")) as cli:
        yield build(cli, tmp_path_factory.mktemp("console-data"))


def _run_arn(output: str) -> str:
    """The execution ARN in ``run --wait --json``'s report."""
    found = re.search(r'"executionArn": "([^"]+)"', output)
    assert found, output
    return found.group(1)


@pytest.fixture(scope="session")
def app(world: World) -> ConsoleApp:
    return ConsoleApp(world.pipeline, Guard(CONSOLE_PORT), target_label="test")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium for Playwright (which cannot download browsers here). Outside CI a missing
    browser skips the browser tests with the reason; in CI (CI=true) it fails them."""
    reason = None
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        reason = (
            "no Chromium at /usr/bin/chromium: `make setup` installs Debian's chromium where apt is available"
        )
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed in .venv: run `make setup`"
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests cannot be skipped in CI: {reason}")
        pytest.skip(reason)
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    assert version, f"{path} --version printed nothing"
    return path
