"""End-to-end: ``meterpipe --target aws`` against the stack ``cdk deploy`` made inside localcloud
(the session's ``cdk_stack``), with ``AWS_ENDPOINT_URL`` set as boto3 reads it and run from a
folder outside the checkout: every name and deploy-time setting comes from the stack's outputs.
And the direct path of ``meterpipe local up`` (the session's ``cli``) is compared, resource by
resource, with what the template made."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from handlers.settings import LEDGER_TABLE_NAME_ENV, ROLLUP_TABLE_NAME_ENV
from meterpipe.ops.pipeline import OUTPUT_KEYS
from tests.e2e.cdk_deployment import CREDENTIALS, REGION, CdkDeployment, needs_cdk_cli
from tests.e2e.conftest import METERPIPE, Cli, Items, expected_items, lake_readings

pytestmark = [pytest.mark.e2e, pytest.mark.slow, needs_cdk_cli]

DAYS = (dt.date(2023, 9, 12), dt.date(2023, 9, 13))  # no other test of the deployed stack runs September
Run = Callable[..., subprocess.CompletedProcess[str]]


def aws_target(stack: CdkDeployment, folder: Path) -> Run:
    """The installed command with ``--target aws``, in ``folder``, reaching the stack's localcloud
    only through AWS_ENDPOINT_URL (no profile, no METERPIPE_HOME, no checkout around it)."""
    folder.mkdir(parents=True, exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "METERPIPE_"))}
    environment |= CREDENTIALS | {"AWS_ENDPOINT_URL": stack.endpoint, "AWS_REGION": REGION, "COLUMNS": "200"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(METERPIPE), *args, "--target", "aws"],
            cwd=folder,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    return run


def table_items(stack: CdkDeployment, month: str) -> Items:
    found: Items = {}
    pages = (
        stack.client("dynamodb").get_paginator("scan").paginate(TableName=stack.outputs["RollupTableName"])
    )
    for page in pages:
        for item in page["Items"]:
            if month in item["SensorID-Period"]["S"]:
                key = (int(item["CustomerID"]["N"]), item["SensorID-Period"]["S"])
                found[key] = (Decimal(item["kWh-Amount"]["N"]), int(item["ReadingCount"]["N"]))
    return found


def test_the_cli_runs_days_on_the_cdk_deployed_stack_from_its_outputs(
    cdk_stack: CdkDeployment, tmp_path: Path
) -> None:
    meterpipe = aws_target(cdk_stack, tmp_path / "elsewhere")
    first, second = DAYS
    generated = subprocess.run(
        [str(METERPIPE), "generate", "--customers", "4", "--from", f"{first}", "--to", f"{second}",
         "--out", str(tmp_path / "data")],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr

    ingested = meterpipe("ingest", str(tmp_path / "data"))
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    ran = meterpipe("run", "--date", f"{first}", "--wait", "--json")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    # The limit is the deployed stack's (cdk.json's default, 40), refused before anything starts.
    refused = meterpipe("backfill", "--from", f"{second}", "--to", f"{second}", "--concurrency", "41")
    assert (refused.returncode, refused.stderr.strip()) == (
        1,
        "error: --concurrency must be from 1 to 40: stack MeterPipe was deployed with "
        "backfillMaxConcurrencyLimit 40",
    )
    backfilled = meterpipe(
        "backfill", "--from", f"{second}", "--to", f"{second}", "--concurrency", "2", "--wait"
    )
    assert backfilled.returncode == 0, backfilled.stdout + backfilled.stderr

    expected = expected_items(tmp_path / "data" / "customer_meter_sensor", lake_readings(tmp_path / "data"))
    assert table_items(cdk_stack, "2023-09") == expected
    calendar = json.loads(meterpipe("calendar", "--month", "2023-09", "--json").stdout)
    assert {d["date"]: d["status"] for d in calendar["days"] if d["status"] != "never"} == {
        f"{first}": "succeeded",
        f"{second}": "succeeded",
    }
    customer, period = min(key for key in expected if key[1].endswith(f"#{first}"))
    rows = json.loads(
        meterpipe("query", "--customer", str(customer), "--granularity", "day", "--from", f"{first}",
                  "--to", f"{first}", "--json").stdout
    )  # fmt: skip
    assert [(r["SensorID-Period"], Decimal(r["kWh"])) for r in rows if r["SensorID-Period"] == period] == [
        (period, expected[(customer, period)][0])
    ]
    schedule = json.loads(meterpipe("schedule", "show", "--json").stdout)
    assert (schedule["name"], schedule["expression"], schedule["timezone"], schedule["target"]) == (
        "meterpipe-daily-rollup",
        "cron(30 3 * * ? *)",
        "UTC",
        cdk_stack.outputs["DailyRollupStateMachineArn"],
    )
    assert len(schedule["nextTimes"]) == 3
    assert all(t.endswith("T03:30:00Z") for t in schedule["nextTimes"])


# -- the direct path of `meterpipe local up` against the template ---------------------------------


class Rename:
    """The direct deployment's values as the stack's: its bucket names and function ARN differ (the
    template lets CloudFormation name them), everything else must be equal as it is."""

    def __init__(self, direct: dict[str, str], stack: dict[str, str], function: tuple[str, str]) -> None:
        self.pairs = [(direct[k], stack[k]) for k in ("LakeBucketName", "ResultsBucketName")] + [function]

    def __call__(self, value: Any) -> Any:
        text = json.dumps(value)
        for direct, stack in self.pairs:
            text = text.replace(direct, stack)
        return json.loads(text)


def recorded_outputs(home: Path) -> dict[str, str]:
    document = json.loads((home / "deployment.json").read_text(encoding="utf-8"))
    return {o["OutputKey"]: o["OutputValue"] for o in document["Outputs"]}


def test_local_up_creates_what_the_template_creates_with_the_same_names_settings_and_definitions(
    cdk_stack: CdkDeployment, cli: Cli
) -> None:
    direct, stack = cli.client, cdk_stack.client
    ours, theirs = recorded_outputs(cli.home), cdk_stack.outputs
    ours_function = direct("lambda").get_function_configuration(FunctionName="meterpipe-write-batch")
    their_function = stack("lambda").get_function_configuration(FunctionName=theirs["WriteBatchFunctionName"])
    rename = Rename(ours, theirs, (ours_function["FunctionArn"], their_function["FunctionArn"]))

    # The outputs the CLI reads: the same deployment, but for the names CloudFormation chose.
    assert rename({key: ours[key] for key in OUTPUT_KEYS.values()}) == {
        key: theirs[key] for key in OUTPUT_KEYS.values()
    }
    # Tables: names, keys, billing.
    for name in (ours["RollupTableName"], ours["LedgerTableName"]):
        mine, made = (c("dynamodb").describe_table(TableName=name)["Table"] for c in (direct, stack))
        for key in ("KeySchema", "AttributeDefinitions"):
            assert sorted(mine[key], key=json.dumps) == sorted(made[key], key=json.dumps), (name, key)
        assert mine["BillingModeSummary"]["BillingMode"] == made["BillingModeSummary"]["BillingMode"]
    # The Glue catalog, table by table (the lake's location renamed).
    database = theirs["GlueDatabaseName"]
    mine_tables = {t["Name"]: t for t in direct("glue").get_tables(DatabaseName=database)["TableList"]}
    made_tables = {t["Name"]: t for t in stack("glue").get_tables(DatabaseName=database)["TableList"]}
    assert sorted(mine_tables) == sorted(made_tables)
    for name, table in mine_tables.items():
        for key in ("PartitionKeys", "Parameters", "TableType"):
            assert rename(table.get(key)) == made_tables[name].get(key), (name, key)
        for key in ("Columns", "Location", "InputFormat", "OutputFormat", "SerdeInfo"):
            assert rename(table["StorageDescriptor"].get(key)) == made_tables[name]["StorageDescriptor"].get(
                key
            ), (name, key)
    # The workgroup's enforced result location.
    workgroup = theirs["AthenaWorkGroupName"]
    mine_group, made_group = (
        c("athena").get_work_group(WorkGroup=workgroup)["WorkGroup"]["Configuration"] for c in (direct, stack)
    )
    assert rename(mine_group["ResultConfiguration"]) == made_group["ResultConfiguration"]
    for key in (
        "EnforceWorkGroupConfiguration",
        "BytesScannedCutoffPerQuery",
        "PublishCloudWatchMetricsEnabled",
    ):
        assert mine_group.get(key) == made_group.get(key), key
    # The state machines: the same names, types and definitions.
    for key in ("DailyRollupStateMachineArn", "BackfillStateMachineArn", "LedgerSyncStateMachineArn"):
        arn = theirs[key]
        mine_machine = direct("stepfunctions").describe_state_machine(stateMachineArn=arn)
        made_machine = stack("stepfunctions").describe_state_machine(stateMachineArn=arn)
        assert (mine_machine["name"], mine_machine["type"]) == (made_machine["name"], made_machine["type"])
        assert rename(json.loads(mine_machine["definition"])) == json.loads(made_machine["definition"]), key
    # The function: handler, runtime, sizing, and the environment the handlers read.
    for key in ("Handler", "Runtime", "Timeout", "MemorySize"):
        assert ours_function[key] == their_function[key], key
    for variable in (ROLLUP_TABLE_NAME_ENV, LEDGER_TABLE_NAME_ENV):
        assert (
            ours_function["Environment"]["Variables"][variable]
            == their_function["Environment"]["Variables"][variable]
        )
    # The schedule: the same name, expression, zone, state and target input.
    mine_schedule, made_schedule = (
        c("scheduler").get_schedule(Name=theirs["ScheduleName"]) for c in (direct, stack)
    )
    for key in ("ScheduleExpression", "ScheduleExpressionTimezone", "State", "FlexibleTimeWindow"):
        assert mine_schedule[key] == made_schedule[key], key
    for key in ("Arn", "Input", "RetryPolicy"):
        assert mine_schedule["Target"][key] == made_schedule["Target"][key], key
    # The rule that starts ledger_sync: the same pattern.
    (made_rule,) = [
        r for r in stack("events").list_rules()["Rules"] if "LedgerSync" in r["Name"] or "ledger" in r["Name"]
    ]
    mine_rule = direct("events").describe_rule(Name="meterpipe-ledger-sync")
    assert json.loads(mine_rule["EventPattern"]) == json.loads(made_rule["EventPattern"])
