"""Connecting to a deployment: the clients of a target and the names and ARNs of its resources.

Locally the names are the local deploy's (``meterpipe.local.deploy.LocalDeployment``, which
follows the CDK app's). On AWS they come from the deployed stack's outputs (CloudFormation
DescribeStacks); the stack's name is cdk.json's ``meterpipe:stackName`` unless ``--stack`` says
otherwise, and the schedule is found among the stack's resources.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botocore.exceptions import ClientError

from meterpipe.aws import Clients, Target, clients_for, error_code
from meterpipe.definitions import DEFAULT_STACK_NAME, DEFAULT_TIMEZONE, REPO_ROOT
from meterpipe.errors import MeterpipeError
from meterpipe.tables import LEDGER

DEFAULT_SCHEDULE_GROUP = "default"
CDK_JSON = REPO_ROOT / "cdk.json"

# The stack's outputs the CLI reads (infra/stack.py).
_OUTPUTS = {
    "lake_bucket": "LakeBucketName",
    "results_bucket": "ResultsBucketName",
    "rollup_table": "RollupTableName",
    "ledger_table": "LedgerTableName",
    "daily_rollup_arn": "DailyRollupStateMachineArn",
    "backfill_arn": "BackfillStateMachineArn",
}


class StackNotFound(MeterpipeError):
    """The AWS target has no deployed stack of that name, or it lacks the outputs we need."""


@dataclass(frozen=True)
class Deployment:
    """Where everything of one deployment is."""

    lake_bucket: str
    results_bucket: str
    rollup_table: str
    daily_rollup_arn: str
    backfill_arn: str
    schedule_name: str | None
    schedule_group: str = DEFAULT_SCHEDULE_GROUP
    # The configured zone of "yesterday" for scheduled runs, used when the schedule cannot be read.
    timezone: str = DEFAULT_TIMEZONE
    stack_name: str | None = None
    ledger_table: str = LEDGER.name  # the per-day ledger (docs/ledger.md)

    @property
    def daily_rollup_name(self) -> str:
        return self.daily_rollup_arn.rsplit(":", 1)[-1]

    @property
    def backfill_name(self) -> str:
        return self.backfill_arn.rsplit(":", 1)[-1]

    def execution_arn(self, state_machine_arn: str, name: str) -> str:
        """The ARN an execution of ``state_machine_arn`` named ``name`` has."""
        return state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name


def cdk_context() -> dict[str, Any]:
    """cdk.json's context (empty when meterpipe runs outside a checkout)."""
    try:
        context = json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {})
    except (OSError, ValueError):
        return {}
    return context if isinstance(context, dict) else {}


def default_stack_name() -> str:
    return str(cdk_context().get("meterpipe:stackName") or DEFAULT_STACK_NAME)


def local_deployment(clients: Clients) -> Deployment:
    from meterpipe.local.deploy import LocalDeployment  # noqa: PLC0415 - local targets only

    spec = LocalDeployment()
    account = str(clients.client("sts").get_caller_identity()["Account"])
    prefix = f"arn:aws:states:{clients.region}:{account}:stateMachine:"
    return Deployment(
        lake_bucket=spec.lake_bucket,
        results_bucket=spec.results_bucket,
        rollup_table=spec.rollups.name,
        ledger_table=spec.ledger.name,
        daily_rollup_arn=prefix + spec.daily_rollup,
        backfill_arn=prefix + spec.backfill,
        schedule_name=spec.schedule_name,
        timezone=spec.timezone,
    )


def aws_deployment(clients: Clients, stack_name: str) -> Deployment:
    cloudformation = clients.client("cloudformation")
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if error_code(error) == "ValidationError" and "does not exist" in str(error):
            raise StackNotFound(
                f"no stack {stack_name!r} in {clients.region}: deploy it with `make deploy`, "
                "or name the deployed one with --stack"
            ) from None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = [key for key in _OUTPUTS.values() if key not in outputs]
    if missing:
        raise StackNotFound(
            f"stack {stack_name!r} has no output(s) {', '.join(missing)}: is it a meterpipe stack, "
            "fully deployed?"
        )
    schedule = None
    paginator = cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack_name):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceType"] == "AWS::Scheduler::Schedule":
                schedule = resource.get("PhysicalResourceId")
    return Deployment(
        **{field: outputs[key] for field, key in _OUTPUTS.items()},
        schedule_name=schedule,
        timezone=str(cdk_context().get("meterpipe:timezone") or DEFAULT_TIMEZONE),
        stack_name=stack_name,
    )


class Pipeline:
    """One target's clients and deployment; what every operation takes."""

    def __init__(self, clients: Clients, deployment: Deployment) -> None:
        self.clients = clients
        self.deployment = deployment

    @property
    def target(self) -> Target:
        return self.clients.target

    @property
    def is_local(self) -> bool:
        return self.target.kind == "local"

    def client(self, service: str) -> Any:
        return self.clients.client(service)

    @property
    def sfn(self) -> Any:
        return self.client("stepfunctions")

    def now(self) -> dt.datetime:
        """The target's time: localcloud's clock (which can be moved), or this machine's."""
        if self.is_local and self.clients.endpoint_url:
            from localcloud import control  # noqa: PLC0415 - localcloud's control route

            try:
                text = str(control.get_clock(self.clients.endpoint_url)["now"])
                return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except (OSError, ValueError, KeyError):
                pass
        return dt.datetime.now(dt.UTC)

    @cached_property
    def schedule(self) -> dict[str, Any] | None:
        """The deployed schedule (GetSchedule), or None when there is none."""
        name = self.deployment.schedule_name
        if not name:
            return None
        scheduler = self.client("scheduler")
        try:
            found: dict[str, Any] = scheduler.get_schedule(
                Name=name, GroupName=self.deployment.schedule_group
            )
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return None
            raise
        return found

    @cached_property
    def timezone(self) -> ZoneInfo:
        """The zone whose "yesterday" a scheduled run processes: the schedule's own zone."""
        name = self.deployment.timezone
        try:
            schedule = self.schedule
        except ClientError:
            schedule = None
        if schedule and schedule.get("ScheduleExpressionTimezone"):
            name = str(schedule["ScheduleExpressionTimezone"])
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


def connect(target: Target) -> Pipeline:
    """Clients for ``target`` and its deployment's names; raises a MeterpipeError saying what is
    wrong (localcloud not running, no stack, no credentials, ...)."""
    clients = clients_for(target)
    if target.kind == "local":
        return Pipeline(clients, local_deployment(clients))
    return Pipeline(clients, aws_deployment(clients, target.stack or default_stack_name()))
