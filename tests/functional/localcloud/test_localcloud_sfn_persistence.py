"""The restart rules (``localcloud.stepfunctions.restart.RULES``), row by row, on a real server
stopped cleanly and then killed with SIGKILL. Each row is one kind of interrupted work: what
localcloud shows after the restart, and, once redriven and finished, the history AWS's redrive
would show ("continues the failed execution from the unsuccessful step ... doesn't rerun these
steps", RedriveExecution in the API Reference; "Redriving Map Runs" in the Developer Guide).

No sleeps: every step polls for the state it needs, and ``control.checkpoint`` writes the running
executions before the kill (instead of waiting past the periodic checkpoint)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from endpoint_support import endpoint_client

from localcloud import control, launcher
from localcloud.stepfunctions.restart import CRASH_CAUSE, RESTART_ERROR, RULES, STOP_CAUSE

pytestmark = pytest.mark.slow
ROLE = "arn:aws:iam::000000000000:role/localcloud-tests"
HOLD = 600  # every interrupted execution waits this long: it is in its Wait at the restart
WAIT = {"Type": "Wait", "Seconds": HOLD}


def machine(states: dict[str, Any], start: str) -> dict[str, Any]:
    return {"StartAt": start, "States": states}


SLEEPER = machine({"Hold": {**WAIT, "End": True}}, "Hold")
NOOP = machine({"Done": {"Type": "Succeed"}}, "Done")
MACHINES: dict[str, dict[str, Any]] = {
    # Count, wait, count: a redrive that re-ran the first Pass would add it to the history twice.
    "sequence": machine(
        {
            "First": {"Type": "Pass", "Result": "first done", "ResultPath": "$.first", "Next": "Hold"},
            "Hold": {**WAIT, "Next": "Last"},
            "Last": {"Type": "Pass", "Result": "last done", "ResultPath": "$.last", "End": True},
        },
        "First",
    ),
    "parallel": machine(
        {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    machine({"Quick": {"Type": "Pass", "End": True}}, "Quick"),
                    machine({"Slow": {**WAIT, "End": True}}, "Slow"),
                ],
                "End": True,
            }
        },
        "Both",
    ),
    "callback": machine(
        {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
                "Parameters": {
                    "StateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:noop",
                    "Input": {"token.$": "$$.Task.Token"},
                },
                "End": True,
            }
        },
        "Ask",
    ),
    "fanout": machine(
        {
            "Fan": {
                "Type": "Map",
                "ItemsPath": "$.xs",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Hold",
                    "States": {"Hold": {**WAIT, "End": True}},
                },
                "End": True,
            }
        },
        "Fan",
    ),
    "parent": machine(
        {
            "Child": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {
                    "StateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:sleeper",
                    "Name.$": "$.child",
                    "Input": {"n": 1},
                },
                "End": True,
            }
        },
        "Child",
    ),
    "sleeper": SLEEPER,
    "noop": NOOP,
}


def until(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` when it never does."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return events


def types(sfn: Any, arn: str) -> list[str]:
    return [e["type"] for e in history(sfn, arn)]


def entered(sfn: Any, arn: str) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"] for e in history(sfn, arn) if "stateEnteredEventDetails" in e
    ]


def waits(sfn: Any, arn: str) -> int:
    return types(sfn, arn).count("WaitStateEntered")


def map_children(sfn: Any, arn: str) -> list[dict[str, Any]]:
    runs = sfn.list_map_runs(executionArn=arn)["mapRuns"]
    if not runs:
        return []
    found: list[dict[str, Any]] = sfn.list_executions(mapRunArn=runs[0]["mapRunArn"])["executions"]
    return found


def children_of(sfn: Any, machine_name: str, account_arn: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = sfn.list_executions(stateMachineArn=f"{account_arn}:{machine_name}")[
        "executions"
    ]
    return found


@dataclass(frozen=True)
class Row:
    """One kind of interrupted work (a row of ``restart.RULES``)."""

    rule: str  # the row of restart.RULES it checks (its ``interrupted``)
    machine: str
    input: dict[str, Any]
    # Polled before the restart: the execution is where the interruption should find it.
    in_flight: Callable[[Any, str], bool]
    # Polled after the redrive, before the clock moves past the Waits: it is waiting again.
    waiting_again: Callable[[Any, str], bool]
    # Once finished: what the history shows (AWS's redrive: what ran again, what did not).
    finished: Callable[[Any, str], None]


def in_wait(sfn: Any, arn: str) -> bool:
    return waits(sfn, arn) >= 1


def children_waiting(count: int, redriven: bool) -> Callable[[Any, str], bool]:
    def check(sfn: Any, arn: str) -> bool:
        children = [c for c in map_children(sfn, arn) if c["status"] == "RUNNING"]
        return len(children) == count and all(
            waits(sfn, c["executionArn"]) == (2 if redriven else 1) for c in children
        )

    return check


def finished_sequence(sfn: Any, arn: str) -> None:
    # The Wait ran again from its start; First (before it) did not.
    assert entered(sfn, arn) == ["First", "Hold", "Hold", "Last"]
    output = json.loads(sfn.describe_execution(executionArn=arn)["output"])
    assert output == {"row": "sequence", "first": "first done", "last": "last done"}


def finished_parallel(sfn: Any, arn: str) -> None:
    # "Redrives only the iterations and branches that failed or aborted": Quick is not run again.
    assert entered(sfn, arn).count("Quick") == 1 and entered(sfn, arn).count("Slow") == 2


def finished_callback(sfn: Any, arn: str) -> None:
    # The callback task ran again: a second token went out (a second child execution).
    assert types(sfn, arn).count("TaskSubmitted") == 2


def finished_fanout(sfn: Any, arn: str) -> None:
    assert "MapRunRedriven" in types(sfn, arn)
    children = map_children(sfn, arn)
    assert sorted(c["status"] for c in children) == ["SUCCEEDED", "SUCCEEDED"]
    for child in children:  # the same children, redriven under their ARNs (Redriving Map Runs)
        described = sfn.describe_execution(executionArn=child["executionArn"])
        assert described["redriveCount"] == 1


def finished_parent(sfn: Any, arn: str) -> None:
    child = sfn.describe_execution(
        executionArn=json.loads(sfn.describe_execution(executionArn=arn)["output"])["ExecutionArn"]
    )
    assert (child["status"], child["redriveCount"]) == ("SUCCEEDED", 1)  # redriven, not started anew


def named_child_waiting(redriven: bool) -> Callable[[Any, str], bool]:
    def check(sfn: Any, arn: str) -> bool:
        name = json.loads(sfn.describe_execution(executionArn=arn)["input"])["child"]
        child = f"{arn.split(':execution:', maxsplit=1)[0]}:execution:sleeper:{name}"
        try:
            described = sfn.describe_execution(executionArn=child)
        except sfn.exceptions.ExecutionDoesNotExist:
            return False
        return described["status"] == "RUNNING" and waits(sfn, child) == (2 if redriven else 1)

    return check


def callback_waiting(count: int) -> Callable[[Any, str], bool]:
    def check(sfn: Any, arn: str) -> bool:
        return types(sfn, arn).count("TaskSubmitted") == count

    return check


REDRIVEN_WAIT = children_waiting(2, redriven=True)
ROWS = [
    Row(RULES[0].interrupted, "sequence", {}, in_wait, lambda s, a: waits(s, a) == 2, finished_sequence),
    Row(RULES[2].interrupted, "parallel", {}, in_wait, lambda s, a: waits(s, a) == 2, finished_parallel),
    Row(RULES[1].interrupted, "callback", {}, callback_waiting(1), callback_waiting(2), finished_callback),
    Row(RULES[3].interrupted, "fanout", {"xs": [1, 2]}, children_waiting(2, redriven=False), REDRIVEN_WAIT,
        finished_fanout),
    Row(RULES[4].interrupted, "parent", {}, named_child_waiting(redriven=False),
        named_child_waiting(redriven=True), finished_parent),
]  # fmt: skip


def start_rows(sfn: Any, machines: dict[str, str], tag: str) -> dict[str, str]:
    arns = {}
    for row in ROWS:
        payload = {"row": row.machine, **row.input}
        if row.machine == "parent":
            payload["child"] = f"kid-{tag}"
        arns[row.machine] = sfn.start_execution(
            stateMachineArn=machines[row.machine], name=f"{row.machine}-{tag}", input=json.dumps(payload)
        )["executionArn"]
    for row in ROWS:
        until(f"{row.machine} in flight", lambda row=row: row.in_flight(sfn, arns[row.machine]))
    return arns


def answer_callbacks(sfn: Any, account_arn: str) -> None:
    """SendTaskSuccess to the newest token the callback row sent out (its second attempt's)."""
    for run in children_of(sfn, "noop", account_arn)[:1]:  # newest first
        token = json.loads(sfn.describe_execution(executionArn=run["executionArn"])["input"])["token"]
        sfn.send_task_success(taskToken=token, output="{}")


def finish_rows(sfn: Any, endpoint: str, arns: dict[str, str], account_arn: str) -> None:
    for row in ROWS:
        until(f"{row.machine} waiting again", lambda row=row: row.waiting_again(sfn, arns[row.machine]))
    answer_callbacks(sfn, account_arn)
    control.advance_clock(endpoint, HOLD + 1)
    for row in ROWS:
        arn = arns[row.machine]
        described = until(
            f"{row.machine} SUCCEEDED",
            lambda arn=arn: (d := sfn.describe_execution(executionArn=arn))["status"] == "SUCCEEDED" and d,
        )
        assert described["redriveCount"] == 1, row.rule
        failure = next(e for e in history(sfn, arn) if e["type"] == "ExecutionFailed")
        assert failure["executionFailedEventDetails"]["error"] == RESTART_ERROR, row.rule
        row.finished(sfn, arn)


def test_the_rows_cover_every_restart_rule() -> None:
    # The sequence row checks its Wait running again (RULES[1]) too; the "ended" execution of the
    # test below checks the last rule.
    assert {row.rule for row in ROWS} | {RULES[1].interrupted, RULES[-1].interrupted} == {
        rule.interrupted for rule in RULES
    }


def test_each_interrupted_execution_ends_and_continues_as_the_restart_rules_say(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = launcher.start(home, port=0)
    try:
        sfn = endpoint_client(first.endpoint, "stepfunctions")
        machines = {
            name: sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
                "stateMachineArn"
            ]
            for name, definition in MACHINES.items()
        }
        account_arn = machines["noop"].rsplit(":", 1)[0]
        done = sfn.start_execution(stateMachineArn=machines["noop"], name="ended")["executionArn"]
        until("ended", lambda: sfn.describe_execution(executionArn=done)["status"] == "SUCCEEDED")
        athena = endpoint_client(first.endpoint, "athena")
        endpoint_client(first.endpoint, "s3").create_bucket(Bucket="kept-results")
        query = athena.start_query_execution(
            QueryString="SELECT 'kept' AS word, CAST(NULL AS varchar) AS nothing",
            ResultConfiguration={"OutputLocation": "s3://kept-results/q/"},
        )["QueryExecutionId"]
        stopped = start_rows(sfn, machines, "stop")
    finally:
        launcher.stop(home)

    # A clean stop: every execution it interrupted is FAILED with the stop's cause, and the
    # top-level ones were redriven at the start; children wait for their parents.
    second = launcher.start(home, port=0)
    try:
        sfn = endpoint_client(second.endpoint, "stepfunctions")
        assert control.health(second.endpoint)["previous_run"] == "clean"
        assert sfn.describe_execution(executionArn=done)["status"] == "SUCCEEDED"
        for row in ROWS:
            described = sfn.describe_execution(executionArn=stopped[row.machine])
            assert (described["status"], described["redriveCount"]) == ("RUNNING", 1), row.rule
            failed = [e for e in history(sfn, stopped[row.machine]) if e["type"] == "ExecutionFailed"]
            assert [e["executionFailedEventDetails"]["cause"] for e in failed] == [STOP_CAUSE], row.rule
        athena = endpoint_client(second.endpoint, "athena")
        state = athena.get_query_execution(QueryExecutionId=query)["QueryExecution"]["Status"]["State"]
        assert state == "SUCCEEDED"
        rows = athena.get_query_results(QueryExecutionId=query)["ResultSet"]["Rows"]  # read back from S3
        assert rows == [
            {"Data": [{"VarCharValue": "word"}, {"VarCharValue": "nothing"}]},
            {"Data": [{"VarCharValue": "kept"}, {}]},
        ]
        finish_rows(sfn, second.endpoint, stopped, account_arn)

        killed = start_rows(sfn, machines, "kill")
        assert control.checkpoint(second.endpoint)["written"]["states"] >= len(ROWS)
        launcher.stop(home, kill=True)
    except BaseException:
        launcher.stop(home)
        raise

    # A crash: every execution it interrupted is FAILED with the crash's cause and stays so until
    # redriven (children included: a Map Run's FAILED with its parent); RedriveExecution continues it.
    third = launcher.start(home, port=0)
    try:
        sfn = endpoint_client(third.endpoint, "stepfunctions")
        assert control.health(third.endpoint)["previous_run"] == "crash"
        for row in ROWS:
            described = sfn.describe_execution(executionArn=killed[row.machine])
            assert (described["status"], described["error"], described["cause"]) == (
                "FAILED",
                RESTART_ERROR,
                CRASH_CAUSE,
            ), row.rule
            assert described["redriveStatus"] == "REDRIVABLE", row.rule
            assert types(sfn, killed[row.machine])[-1] == "ExecutionFailed", row.rule
        fanout = killed["fanout"]
        (run,) = sfn.list_map_runs(executionArn=fanout)["mapRuns"]
        assert sfn.describe_map_run(mapRunArn=run["mapRunArn"])["status"] == "FAILED"
        children = map_children(sfn, fanout)
        assert [c["status"] for c in children] == ["FAILED", "FAILED"]
        assert {
            sfn.describe_execution(executionArn=c["executionArn"])["redriveStatus"] for c in children
        } == {"REDRIVABLE_BY_MAP_RUN"}
        for row in ROWS:
            sfn.redrive_execution(executionArn=killed[row.machine])
        finish_rows(sfn, third.endpoint, killed, account_arn)
    finally:
        control.reset_clock(third.endpoint)
        launcher.stop(home)
