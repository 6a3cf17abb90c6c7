"""Executions survive restarts: after a clean stop the running ones are redriven at the next start
and carry on; a SIGKILL leaves them FAILED with a cause saying localcloud restarted, and a redrive
goes on from their saved progress. Athena's query executions and their results are kept too."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from localcloud import control, launcher

pytestmark = pytest.mark.slow
ROLE = "arn:aws:iam::000000000000:role/localcloud-tests"

# Count, wait, count: a redrive that re-ran the first Pass would add it to the history twice.
DEFINITION = json.dumps(
    {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "Result": "first done", "ResultPath": "$.first", "Next": "Hold"},
            "Hold": {"Type": "Wait", "Seconds": 600, "Next": "Last"},
            "Last": {"Type": "Pass", "Result": "last done", "ResultPath": "$.last", "End": True},
        },
    }
)


def sfn_client(endpoint: str, service: str = "stepfunctions") -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def wait_for(sfn: Any, arn: str, status: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] == status or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


def entered(sfn: Any, arn: str) -> list[str]:
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def test_executions_survive_a_clean_restart_and_a_sigkill_then_redrive(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = launcher.start(home, port=0)
    try:
        sfn = sfn_client(first.endpoint)
        machine = sfn.create_state_machine(name="durable", definition=DEFINITION, roleArn=ROLE)[
            "stateMachineArn"
        ]
        done = sfn.start_execution(stateMachineArn=machine, name="done", input='{"n": 1}')["executionArn"]
        control.advance_clock(first.endpoint, 601)  # "done" passes its Wait...
        assert wait_for(sfn, done, "SUCCEEDED")["status"] == "SUCCEEDED"
        paused = sfn.start_execution(stateMachineArn=machine, name="paused", input='{"n": 2}')["executionArn"]
        athena = sfn_client(first.endpoint, "athena")
        sfn_client(first.endpoint, "s3").create_bucket(Bucket="kept-results")
        query = athena.start_query_execution(
            QueryString="SELECT 'kept' AS word, CAST(NULL AS varchar) AS nothing",
            ResultConfiguration={"OutputLocation": "s3://kept-results/q/"},
        )["QueryExecutionId"]
        time.sleep(0.3)  # ...and "paused" is in its Wait when localcloud stops
    finally:
        launcher.stop(home)

    second = launcher.start(home, port=0)
    try:
        sfn = sfn_client(second.endpoint)
        assert sfn.describe_state_machine(stateMachineArn=machine)["name"] == "durable"
        before = sfn.describe_execution(executionArn=done)
        assert before["status"] == "SUCCEEDED" and json.loads(before["output"])["last"] == "last done"
        carried_on = sfn.describe_execution(executionArn=paused)  # redriven at the start
        assert (carried_on["status"], carried_on["redriveCount"]) == ("RUNNING", 1)
        types = [e["type"] for e in sfn.get_execution_history(executionArn=paused, maxResults=1000)["events"]]
        assert types[-3:] == ["ExecutionFailed", "ExecutionRedriven", "WaitStateEntered"]
        newest = sfn.get_execution_history(executionArn=paused, reverseOrder=True, maxResults=3)["events"]
        assert "localcloud was stopped" in newest[2]["executionFailedEventDetails"]["cause"]
        athena = sfn_client(second.endpoint, "athena")
        assert (
            athena.get_query_execution(QueryExecutionId=query)["QueryExecution"]["Status"]["State"]
            == "SUCCEEDED"
        )
        rows = athena.get_query_results(QueryExecutionId=query)["ResultSet"]["Rows"]  # read back from S3
        assert rows == [
            {"Data": [{"VarCharValue": "word"}, {"VarCharValue": "nothing"}]},
            {"Data": [{"VarCharValue": "kept"}, {}]},
        ]
        control.advance_clock(second.endpoint, 601)
        assert wait_for(sfn, paused, "SUCCEEDED")["status"] == "SUCCEEDED"
        # The state in progress at the stop runs again from its start; the ones before it do not.
        assert entered(sfn, paused) == ["First", "Hold", "Hold", "Last"]

        killed = sfn.start_execution(stateMachineArn=machine, name="killed", input='{"n": 3}')["executionArn"]
        time.sleep(1.5)  # past a checkpoint: "killed" is in its Wait
        launcher.stop(home, kill=True)
    except BaseException:
        launcher.stop(home)
        raise

    third = launcher.start(home, port=0)
    try:
        sfn = sfn_client(third.endpoint)
        assert control.health(third.endpoint)["previous_run"] == "crash"
        failed = sfn.describe_execution(executionArn=killed)
        assert failed["status"] == "FAILED" and failed["error"] == "States.Runtime"
        assert "localcloud restarted" in failed["cause"] and failed["redriveStatus"] == "REDRIVABLE"
        history = sfn.get_execution_history(executionArn=killed, reverseOrder=True, maxResults=1)["events"]
        assert history[0]["type"] == "ExecutionFailed"
        assert (
            sfn.list_executions(stateMachineArn=machine, statusFilter="FAILED")["executions"][0]["name"]
            == "killed"
        )

        sfn.redrive_execution(executionArn=killed)
        control.advance_clock(third.endpoint, 601)
        finished = wait_for(sfn, killed, "SUCCEEDED")
        assert finished["status"] == "SUCCEEDED" and finished["redriveCount"] == 1
        assert json.loads(finished["output"]) == {"n": 3, "first": "first done", "last": "last done"}
        assert entered(sfn, killed) == ["First", "Hold", "Hold", "Last"]  # First was not run again
    finally:
        control.reset_clock(third.endpoint)
        launcher.stop(home)
