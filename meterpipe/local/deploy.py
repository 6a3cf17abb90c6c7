"""The local equivalent of ``cdk deploy``: the project's resources on localcloud, through boto3,
from the same specs CDK uses (``meterpipe.tables``, and ``meterpipe.definitions`` for the state
machines). Idempotent: every step creates what is missing, updates what differs and leaves the
rest alone, and says which it did.

One function per resource, each returning a ``Step``:

- ``ensure_buckets``: the lake and results buckets;
- ``ensure_glue_catalog``: the Glue database and both lake tables;
- ``ensure_tables``: the DynamoDB rollup table and the per-day ledger;
- ``ensure_role``: the IAM role the function and state machines name;
- ``ensure_write_batch``: the ``write_batch`` Lambda, pointed at the ``handlers/`` source folder
  (localcloud's ``hot-reload`` code location), so edits apply to the next invocation;
- ``ensure_workgroup``: the Athena workgroup with its enforced result location;
- ``ensure_state_machines``: daily_rollup, backfill and ledger_sync, rendered by ``render_state_machines``;
- ``ensure_ledger_sync_rule``: the EventBridge rule starting ledger_sync on daily_rollup's status changes;
- ``ensure_schedule``: the daily schedule starting daily_rollup with the scheduled time;

and last the record of what was deployed, in the form of a stack's outputs (``meterpipe.local.record``),
which the CLI reads as it reads a deployed stack's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from meterpipe.aws import Clients, error_code
from meterpipe.definitions import (
    ATHENA_RESULTS_ENCRYPTION,
    ATHENA_RESULTS_PREFIX,
    BACKFILL,
    DAILY_ROLLUP,
    DEFAULT_ATHENA_BYTES_SCANNED_CUTOFF,
    DEFAULT_BACKFILL_MAX_CONCURRENCY,
    DEFAULT_BACKFILL_MAX_CONCURRENCY_LIMIT,
    DEFAULT_LAMBDA_MEMORY_MB,
    DEFAULT_LAMBDA_TIMEOUT_SECONDS,
    DEFAULT_MAP_MAX_CONCURRENCY,
    DEFAULT_MAX_BAD_READINGS,
    DEFAULT_MAX_ITEMS_PER_BATCH,
    DEFAULT_MAX_KWH_PER_READING,
    DEFAULT_MIN_COMPLETENESS_PERCENT,
    DEFAULT_NAME_PREFIX,
    DEFAULT_READINGS_PER_SENSOR_PER_DAY,
    DEFAULT_SCHEDULE,
    DEFAULT_SCHEDULE_GROUP,
    DEFAULT_TIMEZONE,
    EXPRESS_STATE_MACHINES,
    HANDLERS_DIR,
    LEDGER_SYNC,
    WRITE_BATCH_HANDLER,
    DeploymentValues,
    ledger_sync_event_pattern,
    render_state_machines,
    state_machine_name,
    write_batch_environment,
)
from meterpipe.errors import MeterpipeError
from meterpipe.local import record
from meterpipe.ops.pipeline import Deployment
from meterpipe.tables import GLUE_DATABASE, LAKE_TABLES, LEDGER, ROLLUPS, KeyValueTable

Action = Literal["created", "updated", "unchanged", "skipped"]
_T = TypeVar("_T")
HOT_RELOAD_BUCKET = "hot-reload"  # localcloud's code location for a local source folder

_ASSUME_ROLE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {
                "Service": [
                    "lambda.amazonaws.com",
                    "states.amazonaws.com",
                    "scheduler.amazonaws.com",
                    "events.amazonaws.com",
                ]
            },
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass(frozen=True)
class Step:
    resource: str
    action: Action
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"resource": self.resource, "action": self.action, "detail": self.detail}


@dataclass(frozen=True)
class LocalDeployment:
    """The deployment's names and settings. Defaults are the CDK app's (meterpipe.definitions'
    DEFAULT_*): the same name prefix, state machine names, results prefixes, schedule and Lambda
    sizing."""

    name_prefix: str = DEFAULT_NAME_PREFIX
    lake_bucket: str = "meterpipe-lake"
    results_bucket: str = "meterpipe-results"
    database: str = GLUE_DATABASE
    rollups: KeyValueTable = ROLLUPS
    ledger: KeyValueTable = LEDGER
    role_name: str = "meterpipe-local"
    function_name: str = "meterpipe-write-batch"
    handler: str = WRITE_BATCH_HANDLER
    handlers_dir: Path = HANDLERS_DIR
    function_timeout: int = DEFAULT_LAMBDA_TIMEOUT_SECONDS
    function_memory: int = DEFAULT_LAMBDA_MEMORY_MB
    athena_bytes_scanned_cutoff: int = DEFAULT_ATHENA_BYTES_SCANNED_CUTOFF
    schedule_expression: str = DEFAULT_SCHEDULE
    timezone: str = DEFAULT_TIMEZONE
    schedule_enabled: bool = True
    max_items_per_batch: int = DEFAULT_MAX_ITEMS_PER_BATCH
    max_concurrency: int = DEFAULT_MAP_MAX_CONCURRENCY
    backfill_max_concurrency: int = DEFAULT_BACKFILL_MAX_CONCURRENCY
    backfill_max_concurrency_limit: int = DEFAULT_BACKFILL_MAX_CONCURRENCY_LIMIT
    max_bad_readings: int = DEFAULT_MAX_BAD_READINGS
    max_kwh_per_reading: int = DEFAULT_MAX_KWH_PER_READING
    readings_per_sensor_per_day: int = DEFAULT_READINGS_PER_SENSOR_PER_DAY
    min_completeness_percent: int | float = DEFAULT_MIN_COMPLETENESS_PERCENT
    extra_environment: dict[str, str] = field(default_factory=dict)

    @property
    def workgroup(self) -> str:
        return self.name_prefix

    @property
    def daily_rollup(self) -> str:
        return state_machine_name(DAILY_ROLLUP, self.name_prefix)

    @property
    def backfill(self) -> str:
        return state_machine_name(BACKFILL, self.name_prefix)

    @property
    def ledger_sync(self) -> str:
        return state_machine_name(LEDGER_SYNC, self.name_prefix)

    @property
    def schedule_name(self) -> str:
        return self.daily_rollup

    @property
    def ledger_sync_rule(self) -> str:
        return self.ledger_sync

    def deployment(self, *, region: str, account: str) -> Deployment:
        """What this deployment is, as the CLI reads it (the stack outputs' form)."""
        prefix = f"arn:aws:states:{region}:{account}:stateMachine:"
        return Deployment(
            lake_bucket=self.lake_bucket,
            results_bucket=self.results_bucket,
            rollup_table=self.rollups.name,
            ledger_table=self.ledger.name,
            daily_rollup_arn=prefix + self.daily_rollup,
            backfill_arn=prefix + self.backfill,
            schedule_name=self.schedule_name,
            schedule_group=DEFAULT_SCHEDULE_GROUP,
            timezone=self.timezone,
            backfill_max_concurrency=self.backfill_max_concurrency,
            backfill_max_concurrency_limit=self.backfill_max_concurrency_limit,
            max_bad_readings=self.max_bad_readings,
            max_kwh_per_reading=self.max_kwh_per_reading,
            readings_per_sensor_per_day=self.readings_per_sensor_per_day,
            min_completeness_percent=self.min_completeness_percent,
        )

    def function_environment(self) -> dict[str, str]:
        return {
            **write_batch_environment(self.rollups.name, self.ledger.name),
            # No X-Ray daemon offline: Powertools' Tracer stays quiet instead of failing to send.
            "POWERTOOLS_TRACE_DISABLED": "true",
            **self.extra_environment,
        }


def ensure_buckets(clients: Clients, spec: LocalDeployment) -> Step:
    s3 = clients.client("s3")
    created = []
    for bucket in (spec.lake_bucket, spec.results_bucket):
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as error:
            if error_code(error) not in ("404", "NoSuchBucket", "NotFound"):
                raise
            s3.create_bucket(Bucket=bucket)
            created.append(bucket)
    names = f"{spec.lake_bucket}, {spec.results_bucket}"
    return Step("S3 buckets", "created" if created else "unchanged", names)


def ensure_glue_catalog(clients: Clients, spec: LocalDeployment) -> Step:
    glue = clients.client("glue")
    actions: list[str] = []
    try:
        glue.get_database(Name=spec.database)
    except glue.exceptions.EntityNotFoundException:
        glue.create_database(DatabaseInput={"Name": spec.database})
        actions.append("database created")
    for table in LAKE_TABLES:
        wanted = table.glue_table_input(spec.lake_bucket)
        try:
            current = glue.get_table(DatabaseName=spec.database, Name=table.name)["Table"]
        except glue.exceptions.EntityNotFoundException:
            glue.create_table(DatabaseName=spec.database, TableInput=wanted)
            actions.append(f"{table.name} created")
            continue
        if _table_differs(current, wanted):
            glue.update_table(DatabaseName=spec.database, TableInput=wanted)
            actions.append(f"{table.name} updated")
    action: Action = "unchanged"
    if actions:
        action = "created" if all("created" in a for a in actions) else "updated"
    detail = f"{spec.database}: {', '.join(t.name for t in LAKE_TABLES)}"
    return Step("Glue catalog", action, detail + (f" ({'; '.join(actions)})" if actions else ""))


def _table_differs(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    keys = ("TableType", "Parameters", "PartitionKeys")
    if any(current.get(key) != wanted.get(key) for key in keys):
        return True
    have, want = current.get("StorageDescriptor", {}), wanted["StorageDescriptor"]
    return any(have.get(key) != value for key, value in want.items())


def ensure_tables(clients: Clients, spec: LocalDeployment) -> Step:
    """The rollup table and the ledger, as CDK makes them (on-demand, the specs' keys)."""
    ddb = clients.client("dynamodb")
    created, kept, skipped = [], [], []
    for table in (spec.rollups, spec.ledger):
        try:
            described = ddb.describe_table(TableName=table.name)["Table"]
        except ddb.exceptions.ResourceNotFoundException:
            ddb.create_table(**table.create_table_params())
            ddb.get_waiter("table_exists").wait(TableName=table.name, WaiterConfig={"Delay": 1})
            created.append(table.name)
            continue
        if described["KeySchema"] != table.key_schema():
            skipped.append(
                f"{table.name} exists with another key schema; "
                "delete it to recreate (its items would be lost)"
            )
        else:
            kept.append(table.name)
    if skipped:
        return Step("DynamoDB tables", "skipped", "; ".join(skipped))
    names = ", ".join(t.name for t in (spec.rollups, spec.ledger))
    return Step("DynamoDB tables", "created" if created else "unchanged", names)


def ensure_role(clients: Clients, spec: LocalDeployment) -> tuple[Step, str]:
    iam = clients.client("iam")
    try:
        arn = iam.get_role(RoleName=spec.role_name)["Role"]["Arn"]
        return Step("IAM role", "unchanged", spec.role_name), str(arn)
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=spec.role_name, AssumeRolePolicyDocument=json.dumps(_ASSUME_ROLE))
        return Step("IAM role", "created", spec.role_name), str(role["Role"]["Arn"])


def function_source(spec: LocalDeployment, home: Path) -> Path:
    """A code root holding only the handlers package (a symlink to the repository's), so the
    function imports ``handlers.write_batch`` as it does from the Lambda asset, and edits apply."""
    root = home / "functions" / spec.function_name
    root.mkdir(parents=True, exist_ok=True)
    link = root / spec.handlers_dir.name
    if link.is_symlink() and link.resolve() != spec.handlers_dir.resolve():
        link.unlink()
    if not link.exists():
        link.symlink_to(spec.handlers_dir.resolve(), target_is_directory=True)
    return root


def ensure_write_batch(clients: Clients, spec: LocalDeployment, *, home: Path, role_arn: str) -> Step:
    lam = clients.client("lambda")
    source = str(function_source(spec, home))
    settings: dict[str, Any] = {
        "Runtime": "python3.12",
        "Role": role_arn,
        "Handler": spec.handler,
        "Timeout": spec.function_timeout,
        "MemorySize": spec.function_memory,
        "Environment": {"Variables": spec.function_environment()},
        "Description": "meterpipe: writes a batch of rollup rows into DynamoDB",
    }
    code = {"S3Bucket": HOT_RELOAD_BUCKET, "S3Key": source}
    try:
        current = lam.get_function(FunctionName=spec.function_name)
    except lam.exceptions.ResourceNotFoundException:
        lam.create_function(FunctionName=spec.function_name, Code=code, **settings)
        return Step("Lambda write_batch", "created", f"{spec.function_name} -> {spec.handlers_dir}")
    config = current["Configuration"]
    changed = [
        key
        for key in ("Runtime", "Role", "Handler", "Timeout", "MemorySize", "Description")
        if config.get(key) != settings[key]
    ]
    if config.get("Environment", {}).get("Variables", {}) != settings["Environment"]["Variables"]:
        changed.append("Environment")
    if changed:
        lam.update_function_configuration(FunctionName=spec.function_name, **settings)
    if current["Code"].get("Location") != source:
        lam.update_function_code(FunctionName=spec.function_name, **code)
        changed.append("Code")
    if changed:
        return Step("Lambda write_batch", "updated", f"{spec.function_name}: {', '.join(changed)}")
    return Step("Lambda write_batch", "unchanged", spec.function_name)


def _account(clients: Clients) -> str:
    return str(clients.client("sts").get_caller_identity()["Account"])


def ensure_workgroup(clients: Clients, spec: LocalDeployment) -> Step:
    """The Athena workgroup as CDK makes it: enforced result location (SSE-S3), bytes-scanned cutoff."""
    athena = clients.client("athena")
    output = f"s3://{spec.results_bucket}/{ATHENA_RESULTS_PREFIX}"
    results = {
        "OutputLocation": output,
        "EncryptionConfiguration": {"EncryptionOption": ATHENA_RESULTS_ENCRYPTION},
    }
    settings = {
        "EnforceWorkGroupConfiguration": True,
        "BytesScannedCutoffPerQuery": spec.athena_bytes_scanned_cutoff,
        "PublishCloudWatchMetricsEnabled": True,
    }
    existing = {group["Name"] for group in athena.list_work_groups()["WorkGroups"]}
    if spec.workgroup not in existing:
        athena.create_work_group(
            Name=spec.workgroup, Configuration={"ResultConfiguration": results, **settings}
        )
        return Step("Athena workgroup", "created", f"{spec.workgroup} -> {output}")
    current = athena.get_work_group(WorkGroup=spec.workgroup)["WorkGroup"].get("Configuration", {})
    differs = current.get("ResultConfiguration") != results or any(
        current.get(key) != value for key, value in settings.items()
    )
    if differs:
        athena.update_work_group(
            WorkGroup=spec.workgroup,
            ConfigurationUpdates={"ResultConfigurationUpdates": results, **settings},
        )
        return Step("Athena workgroup", "updated", f"{spec.workgroup} -> {output}")
    return Step("Athena workgroup", "unchanged", spec.workgroup)


def ensure_state_machines(
    clients: Clients, spec: LocalDeployment, *, role_arn: str, function_arn: str
) -> Step:
    """Both state machines, rendered by meterpipe.definitions from the same templates as CDK."""
    sfn = clients.client("stepfunctions")
    arn_prefix = f"arn:aws:states:{clients.region}:{_account(clients)}:stateMachine:"
    values = DeploymentValues(
        write_batch_function_arn=function_arn,
        daily_rollup_state_machine_arn=arn_prefix + spec.daily_rollup,
        results_bucket=spec.results_bucket,
        lake_bucket=spec.lake_bucket,
        ledger_table=spec.ledger.name,
        athena_workgroup=spec.workgroup,
        glue_database=spec.database,
        max_items_per_batch=spec.max_items_per_batch,
        max_concurrency=spec.max_concurrency,
        backfill_max_concurrency=spec.backfill_max_concurrency,
        backfill_max_concurrency_limit=spec.backfill_max_concurrency_limit,
        timezone=spec.timezone,
        max_kwh_per_reading=spec.max_kwh_per_reading,
        max_bad_readings=spec.max_bad_readings,
        readings_per_sensor_per_day=spec.readings_per_sensor_per_day,
        min_completeness_percent=spec.min_completeness_percent,
        write_batch_timeout_seconds=spec.function_timeout,
    )
    rendered = render_state_machines(values)
    done: list[str] = []
    for template, definition in rendered.items():
        name = state_machine_name(template, spec.name_prefix)
        try:
            current = sfn.describe_state_machine(stateMachineArn=arn_prefix + name)
        except sfn.exceptions.StateMachineDoesNotExist:
            kind = "EXPRESS" if template in EXPRESS_STATE_MACHINES else "STANDARD"
            sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn, type=kind)
            done.append(f"{name} created")
            continue
        if json.loads(current["definition"]) != json.loads(definition) or current["roleArn"] != role_arn:
            sfn.update_state_machine(
                stateMachineArn=arn_prefix + name, definition=definition, roleArn=role_arn
            )
            done.append(f"{name} updated")
    names = f"{spec.daily_rollup}, {spec.backfill}, {spec.ledger_sync}"
    if not done:
        return Step("State machines", "unchanged", names)
    return Step(
        "State machines", "created" if all("created" in d for d in done) else "updated", "; ".join(done)
    )


