"""Connecting to a deployment: the clients of a target and what it deployed.

What a deployment is (names, ARNs and its deploy-time settings: the time zone of "yesterday", the
backfill concurrency and its limit, the validation tolerances) comes from the deployment itself,
never from a checkout: on AWS from the stack's outputs (CloudFormation DescribeStacks; the stack
is ``MeterPipe`` unless ``--stack`` says otherwise); locally from the record ``meterpipe local up``
writes into the home folder in the same form (``meterpipe.local.record``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botocore.exceptions import ClientError

from meterpipe.aws import Clients, Target, clients_for, error_code
from meterpipe.definitions import (
    DEFAULT_BACKFILL_MAX_CONCURRENCY,
    DEFAULT_BACKFILL_MAX_CONCURRENCY_LIMIT,
    DEFAULT_MAX_BAD_READINGS,
    DEFAULT_MAX_KWH_PER_READING,
    DEFAULT_MIN_COMPLETENESS_PERCENT,
    DEFAULT_READINGS_PER_SENSOR_PER_DAY,
    DEFAULT_SCHEDULE_GROUP,
    DEFAULT_STACK_NAME,
    DEFAULT_TIMEZONE,
)
from meterpipe.errors import MeterpipeError
from meterpipe.tables import LEDGER

# Deployment field -> the stack output publishing it (infra/stack.py). Every one is required: a
# stack without one is not a meterpipe stack, or one deployed by an older version (deploy again).
OUTPUT_KEYS: Final = {
    "lake_bucket": "LakeBucketName",
    "results_bucket": "ResultsBucketName",
    "rollup_table": "RollupTableName",
    "ledger_table": "LedgerTableName",
    "daily_rollup_arn": "DailyRollupStateMachineArn",
    "backfill_arn": "BackfillStateMachineArn",
    "schedule_name": "ScheduleName",
    "schedule_group": "ScheduleGroupName",
    "timezone": "TimeZone",
    "backfill_max_concurrency": "BackfillMaxConcurrency",
    "backfill_max_concurrency_limit": "BackfillMaxConcurrencyLimit",
    "max_bad_readings": "MaxBadReadings",
    "max_kwh_per_reading": "MaxKwhPerReading",
    "readings_per_sensor_per_day": "ReadingsPerSensorPerDay",
    "min_completeness_percent": "MinCompletenessPercent",
}
_WHOLE_NUMBERS: Final = (
    "backfill_max_concurrency",
    "backfill_max_concurrency_limit",
    "max_bad_readings",
    "max_kwh_per_reading",
    "readings_per_sensor_per_day",
)


class StackNotFound(MeterpipeError):
    """The AWS target has no deployed stack of that name, or it lacks the outputs we need."""


class NotDeployed(MeterpipeError):
    """The outputs of a deployment are missing or unreadable."""


@dataclass(frozen=True)
class Deployment:
    """Where everything of one deployment is, and the settings it was deployed with. The defaults
    are the package's (what a deployment gets unless configured otherwise), for tests that build
    one by hand; a deployment read by :func:`connect` always has its own values."""

    lake_bucket: str
    results_bucket: str
    rollup_table: str
    daily_rollup_arn: str
    backfill_arn: str
    schedule_name: str | None
    schedule_group: str = DEFAULT_SCHEDULE_GROUP
    # The zone whose calendar day "yesterday" is for a scheduled run (the definitions' TimeZone).
    timezone: str = DEFAULT_TIMEZONE
    stack_name: str | None = None
    ledger_table: str = LEDGER.name  # the per-day ledger (docs/ledger.md)
    backfill_max_concurrency: int = DEFAULT_BACKFILL_MAX_CONCURRENCY
    # The most days a backfill may run at once: the backfill definition refuses more.
    backfill_max_concurrency_limit: int = DEFAULT_BACKFILL_MAX_CONCURRENCY_LIMIT
    max_bad_readings: int = DEFAULT_MAX_BAD_READINGS
    max_kwh_per_reading: int = DEFAULT_MAX_KWH_PER_READING
    readings_per_sensor_per_day: int = DEFAULT_READINGS_PER_SENSOR_PER_DAY
    min_completeness_percent: int | float = DEFAULT_MIN_COMPLETENESS_PERCENT

    @property
    def daily_rollup_name(self) -> str:
        return self.daily_rollup_arn.rsplit(":", 1)[-1]

    @property
    def backfill_name(self) -> str:
        return self.backfill_arn.rsplit(":", 1)[-1]

    def execution_arn(self, state_machine_arn: str, name: str) -> str:
        """The ARN an execution of ``state_machine_arn`` named ``name`` has."""
        return state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name

    @classmethod
    def from_outputs(
        cls, outputs: Mapping[str, str], *, where: str, stack_name: str | None = None
    ) -> Deployment:
        """The deployment a stack's outputs (``OutputKey -> OutputValue``) describe; raises
        :class:`NotDeployed` naming every output missing or unreadable (``where``: whose outputs)."""
        missing = [key for key in OUTPUT_KEYS.values() if key not in outputs]
        if missing:
            raise NotDeployed(
                f"{where} has no output(s) {', '.join(missing)}: is it a meterpipe deployment, fully "
                "deployed by this version?"
            )
        values: dict[str, Any] = {field: outputs[key] for field, key in OUTPUT_KEYS.items()}
        problems = []
        for field in (*_WHOLE_NUMBERS, "min_completeness_percent"):
            text = str(values[field])
            try:
                values[field] = int(text) if field in _WHOLE_NUMBERS or text.isdigit() else float(text)
            except ValueError:
                problems.append(f"{OUTPUT_KEYS[field]} is not a number: {text!r}")
        try:
            ZoneInfo(values["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"TimeZone is not an IANA time zone name: {values['timezone']!r}")
        if problems:
            raise NotDeployed(f"{where} has unreadable output(s): " + "; ".join(problems))
        return cls(**values, stack_name=stack_name)

    def to_outputs(self) -> dict[str, str]:
        """The outputs describing this deployment, as a stack publishes them (every value a string)."""
        return {key: str(getattr(self, field)) for field, key in OUTPUT_KEYS.items()}


def local_deployment(clients: Clients) -> Deployment:
    from meterpipe.local import record  # noqa: PLC0415 - local targets only

    assert clients.target.home is not None
    return record.read(clients.target.home)


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
    try:
        return Deployment.from_outputs(outputs, where=f"stack {stack_name!r}", stack_name=stack_name)
    except NotDeployed as error:
        raise StackNotFound(str(error)) from None


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
            from meterpipe.local import clock  # noqa: PLC0415 - local targets only

            moment = clock.now(self.clients.endpoint_url)
            if moment is not None:
                return moment
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
        """The zone whose "yesterday" a scheduled run processes: the deployment's (the zone its
        definitions resolve dates in, published with the deployment)."""
        try:
            return ZoneInfo(self.deployment.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


def connect(target: Target) -> Pipeline:
    """Clients for ``target`` and its deployment's names; raises a MeterpipeError saying what is
    wrong (localcloud not running, no stack, no credentials, ...)."""
    clients = clients_for(target)
    if target.kind == "local":
        return Pipeline(clients, local_deployment(clients))
    return Pipeline(clients, aws_deployment(clients, target.stack or DEFAULT_STACK_NAME))
