"""Task integrations: one factory keyed by resource ARN, one module per integration.

An :class:`Integration` is made per Task state at parse time (so an unknown or unsupported resource
is a definition error naming the ``Resource`` field) and runs each time the Task runs. The base class
writes the history events; subclasses implement :meth:`Integration.invoke`. Part-B integrations
(``.sync``, ``.waitForTaskToken``, aws-sdk, ...) register themselves on the factory the same way.
"""

from __future__ import annotations

import datetime as dt
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localcloud.asl.checker import Checker
from localcloud.asl.errors import HEARTBEAT_TIMEOUT, TIMEOUT, StatesFailure
from localcloud.asl.history import NOT_TRUNCATED
from localcloud.asl.integrations.catalog import not_recognized
from localcloud.asl.mocking import MockedAnswer
from localcloud.asl.payload import to_json
from localcloud.asl.runtime import ExecutionContext, Frame

if TYPE_CHECKING:
    from localcloud.asl.states.base import StateRun
    from localcloud.asl.states.task import TaskState


class UnsupportedResource(ValueError):
    """The Resource names nothing this interpreter can run; the message says why."""


@dataclass(frozen=True)
class Resource:
    """A parsed Task ``Resource`` ARN."""

    arn: str
    kind: str  # "service" (arn:aws:states:::svc:action), "lambda" (a function ARN), "activity"
    service: str = ""  # "lambda", "athena", "states", "aws-sdk:s3", ...
    action: str = ""  # "invoke", "startQueryExecution", ...
    pattern: str = ""  # "", "sync", "sync:2", "waitForTaskToken"
    region: str = ""
    account: str = ""
    name: str = ""  # function or activity name

    @property
    def key(self) -> str:
        """The factory key: ``service:action`` (``aws-sdk:*`` for every SDK integration)."""
        if self.kind == "lambda":
            return "lambda:function"
        if self.kind == "activity":
            return "activity"
        if self.service.startswith("aws-sdk:"):
            return "aws-sdk:*"
        return f"{self.service}:{self.action}"


_SERVICE_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):states:::(?P<rest>.+)$")
_LAMBDA_ARN = re.compile(
    r"^arn:(aws|aws-cn|aws-us-gov):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:(?P<name>[A-Za-z0-9_-]+)(:(?P<qualifier>[A-Za-z0-9_$-]+))?$"
)
_ACTIVITY_ARN = re.compile(
    r"^arn:(aws|aws-cn|aws-us-gov):states:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):activity:(?P<name>.+)$"
)
_PATTERNS = ("sync:2", "sync", "waitForTaskToken")


def parse_resource(arn: str) -> Resource:
    m = _SERVICE_ARN.match(arn)
    if m:
        rest = m.group("rest")
        pattern = ""
        for candidate in _PATTERNS:
            if rest.endswith("." + candidate):
                pattern = candidate
                rest = rest[: -len(candidate) - 1]
                break
        parts = rest.split(":")
        if parts[0] == "aws-sdk" and len(parts) == 3:
            return Resource(arn, "service", f"aws-sdk:{parts[1]}", parts[2], pattern)
        if len(parts) == 2 and all(parts):
            return Resource(arn, "service", parts[0], parts[1], pattern)
        raise UnsupportedResource(not_recognized(arn))
    m = _LAMBDA_ARN.match(arn)
    if m:
        return Resource(
            arn, "lambda", "lambda", "invoke", "", m.group("region"), m.group("account"), m.group("name")
        )
    m = _ACTIVITY_ARN.match(arn)
    if m:
        return Resource(
            arn, "activity", region=m.group("region"), account=m.group("account"), name=m.group("name")
        )
    raise UnsupportedResource(not_recognized(arn))


class TaskRequest:
    """What an integration gets each time its Task runs."""

    def __init__(
        self,
        *,
        state: TaskState,
        run: StateRun,
        arguments: Any,
        timeout_seconds: int | None,
        heartbeat_seconds: int | None,
    ) -> None:
        self.state = state
        self.run = run
        self.frame: Frame = run.frame
        self.ctx: ExecutionContext = run.frame.ctx
        self.arguments = arguments
        self.timeout_seconds = timeout_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.started = self.ctx.clock.now()
        self.deadline = (
            self.started + dt.timedelta(seconds=timeout_seconds) if timeout_seconds is not None else None
        )

    def client(self, service: str) -> Any:
        """A boto3-shaped client from the host's factory (moto, localcloud, fakes in tests)."""
        return self.ctx.client_factory(service)

    def event(self, event_type: str, details: dict[str, Any] | None = None) -> int:
        return self.frame.event(event_type, details)

    def sleep(self, seconds: float, wake: Any = None) -> None:
        """Sleep on the execution clock; raises States.Timeout past the task's deadline."""
        self.frame.sleep(seconds, until=self.deadline, wake=wake)
        self.check_deadline()

    def check_deadline(self) -> None:
        if self.deadline is not None and self.ctx.clock.now() >= self.deadline:
            raise StatesFailure(TIMEOUT, "Task timed out.")

    @property
    def context(self) -> Callable[[], dict[str, Any]]:
        return self.run.context


