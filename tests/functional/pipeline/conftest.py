"""The whole pipeline offline: localcloud started and the project deployed by ``meterpipe local up``,
generated readings in the lake, and the rollup table's expected items computed here from the CSV
text with Decimal arithmetic, independently of the queries and the handler."""

from __future__ import annotations

import csv
import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from localcloud import launcher
from meterpipe.aws import Clients, Target, clients_for
from meterpipe.cli import app
from meterpipe.datagen import GenerateOptions, generate, upload_lake
from meterpipe.local.deploy import LocalDeployment

SPEC = LocalDeployment()
MONTH = [dt.date(2024, 1, 1) + dt.timedelta(days=n) for n in range(31)]
CUSTOMERS = 3
Items = dict[tuple[int, str], tuple[Decimal, int]]  # (CustomerID, SensorID-Period) -> (kWh, readings)


@dataclass
class Pipeline:
    home: Path
    lake: Path
    clients: Clients
    endpoint: str

    def client(self, service: str) -> Any:
        return self.clients.client(service)

    def machine_arn(self, name: str) -> str:
        return f"arn:aws:states:us-east-1:000000000000:stateMachine:{name}"

    def start(self, machine: str, payload: str, name: str | None = None) -> str:
        extra = {"name": name} if name else {}
        sfn = self.client("stepfunctions")
        return str(
            sfn.start_execution(stateMachineArn=self.machine_arn(machine), input=payload, **extra)[
                "executionArn"
            ]
        )

    def wait(self, execution_arn: str, timeout: float = 300) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                return described
            time.sleep(0.1)

    def table(self) -> Items:
        """Every item of the rollup table: key -> (kWh-Amount, ReadingCount)."""
        ddb = self.client("dynamodb")
        items: Items = {}
        for page in ddb.get_paginator("scan").paginate(TableName=SPEC.rollups.name):
            for item in page["Items"]:
                key = (int(item["CustomerID"]["N"]), item["SensorID-Period"]["S"])
                items[key] = (Decimal(item["kWh-Amount"]["N"]), int(item["ReadingCount"]["N"]))
        return items

    def clear_table(self) -> None:
        ddb = self.client("dynamodb")
        for customer, period in self.table():
            ddb.delete_item(
                TableName=SPEC.rollups.name,
                Key={"CustomerID": {"N": str(customer)}, "SensorID-Period": {"S": period}},
            )


def start_pipeline(home: Path, lake: Path) -> Pipeline:
    result = CliRunner().invoke(app, ["local", "up", "--home", str(home), "--port", "0"])
    assert result.exit_code == 0 and result.exception is None, result.output
    clients = clients_for(Target.local(home))
    running = launcher.status(home).server
    assert running is not None
    return Pipeline(home=home, lake=lake, clients=clients, endpoint=running.endpoint)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    lake = tmp_path_factory.mktemp("lake")
    generate(
        GenerateOptions(customers=CUSTOMERS, start=MONTH[0], end=MONTH[-1], out=lake, interval=60, seed=5)
    )
    home = tmp_path_factory.mktemp("meterpipe-home")
    running = start_pipeline(home, lake)
    try:
        upload_lake(lake, running.client("s3"), SPEC.lake_bucket)
        yield running
    finally:
        if launcher.status(home).running:
            launcher.stop(home)


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))[1:]


def expected_items(lake: Path, days: list[dt.date]) -> Items:
    """The items daily_rollup writes for ``days``: hour and day items of those days, and the month
    items of their months over every reading of the month in the lake."""
    owners: dict[str, int] = {}
    for path in (lake / "customer_meter_sensor").glob("*.csv"):
        owners.update({sensor: int(customer) for customer, sensor, _ in _rows(path)})
    totals: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    counts: dict[tuple[int, str], int] = defaultdict(int)
    months = {(day.year, day.month) for day in days}
    for year, month in months:
        folder = lake / f"iot_electricity_metering/year={year}/month={month:02d}"
        for day_folder in sorted(folder.iterdir()):
            day = dt.date(year, month, int(day_folder.name.removeprefix("day=")))
            for path in day_folder.glob("*.csv"):
                for sensor, _, _, _, kwh, hour in _rows(path):
                    if sensor not in owners:
                        continue
                    periods = [f"{day:%Y-%m}"]
                    if day in days:
                        periods += [f"{day}T{hour}", f"{day}"]
                    for period in periods:
                        key = (owners[sensor], f"{sensor}#{period}")
                        totals[key] += Decimal(kwh)
                        counts[key] += 1
    cent = Decimal("0.01")
    return {key: (total.quantize(cent, ROUND_HALF_UP), counts[key]) for key, total in totals.items()}
