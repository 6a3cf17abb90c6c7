"""The interpreter's host as the endpoint runs it: the endpoint's faults answer the
``states:startExecution`` tasks as they answer the API, and a child started again by name by a
parent that a restart of localcloud interrupted follows :func:`restart.named_child_answer`."""

from __future__ import annotations

from typing import Any

from localcloud.asl import ExecutionHost, ExecutionRecord
from localcloud.asl.runtime import ExecutionContext
from localcloud.asl.service_errors import ServiceRefused
from localcloud.faults import Faults
from localcloud.stepfunctions import restart


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
            existing = self.find(f"{prefix}:{name}")
            if existing is not None:
                answer = restart.named_child_answer(
                    existing,
                    input=input,
                    parent_arn=parent.execution_arn if parent is not None else None,
                    find=self.find,
                    redrive_problem=self.redrive_problem,
                )
                if answer == "redrive":
                    return self.redrive(existing.execution_arn, sync=sync)
                if answer in ("running", "ended"):
                    return existing
        return super().start_child_execution(
            state_machine_arn=state_machine_arn, input=input, name=name, parent=parent, sync=sync
        )
