"""The local equivalent of ``cdk deploy``: the project's resources on localcloud, through boto3,
from the same specs CDK uses (``meterpipe.tables``; the state machine definitions of
``meterpipe.definitions`` once they exist). Idempotent: every step creates what is missing,
updates what differs and leaves the rest alone, and says which it did.

One function per resource, each returning a ``Step``:

- ``ensure_buckets``: the lake and results buckets;
- ``ensure_glue_catalog``: the Glue database and both lake tables;
- ``ensure_rollup_table``: the DynamoDB rollup table;
- ``ensure_role``: the IAM role the function and state machines name;
- ``ensure_write_batch``: the ``write_batch`` Lambda, pointed at the ``handlers/`` source folder
  (localcloud's ``hot-reload`` code location), so edits apply to the next invocation;
- ``ensure_state_machines`` and ``ensure_schedule``: skipped, with a note, while localcloud does
  not serve Step Functions (issue 5 part B) or the definitions are not there yet.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from meterpipe.aws import Clients
from meterpipe.errors import MeterpipeError
from meterpipe.tables import GLUE_DATABASE, LAKE_TABLES, ROLLUPS, KeyValueTable

Action = Literal["created", "updated", "unchanged", "skipped"]
_T = TypeVar("_T")
REPO_ROOT = Path(__file__).resolve().parents[2]
HOT_RELOAD_BUCKET = "hot-reload"  # localcloud's code location for a local source folder

_ASSUME_ROLE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {
                "Service": ["lambda.amazonaws.com", "states.amazonaws.com", "scheduler.amazonaws.com"]
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
    """The deployment's names and settings (CDK takes the same values from its context)."""

    lake_bucket: str = "meterpipe-lake"
    results_bucket: str = "meterpipe-athena-results"
    database: str = GLUE_DATABASE
    rollups: KeyValueTable = ROLLUPS
    role_name: str = "meterpipe-local"
    function_name: str = "meterpipe-write-batch"
    handler: str = "handlers.write_batch.handler"
    handlers_dir: Path = REPO_ROOT / "handlers"
    function_timeout: int = 120
    function_memory: int = 512
    daily_state_machine: str = "meterpipe-daily-rollup"
    backfill_state_machine: str = "meterpipe-backfill"
    schedule_name: str = "meterpipe-daily-rollup"
    schedule_expression: str = "cron(30 3 * * ? *)"
    schedule_timezone: str = "UTC"
    extra_environment: dict[str, str] = field(default_factory=dict)

    def function_environment(self) -> dict[str, str]:
        return {
            "ROLLUP_TABLE_NAME": self.rollups.name,
            "POWERTOOLS_SERVICE_NAME": "meterpipe",
            "POWERTOOLS_METRICS_NAMESPACE": "MeterPipe",
            # No X-Ray daemon offline: Powertools' Tracer stays quiet instead of failing to send.
            "POWERTOOLS_TRACE_DISABLED": "true",
            **self.extra_environment,
        }


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def ensure_buckets(clients: Clients, spec: LocalDeployment) -> Step:
    s3 = clients.client("s3")
    created = []
    for bucket in (spec.lake_bucket, spec.results_bucket):
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as error:
            if _code(error) not in ("404", "NoSuchBucket", "NotFound"):
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


def ensure_rollup_table(clients: Clients, spec: LocalDeployment) -> Step:
    ddb = clients.client("dynamodb")
    try:
        described = ddb.describe_table(TableName=spec.rollups.name)["Table"]
    except ddb.exceptions.ResourceNotFoundException:
        ddb.create_table(**spec.rollups.create_table_params())
        ddb.get_waiter("table_exists").wait(TableName=spec.rollups.name, WaiterConfig={"Delay": 1})
        return Step("DynamoDB table", "created", spec.rollups.name)
    if described["KeySchema"] != spec.rollups.key_schema():
        return Step(
            "DynamoDB table",
            "skipped",
            f"{spec.rollups.name} exists with another key schema; "
            "delete it to recreate (its items would be lost)",
        )
    return Step("DynamoDB table", "unchanged", spec.rollups.name)


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


def step_functions_served(clients: Clients) -> bool:
    try:
        clients.client("stepfunctions").list_state_machines(maxResults=1)
    except ClientError as error:
        if _code(error) == "ServiceNotYetServed":
            return False
        raise
    return True


def _definitions() -> Any | None:
    try:
        return importlib.import_module("meterpipe.definitions")
    except ModuleNotFoundError:
        return None


def ensure_state_machines(clients: Clients, spec: LocalDeployment, *, role_arn: str) -> Step:
    if not step_functions_served(clients):
        return Step(
            "State machines", "skipped", "localcloud does not serve Step Functions yet (issue 5 part B)"
        )
    if _definitions() is None:
        return Step(
            "State machines", "skipped", "meterpipe.definitions (the rendered definitions) is not there yet"
        )
    return Step(
        "State machines",
        "skipped",
        "rendering through meterpipe.definitions is wired when Step Functions is served (issue 5 part B)",
    )


def ensure_schedule(clients: Clients, spec: LocalDeployment, *, role_arn: str) -> Step:
    if not step_functions_served(clients):
        return Step(
            "Schedule",
            "skipped",
            f"{spec.schedule_name} targets the daily state machine: "
            "waits for Step Functions (issue 5 part B)",
        )
    return Step("Schedule", "skipped", "created with the state machines in issue 5 part B")


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
        _guarded("DynamoDB table", lambda: ensure_rollup_table(clients, spec)),
    ]
    role_step, role_arn = _guarded("IAM role", lambda: ensure_role(clients, spec))
    steps.append(role_step)
    steps.append(
        _guarded(
            "Lambda write_batch", lambda: ensure_write_batch(clients, spec, home=home, role_arn=role_arn)
        )
    )
    steps.append(_guarded("State machines", lambda: ensure_state_machines(clients, spec, role_arn=role_arn)))
    steps.append(_guarded("Schedule", lambda: ensure_schedule(clients, spec, role_arn=role_arn)))
    return steps