def ensure_ledger_sync_rule(clients: Clients, spec: LocalDeployment, *, role_arn: str) -> Step:
    """The EventBridge rule (as CDK makes it) that starts ledger_sync on daily_rollup's status changes."""
    events = clients.client("events")
    arn_prefix = f"arn:aws:states:{clients.region}:{_account(clients)}:stateMachine:"
    pattern = json.dumps(ledger_sync_event_pattern(arn_prefix + spec.daily_rollup))
    target = {"Id": "ledger-sync", "Arn": arn_prefix + spec.ledger_sync, "RoleArn": role_arn}
    description = "Starts meterpipe ledger_sync on daily_rollup's failures, stops and redrives"
    try:
        current = events.describe_rule(Name=spec.ledger_sync_rule)
    except events.exceptions.ResourceNotFoundException:
        current = None
    targets = events.list_targets_by_rule(Rule=spec.ledger_sync_rule)["Targets"] if current else []
    same_rule = current is not None and json.loads(current.get("EventPattern", "{}")) == json.loads(pattern)
    same_targets = [{k: t.get(k) for k in target} for t in targets] == [target]
    if same_rule and same_targets and current is not None and current.get("State") == "ENABLED":
        return Step("EventBridge rule", "unchanged", spec.ledger_sync_rule)
    events.put_rule(
        Name=spec.ledger_sync_rule, EventPattern=pattern, State="ENABLED", Description=description
    )
    events.put_targets(Rule=spec.ledger_sync_rule, Targets=[target])
    action: Action = "created" if current is None else "updated"
    return Step("EventBridge rule", action, f"{spec.ledger_sync_rule} -> {spec.ledger_sync}")


