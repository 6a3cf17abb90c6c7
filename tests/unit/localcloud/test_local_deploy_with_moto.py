"""The deploy steps that wait for part B (Athena workgroup, state machines, schedule), checked
against moto's APIs so they are known to work the day localcloud serves them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from localcloud.events.patterns import compile_pattern
from meterpipe.aws import Clients, Target
from meterpipe.definitions import ATHENA_RESULTS_PREFIX, ledger_sync_event_pattern
from meterpipe.local.deploy import (
    LocalDeployment,
    ensure_ledger_sync_rule,
    ensure_schedule,
    ensure_state_machines,
    ensure_workgroup,
)

ROLE = "arn:aws:iam::123456789012:role/meterpipe-local"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:meterpipe-write-batch"


@pytest.fixture
def clients() -> Iterator[Clients]:
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        yield Clients(target=Target.aws(region="us-east-1"), region="us-east-1", _session=session)


def test_the_workgroup_enforces_the_results_location_and_is_made_once(clients: Clients) -> None:
    spec = LocalDeployment()
    assert ensure_workgroup(clients, spec).action == "created"
    assert ensure_workgroup(clients, spec).action == "unchanged"
    group = clients.client("athena").get_work_group(WorkGroup="meterpipe")["WorkGroup"]
    location = group["Configuration"]["ResultConfiguration"]["OutputLocation"]
    assert location == f"s3://{spec.results_bucket}/{ATHENA_RESULTS_PREFIX}"


def test_the_state_machines_are_rendered_created_then_left_alone(clients: Clients) -> None:
    spec = LocalDeployment()
    first = ensure_state_machines(clients, spec, role_arn=ROLE, function_arn=FUNCTION)
    assert first.action == "created"
    assert ensure_state_machines(clients, spec, role_arn=ROLE, function_arn=FUNCTION).action == "unchanged"
    sfn = clients.client("stepfunctions")
    machines = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    assert set(machines) == {"meterpipe-daily-rollup", "meterpipe-backfill", "meterpipe-ledger-sync"}
    kinds = {name: sfn.describe_state_machine(stateMachineArn=arn)["type"] for name, arn in machines.items()}
    assert kinds["meterpipe-ledger-sync"] == "EXPRESS" and kinds["meterpipe-daily-rollup"] == "STANDARD"
    daily = sfn.describe_state_machine(stateMachineArn=machines["meterpipe-daily-rollup"])["definition"]
    assert FUNCTION in daily and "${" not in daily
    backfill = sfn.describe_state_machine(stateMachineArn=machines["meterpipe-backfill"])["definition"]
    assert machines["meterpipe-daily-rollup"] in backfill
    changed = ensure_state_machines(
        clients, LocalDeployment(max_concurrency=5), role_arn=ROLE, function_arn=FUNCTION
    )
    assert changed.action == "updated" and "meterpipe-daily-rollup updated" in changed.detail


def test_the_schedule_starts_daily_rollup_with_the_scheduled_time(clients: Clients) -> None:
    spec = LocalDeployment()
    assert ensure_schedule(clients, spec, role_arn=ROLE).action == "created"
    assert ensure_schedule(clients, spec, role_arn=ROLE).action == "unchanged"
    schedule = clients.client("scheduler").get_schedule(Name="meterpipe-daily-rollup")
    assert schedule["ScheduleExpression"] == "cron(30 3 * * ? *)"
    assert schedule["Target"]["Arn"].endswith(":stateMachine:meterpipe-daily-rollup")
    assert json.loads(schedule["Target"]["Input"]) == {"scheduled_time": "<aws.scheduler.scheduled-time>"}
    assert (
        ensure_schedule(clients, LocalDeployment(timezone="Europe/London"), role_arn=ROLE).action == "updated"
    )


def test_the_ledger_sync_rule_starts_ledger_sync_on_daily_rollups_status_changes(clients: Clients) -> None:
    spec = LocalDeployment()
    assert ensure_ledger_sync_rule(clients, spec, role_arn=ROLE).action == "created"
    assert ensure_ledger_sync_rule(clients, spec, role_arn=ROLE).action == "unchanged"
    events = clients.client("events")
    rule = events.describe_rule(Name="meterpipe-ledger-sync")
    daily = "arn:aws:states:us-east-1:123456789012:stateMachine:meterpipe-daily-rollup"
    assert json.loads(rule["EventPattern"]) == ledger_sync_event_pattern(daily)
    assert rule["State"] == "ENABLED"
    (target,) = events.list_targets_by_rule(Rule="meterpipe-ledger-sync")["Targets"]
    assert target["Arn"] == "arn:aws:states:us-east-1:123456789012:stateMachine:meterpipe-ledger-sync"
    assert target["RoleArn"] == ROLE


def test_the_ledger_sync_pattern_matches_ends_and_redrives_of_daily_rollup_only() -> None:
    # localcloud's EventBridge matcher (moto's TestEventPattern knows no $or).
    daily = "arn:aws:states:us-east-1:123456789012:stateMachine:meterpipe-daily-rollup"
    pattern = compile_pattern(json.dumps(ledger_sync_event_pattern(daily)))

    def matches(status: str, redrives: int, machine: str = daily) -> bool:
        event = {
            "source": "aws.states",
            "detail-type": "Step Functions Execution Status Change",
            "detail": {"stateMachineArn": machine, "status": status, "redriveCount": redrives},
        }
        return pattern.matches_json(json.dumps(event))

    assert [matches(s, 0) for s in ("FAILED", "TIMED_OUT", "ABORTED", "SUCCEEDED", "RUNNING")] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert matches("RUNNING", 1)
    assert not matches("FAILED", 0, daily.replace("daily-rollup", "backfill"))
