"""The endpoint host's rules for a child started by name again by a parent that localcloud's stop
or crash interrupted (rules AWS never needs: its executions are not interrupted by restarts)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest

from localcloud.asl import ExecutionAlreadyExists, ExecutionRecord
from localcloud.asl.store import RUNNING, SUCCEEDED
from localcloud.stepfunctions.host import EndpointHost
from localcloud.stepfunctions.restart import STOP_CAUSE

NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:child"
PARENT = "arn:aws:states:us-east-1:123456789012:execution:parent:p1"
CHILD = "arn:aws:states:us-east-1:123456789012:execution:child:kid"


def record(arn: str, status: str, history: list[dict[str, Any]], **extra: Any) -> ExecutionRecord:
    return ExecutionRecord(
        execution_arn=arn,
        name=arn.rsplit(":", 1)[-1],
        state_machine_arn=MACHINE,
        state_machine_name="child",
        definition={"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        input={"date": "2024-01-03"},
        status=status,
        start_date=NOW,
        history=history,
        extra=extra,
    )


def failed_event(cause: str) -> dict[str, Any]:
    details = {"error": "States.Runtime", "cause": cause}
    return {"type": "ExecutionFailed", "executionFailedEventDetails": details}


@pytest.mark.parametrize(
    ("parent_history", "child_parent", "answered"),
    [
        ([failed_event(STOP_CAUSE), {"type": "ExecutionRedriven"}], PARENT, True),
        ([], PARENT, False),  # never interrupted: AWS's ExecutionAlreadyExists
        ([failed_event("Boom")], PARENT, False),  # redriven after its own failure: AWS's rule
        ([failed_event(STOP_CAUSE), {"type": "ExecutionRedriven"}], "another parent", False),
    ],
)
def test_a_child_that_ended_while_its_parent_was_down_answers_the_redriven_parent(
    parent_history: list[dict[str, Any]], child_parent: str, answered: bool
) -> None:
    host = EndpointHost()
    host.store.put(record(PARENT, RUNNING, parent_history))
    child = record(CHILD, SUCCEEDED, [], parent_execution_arn=child_parent)
    child.stop_date = NOW
    host.store.put(child)
    parent: Any = SimpleNamespace(execution_arn=PARENT, role_arn="")

    def start() -> ExecutionRecord:
        return host.start_child_execution(
            state_machine_arn=MACHINE, input={"date": "2024-01-03"}, name="kid", parent=parent
        )

    if answered:
        assert start() is child
    else:
        with pytest.raises(ExecutionAlreadyExists):
            host.machine_resolver = lambda arn: host.parse(child.definition)
            start()