def ensure_schedule(clients: Clients, spec: LocalDeployment, *, role_arn: str) -> Step:
    """The daily schedule, as CDK makes it: daily_rollup with the scheduled time as its input."""
    scheduler = clients.client("scheduler")
    target = {
        "Arn": f"arn:aws:states:{clients.region}:{_account(clients)}:stateMachine:{spec.daily_rollup}",
        "RoleArn": role_arn,
        # As CDK renders it (compact), so both deployments hold the same text.
        "Input": json.dumps({"scheduled_time": "<aws.scheduler.scheduled-time>"}, separators=(",", ":")),
        "RetryPolicy": {"MaximumEventAgeInSeconds": 6 * 3600, "MaximumRetryAttempts": 10},
    }
    wanted = {
        "ScheduleExpression": spec.schedule_expression,
        "ScheduleExpressionTimezone": spec.timezone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED" if spec.schedule_enabled else "DISABLED",
        "Target": target,
        "Description": "Starts meterpipe daily_rollup for the previous calendar day",
    }
    try:
        current = scheduler.get_schedule(Name=spec.schedule_name)
    except scheduler.exceptions.ResourceNotFoundException:
        scheduler.create_schedule(Name=spec.schedule_name, **wanted)
        return Step(
            "Schedule", "created", f"{spec.schedule_name}: {spec.schedule_expression} {spec.timezone}"
        )
    if any(current.get(key) != value for key, value in wanted.items()):
        scheduler.update_schedule(Name=spec.schedule_name, **wanted)
        return Step(
            "Schedule", "updated", f"{spec.schedule_name}: {spec.schedule_expression} {spec.timezone}"
        )
    return Step("Schedule", "unchanged", spec.schedule_name)


