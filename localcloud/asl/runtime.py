"""What running states share: the execution's context, frames (one per branch of control: the
top level, each Parallel branch, each Map iteration), variable scopes and cancellation."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localcloud.asl.clock import Clock
from localcloud.asl.errors import RUNTIME, ExecutionStopped, StatesFailure
from localcloud.asl.history import History, iso, iso_trimmed
from localcloud.asl.jsonata_eval import clock_functions
from localcloud.asl.mocking import MockSession
from localcloud.asl.tokens import TaskTokens

if TYPE_CHECKING:
    from localcloud.asl.host_api import StateHost
    from localcloud.asl.integrations.base import IntegrationFactory


class ExecutionTimedOut(Exception):
    """The execution's own TimeoutSeconds elapsed."""


class Variables:
    """A variable scope. Reads fall through to the enclosing scope; assignments stay local (AWS:
    states inside Parallel and Map read outer variables but never assign them)."""

    __slots__ = ("local", "parent")

    def __init__(self, local: dict[str, Any] | None = None, parent: Variables | None = None) -> None:
        self.local: dict[str, Any] = local if local is not None else {}
        self.parent = parent

    def get(self, name: str) -> Any:
        scope: Variables | None = self
        while scope is not None:
            if name in scope.local:
                return scope.local[name]
            scope = scope.parent
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        if self.parent is None:
            return self.local
        merged = dict(self.parent.as_dict())
        merged.update(self.local)
        return merged

    def assign(self, values: dict[str, Any]) -> None:
        self.local.update(values)


class CancelToken:
    """Cancellation that flows down: cancelling a token cancels every token made from it."""

    __slots__ = ("_children", "_lock", "event", "parent", "reason")

    def __init__(self, parent: CancelToken | None = None) -> None:
        self.event = threading.Event()
        self.reason = ""
        self.parent = parent
        self._children: set[CancelToken] = set()
        self._lock = threading.Lock()
        if parent is not None:
            with parent._lock:
                parent._children.add(self)
            if parent.event.is_set():
                self.cancel(parent.reason)

    def cancel(self, reason: str) -> None:
        if not self.event.is_set():
            self.reason = reason
            self.event.set()
        with self._lock:
            children = list(self._children)
        for child in children:
            child.cancel(reason)

    def is_set(self) -> bool:
        return self.event.is_set()

    def release(self) -> None:
        """Detach from the parent once done, so long Maps do not pile up tokens."""
        if self.parent is not None:
            with self.parent._lock:
                self.parent._children.discard(self)


@dataclass
class ExecutionContext:
    """Execution-wide facts and services every frame of one execution shares."""

    execution_arn: str
    execution_name: str
    state_machine_arn: str
    state_machine_name: str
    execution_type: str
    role_arn: str
    input: Any
    start_time: dt.datetime
    clock: Clock
    history: History
    integrations: IntegrationFactory
    client_factory: Callable[[str], Any]
    region: str
    account: str
    # The host running the execution, as states may use it (None in TestState: no other executions).
    host: StateHost | None = None
    task_tokens: TaskTokens = field(default_factory=TaskTokens)
    deadline: dt.datetime | None = None
    redrive_count: int = 0
    redrive_time: dt.datetime | None = None
    root_token: CancelToken = field(default_factory=CancelToken)
    mock: MockSession | None = None  # the execution's mock test case (Step Functions Local's files)
    # TestState's listener for the steps of input/output processing (state, step name, value).
    inspector: Callable[[Any, str, Any], None] | None = None
    extensions: dict[str, Any] = field(default_factory=dict)

    def require_host(self, what: str) -> StateHost:
        """The host, for ``what`` (a state or integration that starts or follows other executions)."""
        if self.host is None:
            raise StatesFailure(RUNTIME, f"{what} needs an execution host for the executions it starts")
        return self.host

    def jsonata_functions(self) -> dict[str, Any]:
        """``$now()`` and ``$millis()`` on this execution's clock (virtual in tests), made once."""
        functions = self.extensions.get("jsonata_functions")
        if functions is None:
            clock = self.clock
            functions = clock_functions(lambda: iso(clock.now()), lambda: int(clock.now().timestamp() * 1000))
            self.extensions["jsonata_functions"] = functions
        return functions

    def execution_context_object(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "Id": self.execution_arn,
            "Input": self.input,
            "Name": self.execution_name,
            "RoleArn": self.role_arn,
            "StartTime": iso_trimmed(self.start_time),
            "RedriveCount": self.redrive_count,
        }
        if self.redrive_time is not None:
            obj["RedriveTime"] = iso_trimmed(self.redrive_time)
        return obj


