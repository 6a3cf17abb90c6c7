"""The base of every state: parsing of the fields all states share and the one template method
that runs a state (input processing, body, output processing and Assign, Retry and Catch)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from localcloud.asl.checker import JSONATA, JSONPATH, Checker, pointer
from localcloud.asl.errors import (
    ALL,
    DATA_LIMIT_EXCEEDED,
    QUERY_EVALUATION_ERROR,
    RESULT_PATH_MATCH_FAILURE,
    ExecutionStopped,
    StatesFailure,
    error_matches,
)
from localcloud.asl.history import NOT_TRUNCATED, iso_trimmed
from localcloud.asl.jsonpath import PathNotFound, set_reference_path
from localcloud.asl.payload import eval_jsonata_template, eval_jsonpath_template, select_path, to_json
from localcloud.asl.runtime import Frame

if TYPE_CHECKING:
    from localcloud.asl.definition import ParseContext, StateGraph

# 256 KiB: the largest input, output or result a state may carry ("Quotas" in the developer guide).
MAX_PAYLOAD_BYTES = 256 * 1024

_MISSING: Any = object()
NULL_PATH = None  # a JSONPath field set to null (InputPath/OutputPath: {}; ResultPath: discard)


class Transition:
    """Where a state leaves to: ``next`` (None when the state ends its branch) and its output."""

    __slots__ = ("next", "output")

    def __init__(self, next_state: str | None, output: Any) -> None:
        self.next = next_state
        self.output = output


class Retrier:
    __slots__ = ("backoff_rate", "error_equals", "interval", "jitter", "max_attempts", "max_delay")

    def __init__(self, raw: dict[str, Any], path: str, check: Checker) -> None:
        self.error_equals = _error_equals(raw, path, check)
        self.interval = check.integer(raw, "IntervalSeconds", path, minimum=1, maximum=99999999)
        self.max_attempts = check.integer(raw, "MaxAttempts", path, minimum=0, maximum=99999999)
        self.backoff_rate = check.number(raw, "BackoffRate", path, minimum=1.0)
        self.max_delay = check.integer(raw, "MaxDelaySeconds", path, minimum=1, maximum=31622400)
        self.jitter = check.string(raw, "JitterStrategy", path) or "NONE"
        if self.jitter not in ("FULL", "NONE"):
            check.add(
                pointer(path, "JitterStrategy"),
                "The value for the field 'JitterStrategy' must be FULL or NONE",
            )
        check.allowed_fields(
            raw,
            {
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            },
            path,
            "a Retrier",
        )

    def delay(self, attempt: int) -> float:
        """Seconds before retry number ``attempt`` (0-based), as the guide's Retry section says."""
        interval = float(self.interval if self.interval is not None else 1)
        rate = self.backoff_rate if self.backoff_rate is not None else 2.0
        seconds = interval * (rate**attempt)
        if self.max_delay is not None:
            seconds = min(seconds, float(self.max_delay))
        if self.jitter == "FULL":
            seconds = random.uniform(0, seconds)
        return seconds

    @property
    def attempts(self) -> int:
        return 3 if self.max_attempts is None else self.max_attempts


class Catcher:
    __slots__ = ("assign", "error_equals", "next", "output", "result_path")

    def __init__(self, raw: dict[str, Any], path: str, check: Checker, language: str) -> None:
        self.error_equals = _error_equals(raw, path, check)
        self.next = check.string(raw, "Next", path, required=True) or ""
        self.result_path: Any = _MISSING
        self.output: Any = _MISSING
        allowed = {"ErrorEquals", "Next", "Comment", "Assign"}
        if language == JSONPATH:
            allowed.add("ResultPath")
            if "ResultPath" in raw:
                value = raw["ResultPath"]
                if value is None:
                    self.result_path = None
                elif isinstance(value, str) and check.jsonpath_text(
                    value, pointer(path, "ResultPath"), "ResultPath", reference=True
                ):
                    self.result_path = value
        else:
            allowed.add("Output")
            if "Output" in raw:
                self.output = raw["Output"]
                check.jsonata_template(self.output, pointer(path, "Output"))
        self.assign = check.assign(raw, path, language)
        check.allowed_fields(raw, allowed, path, f"a Catcher of a {language} state")


