"""EventBridge across restarts: rules and targets are kept, and the executions a restart of
localcloud failed send their FAILED status change once it is back up (then, after a clean stop,
RUNNING for the redrive that carries them on)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from endpoint_support import clients, sink_inputs

from localcloud import launcher

pytestmark = pytest.mark.slow
ROLE = "arn:aws:iam::000000000000:role/localcloud-tests"
WAITER = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
SINK = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def details(sfn: Any, sink: str, count: int) -> list[dict[str, Any]]:
    return [event["detail"] for event in sink_inputs(sfn, sink, count)]


def test_executions_failed_by_a_restart_send_failed_once_localcloud_is_back(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = launcher.start(home, port=0)
    try:
        sfn, events = clients(first.endpoint)("stepfunctions"), clients(first.endpoint)("events")
        waiter = sfn.create_state_machine(name="waiter", definition=WAITER, roleArn=ROLE)["stateMachineArn"]
        started_sink = sfn.create_state_machine(name="started", definition=SINK, roleArn=ROLE)[
            "stateMachineArn"
        ]
        ends_sink = sfn.create_state_machine(name="ends", definition=SINK, roleArn=ROLE)["stateMachineArn"]
        rules = {
            "waiter-started": ({"status": ["RUNNING"], "redriveCount": [0]}, started_sink),
            "waiter-ends": (
                {
                    "$or": [
                        {"status": ["FAILED"]},
                        {"status": ["RUNNING"], "redriveCount": [{"numeric": [">", 0]}]},
                    ]
                },
                ends_sink,
            ),
        }
        for name, (detail, sink) in rules.items():
            pattern = {"source": ["aws.states"], "detail": {"stateMachineArn": [waiter], **detail}}
            events.put_rule(Name=name, EventPattern=json.dumps(pattern))
            events.put_targets(Rule=name, Targets=[{"Id": "sink", "Arn": sink, "RoleArn": ROLE}])
        killed = sfn.start_execution(stateMachineArn=waiter, name="killed")["executionArn"]
        details(sfn, started_sink, 1)  # its RUNNING event is out: the checkpoint saved it RUNNING
        launcher.stop(home, kill=True)
    except BaseException:
        launcher.stop(home)
        raise

    second = launcher.start(home, port=0)
    try:
        sfn, events = clients(second.endpoint)("stepfunctions"), clients(second.endpoint)("events")
        assert [r["Name"] for r in events.list_rules(NamePrefix="waiter-")["Rules"]] == sorted(rules)
        assert events.list_targets_by_rule(Rule="waiter-ends")["Targets"][0]["Arn"] == ends_sink
        (failed,) = details(sfn, ends_sink, 1)
        assert (failed["executionArn"], failed["status"], failed["error"]) == (
            killed,
            "FAILED",
            "States.Runtime",
        )
        assert failed["cause"].startswith("localcloud restarted after it stopped without a clean shutdown")
        assert (failed["redriveCount"], failed["redriveStatus"]) == (0, "REDRIVABLE")

        # The kill may have lost the sink's own execution started just before it: count from now.
        known = len(sfn.list_executions(stateMachineArn=started_sink)["executions"])
        stopped = sfn.start_execution(stateMachineArn=waiter, name="stopped")["executionArn"]
        details(sfn, started_sink, known + 1)
        launcher.stop(home)  # a clean stop: at the next start it ends FAILED and is redriven at once
    except BaseException:
        launcher.stop(home)
        raise

    third = launcher.start(home, port=0)
    try:
        sfn = clients(third.endpoint)("stepfunctions")
        seen = details(sfn, ends_sink, 3)
        assert Counter((d["name"], d["status"], d["redriveCount"]) for d in seen) == Counter(
            [("killed", "FAILED", 0), ("stopped", "FAILED", 0), ("stopped", "RUNNING", 1)]
        )
        stop_failure = next(d for d in seen if d["executionArn"] == stopped and d["status"] == "FAILED")
        assert stop_failure["cause"].startswith("localcloud was stopped while this execution was running")
    finally:
        launcher.stop(home)
