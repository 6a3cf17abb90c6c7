"""Every operation localcloud serves itself (Step Functions, Athena, Lambda, Scheduler), sent by the
AWS CLI to a localcloud started for the purpose: the AWS CLI's own request shapes, one call each.

``test_aws_cli_operations.py`` runs it in the suite wherever the AWS CLI is installed (about 30 s of
`aws` start-ups). By hand::

    .venv/bin/python tests/e2e/aws_cli_operations.py

It prints one line per call and exits non-zero if localcloud refused any.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from localcloud import launcher

ROLE = "arn:aws:iam::000000000000:role/aws-cli-operations"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
WAIT = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 300, "End": True}}})
FAIL = json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}})
MAP = json.dumps(
    {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "Label": "m",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
)


class AwsCli:
    """Runs `aws --endpoint-url <localcloud> ...` and records whether each call was accepted."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",  # StartSyncExecution's sync- host prefix
        }
        self.env.pop("AWS_PROFILE", None)
        self.calls: list[tuple[str, bool, str]] = []

    def __call__(self, operation: str, *args: str, record: bool = True) -> Any:
        done = subprocess.run(
            ["aws", "--endpoint-url", self.endpoint, "--output", "json", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )
        if record:
            self.calls.append((operation, done.returncode == 0, (done.stderr or done.stdout).strip()[:200]))
        if done.returncode != 0 or not done.stdout.strip():
            return None
        try:
            return json.loads(done.stdout)
        except ValueError:
            return done.stdout

    def finished(self, execution_arn: str) -> str:
        for _ in range(300):
            described = self(
                "", "stepfunctions", "describe-execution", "--execution-arn", execution_arn, record=False
            )
            if described["status"] != "RUNNING":
                return str(described["status"])
            time.sleep(0.1)
        raise TimeoutError(execution_arn)

    def task_token(self, execution_arn: str) -> str:
        for _ in range(300):
            history = self(
                "", "stepfunctions", "get-execution-history", "--execution-arn", execution_arn, record=False
            )
            for event in history["events"]:
                if event["type"] == "TaskSubmitted":
                    output = json.loads(event["taskSubmittedEventDetails"]["output"])
                    return str(output["Payload"]["seen"]["token"])
            time.sleep(0.1)
        raise TimeoutError(execution_arn)


def lambda_operations(aws: AwsCli, scratch: Path) -> str:
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("fn.py", "def handler(event, context):\n    return {'seen': event}\n")
    (scratch / "fn.zip").write_bytes(package.getvalue())
    code = f"fileb://{scratch / 'fn.zip'}"
    created = aws(
        "CreateFunction", "lambda", "create-function", "--function-name", "echo", "--runtime", "python3.12",
        "--role", ROLE, "--handler", "fn.handler", "--zip-file", code, "--timeout", "10",
    )  # fmt: skip
    aws(
        "UpdateFunctionConfiguration", "lambda", "update-function-configuration", "--function-name", "echo",
        "--environment", "Variables={A=1}", "--memory-size", "256",
    )  # fmt: skip
    aws("UpdateFunctionCode", "lambda", "update-function-code", "--function-name", "echo", "--zip-file", code)
    aws(
        "PutFunctionConcurrency", "lambda", "put-function-concurrency", "--function-name", "echo",
        "--reserved-concurrent-executions", "3",
    )  # fmt: skip
    aws("GetFunction", "lambda", "get-function", "--function-name", "echo")
    aws("ListFunctions", "lambda", "list-functions", "--max-items", "10")
    out = scratch / "out.json"
    aws(
        "Invoke (RequestResponse)",
        "lambda",
        "invoke",
        "--function-name",
        "echo",
        "--payload",
        '{"a": 1}',
        str(out),
    )
    if json.loads(out.read_text()) != {"seen": {"a": 1}}:
        aws.calls.append(("Invoke returns the function's result", False, out.read_text()))
    aws(
        "Invoke (Event)", "lambda", "invoke", "--function-name", "echo", "--invocation-type", "Event",
        "--payload", "{}", str(out),
    )  # fmt: skip
    return str(created["FunctionArn"])


def step_functions_operations(aws: AwsCli, function_arn: str) -> None:
    def machine(name: str, definition: str, *extra: str) -> str:
        created = aws(
            f"CreateStateMachine ({name})", "stepfunctions", "create-state-machine", "--name", name,
            "--definition", definition, "--role-arn", ROLE, *extra,
        )  # fmt: skip
        return str(created["stateMachineArn"])

    def start(name: str, arn: str, *extra: str) -> str:
        started = aws(
            f"StartExecution ({name})", "stepfunctions", "start-execution", "--state-machine-arn", arn, *extra
        )
        return str(started["executionArn"])

    sfn = ("stepfunctions",)
    passing = machine("pass", PASS)
    aws("ValidateStateMachineDefinition", *sfn, "validate-state-machine-definition", "--definition", PASS)
    aws("DescribeStateMachine", *sfn, "describe-state-machine", "--state-machine-arn", passing)
    aws(
        "UpdateStateMachine", *sfn, "update-state-machine", "--state-machine-arn", passing,
        "--definition", PASS, "--role-arn", ROLE,
    )  # fmt: skip
    aws("ListStateMachines", *sfn, "list-state-machines", "--max-results", "5")
    first = start("pass", passing, "--name", "n1", "--input", "{}")
    aws.finished(first)
    aws("DescribeExecution", *sfn, "describe-execution", "--execution-arn", first)
    aws(
        "ListExecutions (status)", *sfn, "list-executions", "--state-machine-arn", passing, "--status-filter",
        "SUCCEEDED", "--max-results", "1",
    )  # fmt: skip
    aws(
        "ListExecutions (redrive)", *sfn, "list-executions", "--state-machine-arn", passing,
        "--redrive-filter", "NOT_REDRIVEN",
    )  # fmt: skip
    aws(
        "GetExecutionHistory", *sfn, "get-execution-history", "--execution-arn", first, "--reverse-order",
        "--max-results", "2", "--no-include-execution-data",
    )  # fmt: skip
    aws(
        "DescribeStateMachineForExecution",
        *sfn,
        "describe-state-machine-for-execution",
        "--execution-arn",
        first,
    )
    waiting = start("wait", machine("wait", WAIT))
    aws("StopExecution", *sfn, "stop-execution", "--execution-arn", waiting, "--error", "E", "--cause", "c")
    failing = start("fail", machine("fail", FAIL))
    aws.finished(failing)
    aws("RedriveExecution", *sfn, "redrive-execution", "--execution-arn", failing)
    express = machine("express", PASS, "--type", "EXPRESS")
    aws("StartSyncExecution", *sfn, "start-sync-execution", "--state-machine-arn", express, "--input", "{}")
    mapped = start("map", machine("map", MAP), "--input", '{"items": [1, 2, 3]}')
    aws.finished(mapped)
    runs = aws("ListMapRuns", *sfn, "list-map-runs", "--execution-arn", mapped)
    map_run = runs["mapRuns"][0]["mapRunArn"]
    aws("DescribeMapRun", *sfn, "describe-map-run", "--map-run-arn", map_run)
    aws(
        "UpdateMapRun", *sfn, "update-map-run", "--map-run-arn", map_run, "--max-concurrency", "5",
        "--tolerated-failure-percentage", "10",
    )  # fmt: skip
    aws("ListExecutions (map run)", *sfn, "list-executions", "--map-run-arn", map_run)
    callback = machine(
        "callback",
        json.dumps(
            {
                "StartAt": "Ask",
                "States": {
                    "Ask": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                        "HeartbeatSeconds": 60,
                        "Parameters": {"FunctionName": function_arn, "Payload": {"token.$": "$$.Task.Token"}},
                        "End": True,
                    }
                },
            }
        ),
    )
    answered = start("callback", callback)
    token = aws.task_token(answered)
    # "--task-token=..." in one word: a token may begin with "-", which the CLI would take for an option.
    aws("SendTaskHeartbeat", *sfn, "send-task-heartbeat", f"--task-token={token}")
    aws("SendTaskSuccess", *sfn, "send-task-success", f"--task-token={token}", "--task-output", '{"ok": 1}')
    refused = start("callback, failed", callback)
    aws(
        "SendTaskFailure", *sfn, "send-task-failure", f"--task-token={aws.task_token(refused)}",
        "--error", "E", "--cause", "c",
    )  # fmt: skip
    if (aws.finished(answered), aws.finished(refused)) != ("SUCCEEDED", "FAILED"):
        aws.calls.append(("task tokens end their executions", False, "unexpected status"))
    aws("DeleteStateMachine", *sfn, "delete-state-machine", "--state-machine-arn", passing)