def _error_equals(raw: dict[str, Any], path: str, check: Checker) -> list[str]:
    value = raw.get("ErrorEquals")
    if "ErrorEquals" not in raw:
        check.add(path, "These fields are required: [ErrorEquals]")
        return []
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        check.add(
            pointer(path, "ErrorEquals"),
            "The value for the field 'ErrorEquals' must be a non-empty list of STRING",
        )
        return []
    if ALL in value and len(value) > 1:
        check.add(pointer(path, "ErrorEquals"), "States.ALL must appear alone in ErrorEquals")
    return list(value)


_H = TypeVar("_H", Retrier, Catcher)

# Fields of the states that run work (Task, Parallel, Map): transitions and error handling.
WORK_STATE_FIELDS = frozenset({"Next", "End", "Retry", "Catch", "Assign"})
# The JSONPath input/output processing fields of the states that produce a result.
RESULT_STATE_JSONPATH_FIELDS = frozenset(
    {"InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector"}
)


class State:
    """A parsed state. Subclasses set the fields they accept and implement :meth:`body`."""

    type_name: ClassVar[str] = ""
    # Fields every state of the type accepts, by query language (besides Type, Comment, QueryLanguage).
    jsonpath_fields: ClassVar[AbstractSet[str]] = frozenset()
    jsonata_fields: ClassVar[AbstractSet[str]] = frozenset()
    terminal: ClassVar[bool] = False  # Succeed and Fail: no Next/End
    has_result: bool = False  # Task, Parallel, Map (and JSONPath Pass): ResultPath and $states.result apply
    can_retry: ClassVar[bool] = False

    def __init__(self, name: str, raw: dict[str, Any], path: str, check: Checker, language: str) -> None:
        self.name = name
        self.path = path
        self.raw = raw
        self.language = language
        self.jsonata = language == JSONATA
        self.next: str | None = None
        self.end = False
        self.input_path: Any = "$"
        self.output_path: Any = "$"
        self.result_path: Any = "$"
        self.parameters: Any = _MISSING  # Parameters (JSONPath) or Arguments (JSONata)
        self.result_selector: Any = _MISSING
        self.output: Any = _MISSING
        self.assign: dict[str, Any] | None = None
        self.retriers: list[Retrier] = []
        self.catchers: list[Catcher] = []
        self.entered_type = f"{self.type_name}StateEntered"
        self.exited_type = f"{self.type_name}StateExited"
        # The states AWS records as aborted when a sibling's failure cancels them (a stop records
        # nothing for them: see ExecutionStopped.stop_requested).
        self.aborted_type = (
            f"{self.type_name}StateAborted" if self.type_name in ("Task", "Wait", "Parallel", "Map") else ""
        )
        self._parse_common(check)
        self.parse(check)

    # ---- parsing -------------------------------------------------------------------------------

    def _parse_common(self, check: Checker) -> None:
        raw, path = self.raw, self.path
        allowed = {"Type", "Comment", "QueryLanguage"} | (
            self.jsonata_fields if self.jsonata else self.jsonpath_fields
        )
        check.allowed_fields(raw, allowed, path, f"{self.type_name} states using {self.language}")
        if not self.terminal:
            nxt = check.string(raw, "Next", path)
            end = check.boolean(raw, "End", path)
            if nxt is not None and end:
                check.add(path, "These fields are mutually exclusive: [Next, End]")
            elif nxt is None and not end and "Next" not in raw:
                check.add(path, "Either 'Next' or 'End: true' is required", "MISSING_TRANSITION")
            self.next = nxt
            self.end = bool(end) and nxt is None
        if self.jsonata:
            if "Arguments" in raw:
                self.parameters = raw["Arguments"]
                check.jsonata_template(self.parameters, pointer(path, "Arguments"))
            if "Output" in raw:
                self.output = raw["Output"]
                check.jsonata_template(self.output, pointer(path, "Output"))
        else:
            if "InputPath" in raw:
                self.input_path = check.path(raw, "InputPath", path, nullable=True)
            if "OutputPath" in raw:
                self.output_path = check.path(raw, "OutputPath", path, nullable=True)
            if "ResultPath" in raw:
                value = raw["ResultPath"]
                if value is None:
                    self.result_path = None
                elif isinstance(value, str):
                    if check.jsonpath_text(value, pointer(path, "ResultPath"), "ResultPath", reference=True):
                        self.result_path = value
                else:
                    check.add(
                        pointer(path, "ResultPath"),
                        "The value for the field 'ResultPath' must be a valid ReferencePath",
                    )
            if "Parameters" in raw:
                self.parameters = raw["Parameters"]
                check.payload_template(self.parameters, pointer(path, "Parameters"))
            if "ResultSelector" in raw:
                self.result_selector = raw["ResultSelector"]
                if not isinstance(self.result_selector, dict):
                    check.add(
                        pointer(path, "ResultSelector"),
                        "The value for the field 'ResultSelector' must be an OBJECT",
                    )
                check.payload_template(self.result_selector, pointer(path, "ResultSelector"))
        if "Assign" in raw:
            self.assign = check.assign(raw, path, self.language)
        self.retriers = self._handlers(check, "Retry", lambda item, at: Retrier(item, at, check))
        self.catchers = self._handlers(
            check, "Catch", lambda item, at: Catcher(item, at, check, self.language)
        )

    def _handlers(self, check: Checker, key: str, make: Callable[[dict[str, Any], str], _H]) -> list[_H]:
        """Retry or Catch: a list of objects; States.ALL may only appear in the last one."""
        if key not in self.raw:
            return []
        value = self.raw[key]
        kind = "Retrier" if key == "Retry" else "Catcher"
        if not isinstance(value, list):
            check.add(pointer(self.path, key), f"The value for the field '{key}' must be a LIST")
            return []
        handlers: list[_H] = []
        for i, item in enumerate(value):
            at = pointer(self.path, key, i)
            if not isinstance(item, dict):
                check.add(at, f"A {kind} must be an OBJECT")
                continue
            handler = make(item, at)
            handlers.append(handler)
            if ALL in handler.error_equals and i != len(value) - 1:
                check.add(pointer(at, "ErrorEquals"), f"States.ALL must appear in the last {kind}")
        return handlers

    def parse(self, check: Checker) -> None:
        """Parse and check the fields specific to the state type."""

    def setup(self, pctx: ParseContext) -> None:
        """Second parsing step for states that need the parse context (sub-graphs, integrations)."""

    def transitions(self) -> list[tuple[str, str]]:
        """Every (JSON Pointer, target) this state may move to, for the graph checks."""
        out: list[tuple[str, str]] = []
        if self.next is not None:
            out.append((pointer(self.path, "Next"), self.next))
        for i, catcher in enumerate(self.catchers):
            if catcher.next:
                out.append((pointer(self.path, "Catch", i, "Next"), catcher.next))
        return out

    def assigned_variables(self) -> dict[str, str]:
        """Variable name -> JSON Pointer of (one of) the Assign entries that set it."""
        found: dict[str, str] = {}
        sources = [(self.assign, pointer(self.path, "Assign"))]
        sources += [(c.assign, pointer(self.path, "Catch", i, "Assign")) for i, c in enumerate(self.catchers)]
        for assign, at in sources:
            for key in assign or {}:
                name = key[:-2] if key.endswith(".$") and not self.jsonata else key
                found.setdefault(name, pointer(at, key))
        return found

    def subgraphs(self) -> list[StateGraph]:
        """Graphs nested in this state (Parallel branches, a Map's ItemProcessor)."""
        return []

    # ---- running: the template method ------------------------------------------------------------

    def execute(self, frame: Frame, raw_input: Any) -> Transition:
        try:
            return self._execute(frame, raw_input)
        except ExecutionStopped as stopped:
            if self.aborted_type and not stopped.stop_requested:
                frame.event(self.aborted_type)
            raise

    def _execute(self, frame: Frame, raw_input: Any) -> Transition:
        run = StateRun(self, frame, raw_input)
        run.enter()
        while True:
            try:
                transition = self.run_once(run)
                break
            except StatesFailure as failure:
                failure.locate(self.name, run.entered_id)
                if failure.error == QUERY_EVALUATION_ERROR and self.jsonata:
                    details = {"error": failure.error, "cause": failure.cause or "", "state": self.name}
                    if failure.location:
                        details["location"] = failure.location
                    frame.event("EvaluationFailed", details)
                delay = self._retry_delay(run, failure)
                if delay is not None:
                    frame.sleep(delay)
                    run.retry_count += 1
                    run.reset_context()
                    continue
                transition = self._catch(run, failure)
                break
        run.exit(transition.output)
        return transition

    def run_once(self, run: StateRun) -> Transition:
        """One attempt: input processing, body, output processing and Assign."""
        effective = run.effective_input()
        result = self.body(run, effective)
        return run.finish(result)

    def body(self, run: StateRun, effective_input: Any) -> Any:
        """The state's own work. Returns its result (Pass/Task/Map/Parallel) or the effective input."""
        return effective_input

    def next_state(self, run: StateRun) -> str | None:
        return self.next

    def _retry_delay(self, run: StateRun, failure: StatesFailure) -> float | None:
        # The first retrier whose ErrorEquals matches decides; once it is exhausted, no later
        # retrier is tried (the guide's "Retry" section), and Catch takes over.
        for index, retrier in enumerate(self.retriers):
            if error_matches(failure.error, retrier.error_equals):
                attempt = run.retry_attempts.get(index, 0)
                if attempt >= retrier.attempts:
                    return None
                run.retry_attempts[index] = attempt + 1
                return retrier.delay(attempt)
        return None

    def _catch(self, run: StateRun, failure: StatesFailure) -> Transition:
        for catcher in self.catchers:
            if error_matches(failure.error, catcher.error_equals):
                return run.caught(catcher, failure)
        raise failure