class Frame:
    """One thread of control: its variables, its cancellation, its place in the history and the
    progress record that redrive resumes from."""

    __slots__ = ("ctx", "last_event", "record", "resume", "token", "variables")

    def __init__(
        self,
        ctx: ExecutionContext,
        variables: Variables,
        token: CancelToken,
        *,
        last_event: int,
        record: dict[str, Any],
        resume: dict[str, Any] | None = None,
    ) -> None:
        self.ctx = ctx
        self.variables = variables
        self.token = token
        self.last_event = last_event
        self.record = record
        self.resume = resume

    def event(self, event_type: str, details: dict[str, Any] | None = None) -> int:
        self.last_event = self.ctx.history.add(event_type, self.last_event, details)
        return self.last_event

    def child(
        self, record: dict[str, Any], resume: dict[str, Any] | None = None, group: CancelToken | None = None
    ) -> Frame:
        restored = dict(resume.get("vars") or {}) if resume else {}
        return Frame(
            self.ctx,
            Variables(restored, self.variables),
            CancelToken(group or self.token),
            last_event=self.last_event,
            record=record,
            resume=resume,
        )

    def parent_cancelled(self) -> bool:
        """Whether the cancellation came from above this frame (a sibling failed, a stop)."""
        parent = self.token.parent
        return parent is not None and parent.is_set()

    def cancel(self, reason: str) -> None:
        self.token.cancel(reason)
        self.ctx.clock.notify()

    def check(self) -> None:
        """Raise if the execution was stopped, this branch cancelled, or the execution timed out."""
        if self.token.is_set():
            raise ExecutionStopped(self.token.reason)
        deadline = self.ctx.deadline
        if deadline is not None and self.ctx.clock.now() >= deadline:
            raise ExecutionTimedOut()

    def sleep(
        self, seconds: float, *, until: dt.datetime | None = None, wake: threading.Event | None = None
    ) -> None:
        """Sleep on the execution's clock; raise if stopped, cancelled or out of time meanwhile.

        ``until`` is a deadline of the caller's own (a task timeout): the sleep ends there and the
        caller checks it. ``wake`` ends the sleep early (a task token answered).
        """
        clock = self.ctx.clock
        now = clock.now()
        end = now + dt.timedelta(seconds=max(seconds, 0.0))
        if until is not None and until < end:
            end = until
        deadline = self.ctx.deadline
        if deadline is not None and deadline < end:
            end = deadline
        # Either the caller's event or a cancellation ends the sleep.
        event = self.token.event if wake is None else AnyEvent(wake, self.token.event)
        clock.sleep((end - now).total_seconds(), event)
        self.check()


class AnyEvent(threading.Event):
    """An Event that reads as set when any of the given events is (for ``Clock.sleep``'s ``wake``:
    a sleep that ends on a cancellation, a task token answered, a child ending, ...)."""

    def __init__(self, *events: threading.Event) -> None:
        super().__init__()
        self._events = events

    def is_set(self) -> bool:
        return any(event.is_set() for event in self._events)

    def wait(self, timeout: float | None = None) -> bool:
        # Poll: only the real clock waits on it (the other clocks read is_set() when notified).
        step = 0.05
        remaining = timeout
        while not self.is_set():
            if remaining is not None and remaining <= 0:
                return False
            self._events[0].wait(step if remaining is None else min(step, remaining))
            if remaining is not None:
                remaining -= step
        return True