def athena_operations(aws: AwsCli) -> None:
    aws("S3 CreateBucket", "s3api", "create-bucket", "--bucket", "results")
    aws(
        "CreateWorkGroup", "athena", "create-work-group", "--name", "wg", "--configuration",
        "ResultConfiguration={OutputLocation=s3://results/q/}",
    )  # fmt: skip
    aws("GetWorkGroup", "athena", "get-work-group", "--work-group", "wg")
    aws("ListWorkGroups", "athena", "list-work-groups")
    aws("UpdateWorkGroup", "athena", "update-work-group", "--work-group", "wg", "--description", "d")
    started = aws(
        "StartQueryExecution", "athena", "start-query-execution", "--query-string", "SELECT ? AS x",
        "--work-group", "wg", "--execution-parameters", "'a'",
    )  # fmt: skip
    query = str(started["QueryExecutionId"])
    for _ in range(300):
        got = aws("GetQueryExecution", "athena", "get-query-execution", "--query-execution-id", query)
        if got["QueryExecution"]["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        time.sleep(0.1)
    results = aws(
        "GetQueryResults", "athena", "get-query-results", "--query-execution-id", query, "--max-results", "10"
    )
    if results["ResultSet"]["Rows"][1]["Data"][0].get("VarCharValue") != "a":
        aws.calls.append(("GetQueryResults returns the bound parameter", False, json.dumps(results)[:200]))
    aws("BatchGetQueryExecution", "athena", "batch-get-query-execution", "--query-execution-ids", query)
    aws("ListQueryExecutions", "athena", "list-query-executions", "--work-group", "wg")
    aws("StopQueryExecution", "athena", "stop-query-execution", "--query-execution-id", query)
    aws("DeleteWorkGroup", "athena", "delete-work-group", "--work-group", "wg", "--recursive-delete-option")


def scheduler_operations(aws: AwsCli, function_arn: str) -> None:
    target = json.dumps(
        {"Arn": function_arn, "RoleArn": ROLE, "Input": '{"t": "<aws.scheduler.scheduled-time>"}'}
    )
    aws("CreateScheduleGroup", "scheduler", "create-schedule-group", "--name", "g")
    aws("GetScheduleGroup", "scheduler", "get-schedule-group", "--name", "g")
    aws("ListScheduleGroups", "scheduler", "list-schedule-groups")
    aws(
        "CreateSchedule", "scheduler", "create-schedule", "--name", "s", "--group-name", "g",
        "--schedule-expression", "cron(30 3 * * ? *)", "--schedule-expression-timezone", "Europe/London",
        "--flexible-time-window", '{"Mode": "OFF"}', "--target", target,
    )  # fmt: skip
    aws("GetSchedule", "scheduler", "get-schedule", "--name", "s", "--group-name", "g")
    aws(
        "UpdateSchedule", "scheduler", "update-schedule", "--name", "s", "--group-name", "g",
        "--schedule-expression", "rate(1 day)", "--flexible-time-window",
        '{"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 5}', "--target", target, "--state", "DISABLED",
    )  # fmt: skip
    aws("ListSchedules", "scheduler", "list-schedules", "--group-name", "g")
    aws("DeleteSchedule", "scheduler", "delete-schedule", "--name", "s", "--group-name", "g")
    aws("DeleteScheduleGroup", "scheduler", "delete-schedule-group", "--name", "g")


def send_every_operation() -> list[tuple[str, bool, str]]:
    """Start a localcloud in a scratch home, send every operation through the AWS CLI, stop it:
    ``(operation, accepted, message)`` per call, in order."""
    home = Path(tempfile.mkdtemp(prefix="aws-cli-operations-"))
    server = launcher.start(home, port=0)
    aws = AwsCli(server.endpoint)
    try:
        function_arn = lambda_operations(aws, home)
        step_functions_operations(aws, function_arn)
        athena_operations(aws)
        scheduler_operations(aws, function_arn)
        aws("DeleteFunction", "lambda", "delete-function", "--function-name", "echo")
    finally:
        launcher.stop(home)
        shutil.rmtree(home, ignore_errors=True)
    return aws.calls


def main() -> int:
    if shutil.which("aws") is None:
        print("the AWS CLI is not installed", file=sys.stderr)
        return 2
    calls = send_every_operation()
    refused = [call for call in calls if not call[1]]
    for operation, accepted, message in calls:
        print(f"{'ok ' if accepted else 'REFUSED'} {operation}" + ("" if accepted else f": {message}"))
    print(f"{len(calls)} calls by the AWS CLI, {len(refused)} refused")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
