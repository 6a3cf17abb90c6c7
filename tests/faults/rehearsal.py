"""The fault suite's stage: one localcloud with signatures checked (every caller signs with a key
of the home's keys file or of the run), the project deployed by ``meterpipe local up``, its
schedule off, a generated month in the lake; the CLI driven as an operator would; the table read
whole and compared with totals computed here from the lake's CSV text."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from localcloud import control, launcher
from meterpipe.aws import Clients, Target, clients_for
from meterpipe.cli import app
from tests.functional.pipeline.pipeline_support import MONTH, SPEC, Items, expected_items

__all__ = ["MONTH", "SPEC", "Items", "Rehearsal", "expected_items"]

ACCOUNT = "arn:aws:states:us-east-1:000000000000"


@dataclass
class Rehearsal:
    home: Path
    lake: Path
    clients: Clients = field(init=False)
    endpoint: str = field(init=False)

    def __post_init__(self) -> None:
        self.connect()

    # -- localcloud ---------------------------------------------------------------------------------
    def up(self) -> None:
        """``meterpipe local up`` with signatures checked (idempotent; deploys the project)."""
        result = self.cli("local", "up", "--port", "0", "--verify-signatures")
        assert result.exit_code == 0, result.output
        self.connect()

    def connect(self) -> None:
        self.clients = clients_for(Target.local(self.home))
        server = launcher.status(self.home).server
        assert server is not None
        self.endpoint = server.endpoint

    def restart_after_sigkill(self) -> None:
        launcher.stop(self.home, kill=True)
        self.up()
        self.cli("schedule", "disable")

    def client(self, service: str) -> Any:
        return self.clients.client(service)

    # -- the operator's commands ----------------------------------------------------------------------
    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(app, [*args, "--home", str(self.home)], catch_exceptions=False)

    def faults(self, *args: str) -> Result:
        return self.cli("local", "faults", *args)

    def fault_hits(self) -> dict[str, int]:
        return {fault["id"]: fault["hits"] for fault in control.list_faults(self.endpoint)}

    # -- Step Functions -------------------------------------------------------------------------------
    def machine_arn(self, name: str) -> str:
        return f"{ACCOUNT}:stateMachine:{name}"

    def start(self, machine: str, payload: dict[str, Any], name: str | None = None) -> str:
        extra = {"name": name} if name else {}
        started = self.client("stepfunctions").start_execution(
            stateMachineArn=self.machine_arn(machine), input=json.dumps(payload), **extra
        )
        return str(started["executionArn"])

    def wait(self, execution_arn: str, timeout: float = 300) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                return described
            time.sleep(0.1)

    def executions(self, machine: str) -> list[dict[str, Any]]:
        pages = self.client("stepfunctions").get_paginator("list_executions")
        return [
            e
            for page in pages.paginate(stateMachineArn=self.machine_arn(machine))
            for e in page["executions"]
        ]

    # -- the table ------------------------------------------------------------------------------------
    def table(self) -> Items:
        """Every item of the rollup table: key -> (kWh-Amount, ReadingCount)."""
        items: Items = {}
        for page in self.client("dynamodb").get_paginator("scan").paginate(TableName=SPEC.rollups.name):
            for item in page["Items"]:
                key = (int(item["CustomerID"]["N"]), item["SensorID-Period"]["S"])
                items[key] = (Decimal(item["kWh-Amount"]["N"]), int(item["ReadingCount"]["N"]))
        return items

    def reset(self) -> None:
        """No fault set, an empty table: each scenario starts from here."""
        control.clear_faults(self.endpoint)
        ddb = self.client("dynamodb")
        keys = [
            {"CustomerID": {"N": str(customer)}, "SensorID-Period": {"S": period}}
            for customer, period in self.table()
        ]
        for start in range(0, len(keys), 25):
            pending: dict[str, Any] = {
                SPEC.rollups.name: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
            }
            while pending:
                pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    def expected(self, days: list[dt.date]) -> Items:
        return expected_items(self.lake, days)
