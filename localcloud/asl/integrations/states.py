"""AWS Step Functions, optimized: ``arn:aws:states:::states:startExecution`` (the guide's "Start a
new AWS Step Functions state machine from a running execution"), request-response, ``.sync``,
``.sync:2`` and ``.waitForTaskToken``. The child runs on the same host
(``ctx.host.start_child_execution``), of the type its state machine has (a STANDARD parent
may start EXPRESS children, ``.sync`` included; an EXPRESS parent may not use ``.sync`` or
``.waitForTaskToken`` at all: see ``parse_definition(..., machine_type=...)``).

Parameters: ``StateMachineArn`` (required), ``Input`` (a JSON value, or a string holding JSON),
``Name`` (a UUID when absent). Results, with the SDK for Java 1.x's shapes (PascalCase, dates as
epoch milliseconds):

* request-response: StartExecution's ``{"ExecutionArn", "StartDate"}`` plus
  ``SdkHttpMetadata``/``SdkResponseMetadata``; it is also what ``.sync`` records as TaskSubmitted;
* ``.sync``: DescribeExecution's response with ``Input`` and ``Output`` as JSON text;
  ``.sync:2``: the same with ``Input`` and ``Output`` as JSON values;
* a child that fails, times out or is aborted fails the task with ``States.TaskFailed`` and that
  DescribeExecution response (``Error`` and ``Cause`` included) as the cause;
* a parent task that times out or is stopped while it waits stops the child.

The service refusing the start is ``StepFunctions.<Error>Exception``
(``StepFunctions.ExecutionAlreadyExistsException``, ``StepFunctions.StateMachineDoesNotExistException``,
``StepFunctions.InvalidNameException``, ``StepFunctions.InvalidExecutionInputException``).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from localcloud.asl.checker import Checker, pointer
from localcloud.asl.errors import RUNTIME, TASK_FAILED, TIMEOUT, ExecutionStopped, StatesFailure
from localcloud.asl.execution_json import describe_execution_json
from localcloud.asl.integrations.base import Integration, TaskRequest
from localcloud.asl.integrations.sdk import epoch_millis, sdk_metadata
from localcloud.asl.payload import to_json
from localcloud.asl.runtime import ExecutionTimedOut
from localcloud.asl.service_errors import ExecutionAlreadyExists, ServiceRefused, StateMachineDoesNotExist

if TYPE_CHECKING:
    from localcloud.asl.host_api import StateHost

_PARAMETERS = {"StateMachineArn", "Input", "Name", "TraceHeader"}
# StartExecution's name rule: 1-80 characters, none of whitespace, < > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /
# or control characters.
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
_WAIT_SECONDS = 365 * 24 * 3600.0


def _refused(code: str, message: str) -> StatesFailure:
    return StatesFailure(
        f"StepFunctions.{code.removesuffix('Exception')}Exception",
        f"{message} (Service: AWSStepFunctions; Status Code: 400; Error Code: {code}; "
        "Request ID: ; Proxy: null)",
    )


class StartExecution(Integration):
    patterns = frozenset({"", "sync", "sync:2", "waitForTaskToken"})

    def validate(self, state: Any, check: Checker) -> None:
        params = state.parameters
        field = "Arguments" if state.jsonata else "Parameters"
        if not isinstance(params, dict):
            return  # a JSONata expression: checked when it runs
        keys = {k[:-2] if k.endswith(".$") and not state.jsonata else k for k in params}
        if "StateMachineArn" not in keys:
            check.add(pointer(state.path, field), "The field 'StateMachineArn' is required but was missing")
        for key in sorted(keys - _PARAMETERS):
            check.add(
                pointer(state.path, field, key),
                f"The field '{key}' is not supported by states:startExecution",
            )

    def invoke(self, req: TaskRequest) -> Any:
        args = req.arguments
        if not isinstance(args, dict) or not isinstance(args.get("StateMachineArn"), str):
            raise StatesFailure(
                RUNTIME, "The field 'StateMachineArn' of states:startExecution must be a string"
            )
        name = args.get("Name")
        if name is not None and (
            not isinstance(name, str) or not 1 <= len(name) <= 80 or _BAD_NAME.search(name)
        ):
            raise _refused("InvalidName", f"Invalid Name: '{name}'")
        child_input: Any = args.get("Input", {})
        if isinstance(child_input, str):
            try:
                child_input = json.loads(child_input)
            except json.JSONDecodeError as exc:
                raise _refused("InvalidExecutionInput", f"Invalid execution input: {exc}") from exc
        host = req.ctx.require_host("states:startExecution")
        try:
            record = host.start_child_execution(
                state_machine_arn=args["StateMachineArn"], input=child_input, name=name, parent=req.ctx
            )
        except ExecutionAlreadyExists as exc:
            raise _refused("ExecutionAlreadyExists", str(exc)) from exc
        except StateMachineDoesNotExist as exc:
            raise _refused("StateMachineDoesNotExist", str(exc)) from exc
        except ServiceRefused as exc:
            raise _refused(exc.code, exc.message) from exc
        return {
            "ExecutionArn": record.execution_arn,
            "StartDate": epoch_millis(record.start_date),
            **sdk_metadata({}),
        }

    def wait_for_job(self, req: TaskRequest, submitted: Any) -> Any:
        host = req.ctx.require_host("states:startExecution")
        arn = submitted["ExecutionArn"]
        try:
            while host.describe(arn).status == "RUNNING":
                req.sleep(_WAIT_SECONDS, wake=host.done_event(arn))
        except (ExecutionStopped, ExecutionTimedOut):
            self._stop_child(req, arn)
            raise
        except StatesFailure as failure:
            if failure.error == TIMEOUT:
                self._stop_child(req, arn)
            raise
        described = describe_execution(host, arn, parsed=self.resource.pattern == "sync:2")
        if described["Status"] != "SUCCEEDED":
            raise StatesFailure(TASK_FAILED, to_json(described))
        return described

    @staticmethod
    def _stop_child(req: TaskRequest, arn: str) -> None:
        cause = (
            f"The Task state in AWS Step Functions execution [{req.ctx.execution_arn}] which was managing "
            "this resource was aborted"
        )
        # Not marked blocked while the child unwinds: it needs no time to pass to stop, and a
        # blocked waiter would let the virtual clock jump while the child leaves.
        req.ctx.require_host("states:startExecution").stop(arn, cause=cause)


def describe_execution(host: StateHost, arn: str, *, parsed: bool) -> dict[str, Any]:
    """DescribeExecution's response as the ``.sync`` integrations return it."""
    record = host.describe(arn)
    problem = host.redrive_problem(record)
    return describe_execution_json(
        record,
        parsed=parsed,
        timestamp=epoch_millis,
        redrive_status="REDRIVABLE" if problem is None else "NOT_REDRIVABLE",
        redrive_reason=problem,
    )
