"""Task: runs one integration chosen by its Resource ARN through the integration factory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from localcloud.asl.checker import Checker, pointer
from localcloud.asl.errors import QUERY_EVALUATION_ERROR, RUNTIME, StatesFailure
from localcloud.asl.integrations.base import Integration, TaskRequest, UnsupportedResource
from localcloud.asl.jsonata_eval import is_expression
from localcloud.asl.states.base import (
    RESULT_STATE_JSONPATH_FIELDS,
    WORK_STATE_FIELDS,
    State,
    StateRun,
    Transition,
)

if TYPE_CHECKING:
    from localcloud.asl.definition import ParseContext

MAX_TASK_SECONDS = 99999999


class TaskState(State):
    type_name = "Task"
    _common = WORK_STATE_FIELDS | {"Resource", "TimeoutSeconds", "HeartbeatSeconds", "Credentials"}
    jsonpath_fields = _common | RESULT_STATE_JSONPATH_FIELDS | {"TimeoutSecondsPath", "HeartbeatSecondsPath"}
    jsonata_fields = _common | {"Arguments", "Output"}
    has_result = True
    can_retry = True

    def parse(self, check: Checker) -> None:
        raw, path = self.raw, self.path
        self.resource = check.string(raw, "Resource", path, required=True)
        self.integration: Integration | None = None
        self.timeout: Any = raw.get("TimeoutSeconds")
        self.heartbeat: Any = raw.get("HeartbeatSeconds")
        self.timeout_path = check.path(raw, "TimeoutSecondsPath", path) if not self.jsonata else None
        self.heartbeat_path = check.path(raw, "HeartbeatSecondsPath", path) if not self.jsonata else None
        check.exclusive(raw, ["TimeoutSeconds", "TimeoutSecondsPath"], path)
        check.exclusive(raw, ["HeartbeatSeconds", "HeartbeatSecondsPath"], path)
        for key in ("TimeoutSeconds", "HeartbeatSeconds"):
            value = raw.get(key)
            if key in raw and not (self.jsonata and is_expression(value)):
                check.integer(raw, key, path, minimum=1, maximum=MAX_TASK_SECONDS)
            elif key in raw:
                check.jsonata_template(value, pointer(path, key))
        if (
            isinstance(self.timeout, int)
            and isinstance(self.heartbeat, int)
            and self.heartbeat >= self.timeout
        ):
            check.add(
                pointer(path, "HeartbeatSeconds"), "HeartbeatSeconds must be smaller than TimeoutSeconds"
            )
        if "Credentials" in raw:
            check.add(
                pointer(path, "Credentials"),
                "The field 'Credentials' (cross-account roles) is not supported by localcloud",
            )

    def setup(self, pctx: ParseContext) -> None:
        if self.resource is None:
            return
        try:
            self.integration = pctx.integrations.create(self.resource)
        except UnsupportedResource as exc:
            pctx.check.add(pointer(self.path, "Resource"), str(exc))
            return
        self.integration.validate(self, pctx.check)
        if pctx.machine_type == "EXPRESS" and self.integration.resource.pattern:
            pctx.check.add(pointer(self.path, "Resource"), express_refusal(self.resource))

    def run_once(self, run: StateRun) -> Transition:
        pattern = self.integration.resource.pattern if self.integration is not None else ""
        if pattern and run.frame.ctx.execution_type == "EXPRESS":  # parsed without its machine type
            raise StatesFailure(RUNTIME, express_refusal(self.resource or ""))
        if self.integration is not None and self.integration.needs_task_token:
            ctx = run.frame.ctx
            if run.task_token is not None:
                ctx.task_tokens.close(run.task_token)  # a retry gets a fresh token
            run.task_token = ctx.task_tokens.issue(ctx.execution_arn).token
            run.reset_context()
        return super().run_once(run)

    def body(self, run: StateRun, effective_input: Any) -> Any:
        assert self.integration is not None
        arguments = effective_input
        if self.jsonata:
            # Without Arguments, the task gets the state input (as the JSONPath default "$" does).
            arguments = run.arguments()
            if arguments is None:
                arguments = run.raw_input
        timeout = self._seconds(run, self.timeout, self.timeout_path, "TimeoutSeconds")
        heartbeat = self._seconds(run, self.heartbeat, self.heartbeat_path, "HeartbeatSeconds")
        request = TaskRequest(
            state=self, run=run, arguments=arguments, timeout_seconds=timeout, heartbeat_seconds=heartbeat
        )
        return self.integration.execute(request)

    def _seconds(self, run: StateRun, static: Any, path: str | None, field: str) -> int | None:
        if static is not None:
            if self.jsonata and is_expression(static):
                value = run.jsonata(static, field)
                if not _positive_int(value):
                    raise StatesFailure(
                        QUERY_EVALUATION_ERROR,
                        f"The value for the field '{field}' must be a positive integer, got {value!r}",
                    )
                return int(value)
            return int(static)
        if path is not None:
            value = run.path(path, run.raw_input, f"{field}Path")
            if not _positive_int(value):
                raise StatesFailure(
                    RUNTIME,
                    f"The value at '{path}' for the field '{field}Path' must be a positive integer, "
                    f"got {value!r}",
                )
            return int(value)
        return None


def express_refusal(resource: str) -> str:
    return (
        f"The resource '{resource}' uses a .sync or .waitForTaskToken pattern, which Express workflows "
        "do not support (Standard workflows only)"
    )


def _positive_int(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and float(value).is_integer()
        and 1 <= value <= MAX_TASK_SECONDS
    )
