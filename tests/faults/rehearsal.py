"""The fault suite's stage: the pipeline tests' ``Pipeline`` (the rollup table read whole, compared
with totals computed from the lake's CSV text) on a localcloud that checks signatures (every
caller signs with a key of the home's keys file or of the run), with the CLI driven as an operator
would and faults set through it."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from handlers import ledger_format as lf
from localcloud import control, launcher
from meterpipe.aws import Target, clients_for
from meterpipe.cli import app
from tests.functional.pipeline.pipeline_support import MONTH, SPEC, Items, Pipeline, expected_items

__all__ = ["MONTH", "SPEC", "Items", "Rehearsal"]


class Rehearsal(Pipeline):
    @classmethod
    def on(cls, home: Path, lake: Path) -> Rehearsal:
        """The stage of the localcloud running for ``home``."""
        rehearsal = cls(home=home, lake=lake, clients=clients_for(Target.local(home)), endpoint="")
        rehearsal.connect()
        return rehearsal

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

    # -- the operator's commands ----------------------------------------------------------------------
    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(app, [*args, "--home", str(self.home)], catch_exceptions=False)

    def faults(self, *args: str) -> Result:
        return self.cli("local", "faults", *args)

    def fault_hits(self) -> dict[str, int]:
        return {fault["id"]: fault["hits"] for fault in control.list_faults(self.endpoint)}

    # -- Step Functions -------------------------------------------------------------------------------
    def start_with(self, machine: str, payload: Any, name: str | None = None) -> str:
        return self.start(machine, json.dumps(payload), name)

    def executions(self, machine: str) -> list[dict[str, Any]]:
        pages = self.client("stepfunctions").get_paginator("list_executions")
        return [
            e
            for page in pages.paginate(stateMachineArn=self.machine_arn(machine))
            for e in page["executions"]
        ]

    def latest(self, machine: str) -> str:
        return str(max(self.executions(machine), key=lambda e: e["startDate"])["executionArn"])

    # -- the tables -----------------------------------------------------------------------------------
    def reset(self) -> None:
        """No fault set, an empty rollup table and an empty ledger: each scenario starts from here
        (a day another scenario left SUCCEEDED in the ledger would be skipped by `redrive --failed`)."""
        control.clear_faults(self.endpoint)
        self._empty(SPEC.rollups.name, ("CustomerID", "SensorID-Period"))
        self._empty(SPEC.ledger.name, (lf.PIPELINE, lf.KEY))

    def _empty(self, table: str, key_names: tuple[str, str]) -> None:
        ddb = self.client("dynamodb")
        pages = ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        keys = [{name: item[name] for name in key_names} for page in pages for item in page["Items"]]
        for start in range(0, len(keys), 25):
            pending: dict[str, Any] = {
                table: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
            }
            while pending:
                pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    def expected(self, days: list[dt.date]) -> Items:
        return expected_items(self.lake, days)

    def ledger_day(self, day: dt.date) -> dict[str, Any]:
        """The day's ledger record, each attribute's value as DynamoDB gives it (numbers as text)."""
        item = (
            self.client("dynamodb")
            .get_item(TableName=SPEC.ledger.name, Key=lf.day_key(day), ConsistentRead=True)
            .get("Item", {})
        )
        return {name: next(iter(value.values())) for name, value in item.items()}

    def settled(self, day: dt.date, timeout: float = 120) -> dict[str, Any]:
        """The day's record once it no longer says RUNNING: ledger_sync records a failed end a
        moment after the execution ends (the CLI shows it at once by describing the execution)."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.ledger_day(day)
            if record.get(lf.STATUS) != "RUNNING" or time.monotonic() > deadline:
                return record
            time.sleep(0.2)

    def attempts(self, day: dt.date) -> list[dict[str, Any]]:
        """The day's attempt records, in attempt order."""
        found = self.client("dynamodb").query(
            TableName=SPEC.ledger.name,
            KeyConditionExpression="#p = :p AND begins_with(#k, :day)",
            ExpressionAttributeNames={"#p": lf.PIPELINE, "#k": lf.KEY},
            ExpressionAttributeValues={":p": {"S": lf.ATTEMPT_PIPELINE}, ":day": {"S": f"{day}#"}},
            ConsistentRead=True,
        )["Items"]
        return [{name: next(iter(value.values())) for name, value in item.items()} for item in found]