class StateRun:
    """One execution of one state: its input, the context object, retries and the exit event."""

    __slots__ = (
        "_context",
        "assigned",
        "entered_id",
        "entered_time",
        "frame",
        "map_item",
        "raw_input",
        "retry_attempts",
        "retry_count",
        "state",
        "task_token",
    )

    def __init__(self, state: State, frame: Frame, raw_input: Any) -> None:
        self.state = state
        self.frame = frame
        self.raw_input = raw_input
        self.retry_count = 0
        self.retry_attempts: dict[int, int] = {}
        self.entered_id = 0
        self.entered_time: dt.datetime = frame.ctx.clock.now()
        self._context: dict[str, Any] | None = None
        self.map_item: dict[str, Any] | None = None
        self.task_token: str | None = None
        self.assigned: dict[str, Any] | None = None

    # ---- events ----------------------------------------------------------------------------------

    def enter(self) -> None:
        text = to_json(self.raw_input)
        self.entered_id = self.frame.event(
            self.state.entered_type,
            {"name": self.state.name, "input": text, "inputDetails": NOT_TRUNCATED},
        )
        if len(text.encode("utf-8")) > MAX_PAYLOAD_BYTES:
            raise StatesFailure(
                DATA_LIMIT_EXCEEDED,
                f"The state/task '{self.state.name}' returned a result with a size exceeding "
                "the maximum number of bytes service limit.",
            )

    def exit(self, output: Any) -> None:
        text = to_json(output)
        if len(text.encode("utf-8")) > MAX_PAYLOAD_BYTES:
            raise StatesFailure(
                DATA_LIMIT_EXCEEDED,
                f"The state/task '{self.state.name}' returned a result with a size exceeding "
                "the maximum number of bytes service limit.",
            )
        details: dict[str, Any] = {"name": self.state.name, "output": text, "outputDetails": NOT_TRUNCATED}
        if self.assigned:
            details["assignedVariables"] = {k: to_json(v) for k, v in self.assigned.items()}
            details["assignedVariablesDetails"] = NOT_TRUNCATED
        self.frame.event(self.state.exited_type, details)

    # ---- evaluation helpers -------------------------------------------------------------------------

    def context(self) -> dict[str, Any]:
        """The context object (``$$`` / ``$states.context``) as of this state's entry."""
        if self._context is None:
            ctx = self.frame.ctx
            obj: dict[str, Any] = {
                "Execution": ctx.execution_context_object(),
                "State": {
                    "EnteredTime": iso_trimmed(self.entered_time),
                    "Name": self.state.name,
                    "RetryCount": self.retry_count,
                },
                "StateMachine": {"Id": ctx.state_machine_arn, "Name": ctx.state_machine_name},
            }
            if self.task_token is not None:
                obj["Task"] = {"Token": self.task_token}
            if self.map_item is not None:
                obj["Map"] = {"Item": self.map_item}
            self._context = obj
        return self._context

    def reset_context(self) -> None:
        self._context = None

    def inspect(self, key: str, value: Any) -> None:
        """A step of input/output processing, for TestState's inspectionData (when it listens)."""
        inspector = self.frame.ctx.inspector
        if inspector is not None:
            inspector(self.state, key, value)

    def variable(self, name: str) -> Any:
        return self.frame.variables.get(name)

    def bindings(self, **states: Any) -> dict[str, Any]:
        """JSONata bindings: ``$states`` plus every variable in scope."""
        st: dict[str, Any] = {"input": self.raw_input, "context": self.context()}
        st.update(states)
        env = dict(self.frame.ctx.jsonata_functions())
        env.update(self.frame.variables.as_dict())
        env["states"] = st
        return env

    def path(self, text: str, data: Any, field: str) -> Any:
        return select_path(text, data, field=field, context=self.context, variables=self.variable)

    def template(self, template: Any, data: Any) -> Any:
        return eval_jsonpath_template(template, data, context=self.context, variables=self.variable)

    def jsonata(self, template: Any, field: str, **states: Any) -> Any:
        return eval_jsonata_template(template, self.bindings(**states), field=field)

    # ---- the phases --------------------------------------------------------------------------------

    def effective_input(self) -> Any:
        """InputPath then Parameters (JSONPath). JSONata states have no input processing: Arguments
        are evaluated by the states that take them."""
        state = self.state
        if state.jsonata:
            return self.raw_input
        data = self.raw_input
        if state.input_path is None:
            data = {}
        elif state.input_path != "$":
            data = self.path(state.input_path, data, "InputPath")
        self.inspect("afterInputPath", data)
        if state.parameters is not _MISSING:
            data = self.template(state.parameters, data)
        if state.has_result:
            self.inspect("afterParameters", data)
        return data

    def arguments(self) -> Any:
        """JSONata Arguments (evaluated), or None when the state has none."""
        state = self.state
        if state.parameters is _MISSING:
            return None
        arguments = self.jsonata(state.parameters, "Arguments")
        self.inspect("afterArguments", arguments)
        return arguments

    def finish(self, result: Any) -> Transition:
        """Output processing and Assign: both see the variables as they were before this state."""
        state = self.state
        if state.has_result:
            self.inspect("result", result)
        if state.jsonata:
            if state.has_result:
                if state.output is not _MISSING:
                    output = self.jsonata(state.output, "Output", result=result)
                else:
                    output = result
                pending = self.jsonata(state.assign, "Assign", result=result) if state.assign else None
            else:
                output = (
                    self.jsonata(state.output, "Output") if state.output is not _MISSING else self.raw_input
                )
                pending = self.jsonata(state.assign, "Assign") if state.assign else None
        else:
            if state.has_result and state.result_selector is not _MISSING:
                result = self.template(state.result_selector, result)
            pending = self.template(state.assign, result) if state.assign else None
            if state.has_result:
                self.inspect("afterResultSelector", result)
                output = self.apply_result_path(state.result_path, result)
                self.inspect("afterResultPath", output)
            else:
                output = result
            output = self.apply_output_path(output)
        self.commit(pending)
        return Transition(state.next_state(self), output)

    def apply_output_path(self, output: Any) -> Any:
        output_path = self.state.output_path
        if output_path is None:
            return {}
        if output_path != "$":
            return self.path(output_path, output, "OutputPath")
        return output

    def commit(self, pending: dict[str, Any] | None) -> None:
        """Make Assign's values visible to the states after this one."""
        if pending:
            self.frame.variables.assign(pending)
            self.assigned = pending

    def apply_result_path(self, result_path: Any, result: Any) -> Any:
        if result_path is None:
            return self.raw_input
        if result_path == "$":
            return result
        try:
            return set_reference_path(self.raw_input, result_path, result)
        except PathNotFound as exc:
            raise StatesFailure(
                RESULT_PATH_MATCH_FAILURE,
                f'Unable to apply ResultPath "{result_path}" to input "{to_json(self.raw_input)}"',
            ) from exc

    def caught(self, catcher: Catcher, failure: StatesFailure) -> Transition:
        error_output = {"Error": failure.error, "Cause": failure.cause if failure.cause is not None else ""}
        state = self.state
        if state.jsonata:
            if catcher.output is not _MISSING:
                output = self.jsonata(catcher.output, "Output", errorOutput=error_output)
            else:
                output = error_output
            pending = (
                self.jsonata(catcher.assign, "Assign", errorOutput=error_output) if catcher.assign else None
            )
        else:
            pending = self.template(catcher.assign, error_output) if catcher.assign else None
            result_path = "$" if catcher.result_path is _MISSING else catcher.result_path
            output = self.apply_result_path(result_path, error_output)
        self.commit(pending)
        return Transition(catcher.next, output)


Parser = Callable[[str, dict[str, Any], str, Checker, str], State]
MISSING = _MISSING
