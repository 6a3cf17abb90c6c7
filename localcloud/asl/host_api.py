"""What the states of a running execution may ask of the host that runs it, and nothing more.

Task integrations (``states:startExecution``) and the Distributed Map processor reach the host
through ``ExecutionContext.host`` typed as :class:`StateHost`: they start and follow other
executions and record Map Runs. They never see the host's store: a record is read with
:meth:`StateHost.find` / :meth:`StateHost.describe` and saved with :meth:`StateHost.save`.
``localcloud.asl.host.ExecutionHost`` (and the endpoint's ``EndpointHost``) implement it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from localcloud.asl.distributed.map_run import MapRun
    from localcloud.asl.machine import StateMachine
    from localcloud.asl.runtime import CancelToken, ExecutionContext
    from localcloud.asl.store import ExecutionRecord


class StateHost(Protocol):
    def start_child_execution(
        self,
        *,
        state_machine_arn: str,
        input: Any,
        name: str | None = None,
        parent: ExecutionContext | None = None,
        sync: bool = False,
    ) -> ExecutionRecord:
        """``states:startExecution``: an execution of another state machine, by ARN."""
        ...

    def start_execution(
        self,
        machine: StateMachine,
        *,
        state_machine_arn: str,
        input: Any = None,
        name: str | None = None,
        execution_type: str = "STANDARD",
        role_arn: str = "",
        execution_arn: str | None = None,
        sync: bool = False,
        extra: dict[str, Any] | None = None,
        parent_token: CancelToken | None = None,
        replace: bool = False,
    ) -> ExecutionRecord:
        """A Distributed Map child: an execution of the Map's ItemProcessor."""
        ...

    def describe(self, execution_arn: str) -> ExecutionRecord:
        """The record (raises ``ExecutionNotFound``)."""
        ...

    def find(self, execution_arn: str) -> ExecutionRecord | None:
        """The record, or None when there is no such execution."""
        ...

    def save(self, execution_arn: str) -> None:
        """The execution's record changed outside a state transition (a Map Run ended): save it."""
        ...

    def done_event(self, execution_arn: str) -> threading.Event:
        """Set when the execution stops running (sleep on the clock with it as ``wake``)."""
        ...

    def stop(
        self, execution_arn: str, *, error: str | None = None, cause: str | None = None
    ) -> ExecutionRecord:
        """StopExecution (a ``.sync`` task stopping the child it started)."""
        ...

    def redrive(
        self, execution_arn: str, *, sync: bool = False, parent_token: CancelToken | None = None
    ) -> ExecutionRecord:
        """RedriveExecution (a redriven Map Run redriving its STANDARD children)."""
        ...

    def redrive_problem(self, record: ExecutionRecord) -> str | None:
        """Why the execution cannot be redriven (DescribeExecution's redriveStatusReason), or None."""
        ...

    def register_map_run(self, record: ExecutionRecord, map_run: MapRun) -> None:
        """A Distributed Map started (or redrove) ``map_run`` in ``record``'s execution."""
        ...
