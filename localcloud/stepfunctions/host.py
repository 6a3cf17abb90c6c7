"""The interpreter's host as the endpoint runs it: children started by a running execution
(``states:startExecution``) follow the same rules as the StartExecution API.

- Same name and input as a RUNNING execution: that execution is the answer (AWS's idempotency).
- Same name and input as an execution that a stop or a crash of localcloud interrupted (FAILED
  with :data:`RESTART_ERROR` and one of the two causes below): that execution is redriven and is
  the answer, so redriving an interrupted parent (a backfill whose ``.sync`` task was waiting on
  a child when localcloud was killed) continues the child from its saved progress instead of
  failing on the name it already used. This is localcloud's own rule for a failure AWS never has.
- Same name and input as a child that this parent started and that ended while localcloud was
  down (a stop or crash came between the child's end and the parent's ``.sync`` task seeing it):
  that execution, ended, is the answer to the redriven parent.
"""

from __future__ import annotations

from typing import Any

from localcloud.asl import ExecutionHost, ExecutionRecord
from localcloud.asl.runtime import ExecutionContext
from localcloud.asl.service_errors import ServiceRefused
from localcloud.asl.store import FAILED, RUNNING
from localcloud.faults import Faults

RESTART_ERROR = "States.Runtime"
RESTART_CAUSE = (
    "localcloud restarted after it stopped without a clean shutdown (killed or crashed) while this "
    "execution was running; its progress up to the last checkpoint is kept: RedriveExecution "
    "continues it from there"
)


STOP_CAUSE = (
    "localcloud was stopped while this execution was running; it was redriven when localcloud "
    "started again, from its progress at the stop"
)


RESTART_CAUSES = (RESTART_CAUSE, STOP_CAUSE)


def interrupted_by_restart(record: ExecutionRecord) -> bool:
    return record.status == FAILED and record.error == RESTART_ERROR and record.cause in RESTART_CAUSES


def resumed_after_restart(record: ExecutionRecord) -> bool:
    """Whether the execution's last failure was a stop or crash of localcloud (it runs on, redriven)."""
    failed = next((e for e in reversed(record.history) if e.get("type") == "ExecutionFailed"), None)
    return failed is not None and failed.get("executionFailedEventDetails", {}).get("cause") in RESTART_CAUSES


class EndpointHost(ExecutionHost):
    #: The endpoint's faults: a ``states:startExecution`` task starts its child in-process, and a
    #: fault set on states StartExecution answers it as it answers the API.
    faults: Faults | None = None

    def start_child_execution(
        self,
        *,
        state_machine_arn: str,
        input: Any,
        name: str | None = None,
        parent: ExecutionContext | None = None,
        sync: bool = False,
    ) -> ExecutionRecord:
        if self.faults is not None and parent is not None:
            fault = self.faults.in_process("states", "StartExecution")
            if fault is not None and fault.error is not None:
                raise ServiceRefused(fault.error, f"localcloud fault {fault.id}: {fault.error}")
        if name is not None:
            prefix = state_machine_arn.replace(":stateMachine:", ":execution:", 1)
            existing = self.store.get(f"{prefix}:{name}")
            if existing is not None and existing.input == (input if input is not None else {}):
                if existing.status == RUNNING:
                    return existing
                if interrupted_by_restart(existing) and self.redrive_problem(existing) is None:
                    return self.redrive(existing.execution_arn, sync=sync)
                if parent is not None and self._ended_while_parent_was_down(existing, parent):
                    return existing
        return super().start_child_execution(
            state_machine_arn=state_machine_arn, input=input, name=name, parent=parent, sync=sync
        )

    def _ended_while_parent_was_down(self, child: ExecutionRecord, parent: ExecutionContext) -> bool:
        """A child this parent started, which ended while the parent was saved by a stop (or lost
        to a crash) before its ``.sync`` task saw the end: the redriven parent asks for it again."""
        if child.extra.get("parent_execution_arn") != parent.execution_arn:
            return False
        record = self.store.get(parent.execution_arn)
        return record is not None and resumed_after_restart(record)