class Integration(ABC):
    """One integration (a resource ARN family). ``history`` picks AWS's event family for it."""

    #: Patterns (".sync", ...) this integration runs; anything else is a definition error.
    patterns: frozenset[str] = frozenset({""})
    #: "task" -> TaskScheduled/Started/Succeeded/Failed; "lambda" -> LambdaFunction* events.
    history: str = "task"

    @property
    def needs_task_token(self) -> bool:
        """``.waitForTaskToken``: a token is issued before the state's input is processed, so
        ``$$.Task.Token`` / ``$states.context.Task.Token`` can be placed in the parameters."""
        return self.resource.pattern == "waitForTaskToken"

    @property
    def runs_a_job(self) -> bool:
        """``.sync`` / ``.sync:2``: after the request, wait for the job (:meth:`wait_for_job`)."""
        return self.resource.pattern in ("sync", "sync:2")

    @classmethod
    def supports(cls, resource: Resource) -> bool:
        """Whether this integration runs ``resource``'s pattern (AWS refuses the others)."""
        return resource.pattern in cls.patterns

    def __init__(self, resource: Resource) -> None:
        self.resource = resource

    def validate(self, state: TaskState, check: Checker) -> None:
        """Definition-time checks of the state's fields for this integration."""
        return None

    @property
    def resource_type(self) -> str:
        return self.resource.service

    @property
    def resource_name(self) -> str:
        return self.resource.action + (f".{self.resource.pattern}" if self.resource.pattern else "")

    def execute(self, req: TaskRequest) -> Any:
        """Run the task with AWS's history events around :meth:`invoke` (or the execution's mock)."""
        mock = req.ctx.mock
        mocked = mock.take(req.state.name) if mock is not None else None
        if self.history == "lambda":
            return self._execute_lambda_style(req, mocked)
        scheduled: dict[str, Any] = {
            "resourceType": self.resource_type,
            "resource": self.resource_name,
            "region": req.ctx.region,
            "parameters": to_json(req.arguments),
        }
        if req.timeout_seconds is not None:
            scheduled["timeoutInSeconds"] = req.timeout_seconds
        if req.heartbeat_seconds is not None:
            scheduled["heartbeatInSeconds"] = req.heartbeat_seconds
        req.event("TaskScheduled", scheduled)
        ident = {"resourceType": self.resource_type, "resource": self.resource_name}
        req.event("TaskStarted", dict(ident))
        try:
            result = self.invoke(req) if mocked is None else self.mocked_result(mocked)
            if self.needs_task_token or self.runs_a_job:
                req.event(
                    "TaskSubmitted", {**ident, "output": to_json(result), "outputDetails": NOT_TRUNCATED}
                )
                if mocked is not None:
                    if self.needs_task_token and req.run.task_token is not None:
                        req.ctx.task_tokens.close(req.run.task_token)  # answered by the mock
                elif self.needs_task_token:
                    result = wait_for_callback(req)
                else:
                    result = self.wait_for_job(req, result)
            _check_still_wanted(req)
        except StatesFailure as failure:
            kind = "TaskTimedOut" if failure.error in (TIMEOUT, HEARTBEAT_TIMEOUT) else "TaskFailed"
            req.event(kind, {**ident, "error": failure.error, "cause": failure.cause or ""})
            raise
        req.event("TaskSucceeded", {**ident, "output": to_json(result), "outputDetails": NOT_TRUNCATED})
        return result

    def mocked_result(self, mocked: MockedAnswer) -> Any:
        """The task's result from its mock (or the mocked error raised)."""
        mocked.raise_if_thrown()
        return mocked.value

    def _execute_lambda_style(self, req: TaskRequest, mocked: MockedAnswer | None = None) -> Any:
        scheduled: dict[str, Any] = {
            "resource": self.resource.arn,
            "input": to_json(req.arguments),
            "inputDetails": NOT_TRUNCATED,
        }
        if req.timeout_seconds is not None:
            scheduled["timeoutInSeconds"] = req.timeout_seconds
        req.event("LambdaFunctionScheduled", scheduled)
        req.event("LambdaFunctionStarted")
        try:
            result = self.invoke(req) if mocked is None else self.mocked_result(mocked)
            _check_still_wanted(req)
        except StatesFailure as failure:
            kind = "LambdaFunctionTimedOut" if failure.error == TIMEOUT else "LambdaFunctionFailed"
            req.event(kind, {"error": failure.error, "cause": failure.cause or ""})
            raise
        req.event("LambdaFunctionSucceeded", {"output": to_json(result), "outputDetails": NOT_TRUNCATED})
        return result

    @abstractmethod
    def invoke(self, req: TaskRequest) -> Any:
        """Do the work; return the task's result or raise :class:`StatesFailure`."""

    def wait_for_job(self, req: TaskRequest, submitted: Any) -> Any:
        """The ``.sync`` pattern: wait (on the execution's clock, ``req.sleep``) until the job
        :meth:`invoke` started ends; return its result or raise. ``submitted`` is what invoke
        returned (recorded as TaskSubmitted)."""
        raise StatesFailure("States.Runtime", f"'{self.resource.arn}' cannot wait for a job to complete")