def function_arn_of(clients: Clients, spec: LocalDeployment) -> str:
    configuration = clients.client("lambda").get_function_configuration(FunctionName=spec.function_name)
    return str(configuration["FunctionArn"])


class DeployError(MeterpipeError):
    """A deploy step failed; the message names the step and AWS's error."""


def _guarded(name: str, step: Callable[[], _T]) -> _T:
    try:
        return step()
    except ClientError as error:
        details = error.response.get("Error", {})
        message = f"{details.get('Code')}: {details.get('Message')}"
        raise DeployError(f"local deploy failed at {name}: {message}") from error
    except BotoCoreError as error:
        raise DeployError(f"local deploy failed at {name}: {error}") from error


def deploy(clients: Clients, *, home: Path, spec: LocalDeployment | None = None) -> list[Step]:
    """Deploy everything, in dependency order; returns what each step did. A failing step raises
    DeployError naming it (the steps before it stay done: running deploy again resumes)."""
    spec = spec or LocalDeployment()
    steps = [
        _guarded("S3 buckets", lambda: ensure_buckets(clients, spec)),
        _guarded("Glue catalog", lambda: ensure_glue_catalog(clients, spec)),
        _guarded("DynamoDB tables", lambda: ensure_tables(clients, spec)),
    ]
    role_step, role_arn = _guarded("IAM role", lambda: ensure_role(clients, spec))
    steps.append(role_step)
    steps.append(
        _guarded(
            "Lambda write_batch", lambda: ensure_write_batch(clients, spec, home=home, role_arn=role_arn)
        )
    )
    function_arn = _guarded("Lambda write_batch", lambda: function_arn_of(clients, spec))
    steps.append(_guarded("Athena workgroup", lambda: ensure_workgroup(clients, spec)))
    steps.append(
        _guarded(
            "State machines",
            lambda: ensure_state_machines(clients, spec, role_arn=role_arn, function_arn=function_arn),
        )
    )
    steps.append(
        _guarded("EventBridge rule", lambda: ensure_ledger_sync_rule(clients, spec, role_arn=role_arn))
    )
    steps.append(_guarded("Schedule", lambda: ensure_schedule(clients, spec, role_arn=role_arn)))
    assert clients.region is not None
    deployed = spec.deployment(region=clients.region, account=_account(clients))
    action = record.write(home, deployed)
    steps.append(Step("Deployment record", action, str(record.path(home))))
    return steps