def _check_still_wanted(req: TaskRequest) -> None:
    """After the work returned: a task whose execution was stopped, or whose branch was cancelled
    (a sibling Parallel branch or Map iteration failed), or that ran out of time meanwhile, does
    not succeed with a late result: it is aborted (``TaskStateAborted``), as on AWS, where a call
    that cannot be cancelled (a Lambda invocation) runs on but its result is dropped."""
    req.frame.check()
    req.check_deadline()


# A Task without TimeoutSeconds waits at most this long (the guide's Task state: "If not provided, the
# default value is 99999999").
DEFAULT_TASK_TIMEOUT_SECONDS = 99999999


def wait_for_callback(req: TaskRequest) -> Any:
    """The ``.waitForTaskToken`` pattern: after the service call went out with the token, wait for
    SendTaskSuccess / SendTaskFailure, failing with States.HeartbeatTimeout when no heartbeat (or
    answer) comes within HeartbeatSeconds, and States.Timeout past TimeoutSeconds."""
    token = req.run.task_token
    if token is None:
        raise StatesFailure("States.Runtime", "No task token was issued for this task")
    tokens = req.ctx.task_tokens
    waiter = tokens.waiter(token)
    clock = req.ctx.clock
    # HeartbeatSeconds counts from the task's start, as TimeoutSeconds does (the Task state's
    # "The count begins after the task has been started"), not from when the call came back.
    started = req.started
    deadline = req.deadline or started + dt.timedelta(seconds=DEFAULT_TASK_TIMEOUT_SECONDS)
    tokens.announce(waiter)
    try:
        while not waiter.event.is_set():
            now = clock.now()
            if now >= deadline:
                raise StatesFailure(TIMEOUT, "Task timed out.")
            due = deadline
            if req.heartbeat_seconds is not None:
                last_beat = max(started, waiter.last_heartbeat or started)
                beat_due = last_beat + dt.timedelta(seconds=req.heartbeat_seconds)
                if now >= beat_due:
                    raise StatesFailure(HEARTBEAT_TIMEOUT, "Task heartbeat timed out.")
                due = min(due, beat_due)
            req.frame.sleep((due - now).total_seconds(), wake=waiter.event)
        if waiter.succeeded:
            return waiter.output
        raise StatesFailure(waiter.error or "", waiter.cause)
    finally:
        tokens.close(token)


class IntegrationFactory:
    """Resource ARN -> integration. Keys are ``service:action`` (``lambda:invoke``), ``aws-sdk:*``
    for every SDK integration and ``lambda:function`` for bare function ARNs."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Integration]] = {}

    def register(self, key: str, cls: type[Integration]) -> None:
        self._classes[key] = cls

    def has(self, key: str) -> bool:
        return key in self._classes

    def copy(self) -> IntegrationFactory:
        other = IntegrationFactory()
        other._classes = dict(self._classes)
        return other

    def create(self, arn: str) -> Integration:
        """The integration for ``arn``; raises :class:`UnsupportedResource` naming what is missing."""
        resource = parse_resource(arn)
        if resource.kind == "activity":
            raise UnsupportedResource(f"Activities are not supported by localcloud: '{arn}'")
        cls = self._classes.get(resource.key)
        if cls is None or not cls.supports(resource):
            # AWS's own refusal: every Resource AWS accepts has an integration here.
            raise UnsupportedResource(not_recognized(arn))
        return cls(resource)
