"""TestState: run one state once, outside any state machine execution, and say what it did.

What AWS documents (API_TestState, "Using TestState API to test a state") and what its recorded
answers show, followed here:

- The definition is one state, or (with ``stateName``) a whole state machine and the name of one of
  its states. The state runs once on ``input`` with ``variables`` in scope; a Task calls its service
  unless ``mock`` gives its ``result`` (JSON text) or ``errorOutput`` (error and cause). Map and
  Parallel states can only be tested with a mock (their result), as can ``context`` (the context
  object, merged over the one TestState makes: an ``express`` execution of a state machine of its own).
- ``status``: ``SUCCEEDED`` (``output``, ``nextState`` unless the state ends), ``FAILED`` (``error``,
  ``cause``), ``CAUGHT_ERROR`` (a Catch took it: ``output`` is the Catch's output, ``nextState`` its
  target) or ``RETRIABLE`` (a Retry would run it again). Nothing is retried: ``stateConfiguration.
  retrierRetryCount`` says how many retries already happened, so the retrier that matches is either
  still retriable (``errorDetails.retryIndex`` and ``retryBackoffIntervalSeconds``) or exhausted
  (``retryIndex`` alone, then the Catchers decide).
- ``inspectionData`` (DEBUG and TRACE; nothing at INFO): the input, each step of input and output
  processing the state type has (``afterInputPath``, ``afterParameters``, ``result``,
  ``afterResultSelector``, ``afterResultPath``; JSONata: ``afterArguments``, ``result``), the
  variables after the state, the Map's ``afterItemsPath``, ``afterItemSelector``,
  ``afterItemBatcher``, ``maxConcurrency``, ``toleratedFailureCount``/``Percentage``, and
  ``errorDetails``. TRACE adds the HTTP request and response of an HTTP Task, which localcloud never
  calls: only a mocked HTTP Task can be tested, so there is none to show.
- Mocked results are checked against the integration's API response shape (``fieldValidationMode``
  STRICT: required fields present and every field of the right type; PRESENT: only the fields
  present; NONE: nothing) with AWS's messages (``Mock result schema validation error: Field
  'StatusCode' must be a number``); fields the API does not have are accepted.

Errors: :class:`TestStateRefused` with the API error code (``ValidationException``,
``InvalidDefinition``, ``InvalidExecutionInput``) and AWS's message where its recorded answers show it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.model import Shape

from localcloud.asl.clock import VirtualClock
from localcloud.asl.definition import parse_definition
from localcloud.asl.errors import (
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    DefinitionError,
    StatesFailure,
    error_matches,
)
from localcloud.asl.history import History
from localcloud.asl.integrations import IntegrationFactory
from localcloud.asl.integrations.aws_sdk import AwsSdkIntegration, resolve_operation, sdk_field
from localcloud.asl.integrations.catalog import OPTIMIZED
from localcloud.asl.machine import StateGraph, StateMachine
from localcloud.asl.mocking import MockedEntry, MockSession, MockTestCase
from localcloud.asl.payload import to_json
from localcloud.asl.registrations import default_factory
from localcloud.asl.runtime import CancelToken, ExecutionContext, Frame, Variables
from localcloud.asl.states.base import MISSING, State, StateRun, Transition
from localcloud.asl.states.map_state import MapState
from localcloud.asl.states.parallel import ParallelState
from localcloud.asl.states.task import TaskState

# The name TestState gives a lone state (its context object's State.Name).
LONE_STATE = "StateName"
INSPECTION_LEVELS = ("INFO", "DEBUG", "TRACE")
VALIDATION_MODES = ("STRICT", "PRESENT", "NONE")
THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"


class TestStateRefused(Exception):
    """The request is refused: ``code`` is the API error (ValidationException, InvalidDefinition, ...)."""

    __test__ = False  # not a pytest test class

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class TestStateRequest:
    """TestState's request, as botocore's model names its members."""

    __test__ = False

    definition: str
    role_arn: str | None = None
    input: str | None = None
    inspection_level: str | None = None
    reveal_secrets: bool = False
    variables: str | None = None
    state_name: str | None = None
    mock: dict[str, Any] | None = None
    context: str | None = None
    state_configuration: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TestStateRequest:
        return cls(
            definition=params["definition"],
            role_arn=params.get("roleArn"),
            input=params.get("input"),
            inspection_level=params.get("inspectionLevel"),
            reveal_secrets=bool(params.get("revealSecrets")),
            variables=params.get("variables"),
            state_name=params.get("stateName"),
            mock=params.get("mock"),
            context=params.get("context"),
            state_configuration=dict(params.get("stateConfiguration") or {}),
        )


def _json_text(text: str | None, default: Any, code: str, what: str) -> tuple[Any, str]:
    if text is None:
        return default, json.dumps(default)
    try:
        return json.loads(text), text
    except json.JSONDecodeError as exc:
        raise TestStateRefused(code, f"{what} must be valid JSON: {exc}") from exc


class TestStateRunner:
    """Runs TestState requests with the host's integrations and service clients."""

    __test__ = False

    def __init__(
        self,
        *,
        integrations: IntegrationFactory | None = None,
        client_factory: Callable[[str], Any] | None = None,
        region: str = "us-east-1",
        account: str = "123456789012",
        clock_now: Callable[[], Any] | None = None,
    ) -> None:
        self.integrations = integrations or default_factory()
        self.client_factory = client_factory or (lambda service: None)
        self.region = region
        self.account = account
        self.clock_now = clock_now or (lambda: dt.datetime.now(dt.UTC))

    # ---- the request ------------------------------------------------------------------------------

    def run(self, request: TestStateRequest) -> dict[str, Any]:
        level = request.inspection_level or "INFO"
        if level not in INSPECTION_LEVELS:
            raise TestStateRefused("ValidationException", f"Invalid inspectionLevel: '{level}'")
        state, machine_name = self._state(request)
        mock = _Mock.parse(request, state)
        if not isinstance(state, TaskState | MapState | ParallelState) and mock is not None:
            raise TestStateRefused(
                "ValidationException",
                f"State type '{state.type_name}' is not supported when a mock is specified",
            )
        if isinstance(state, MapState | ParallelState) and mock is None:
            raise TestStateRefused(
                "InvalidDefinition",
                "TestState API does not support Map or Parallel states. Supported state types include: "
                "[Task, Wait, Pass, Succeed, Fail, Choice]",
            )
        if isinstance(state, TaskState) and mock is None and not request.role_arn:
            raise TestStateRefused(
                "ValidationException", "RoleArn must be specified when testing a Task state"
            )
        integration = state.integration if isinstance(state, TaskState) and mock is None else None
        if integration is not None and (integration.needs_task_token or integration.runs_a_job):
            raise TestStateRefused(
                "ValidationException",
                "TestState runs .sync and .waitForTaskToken tasks only with a mock: they would wait "
                "for a job or a callback",
            )
        if request.context is not None and mock is None:
            raise TestStateRefused(
                "ValidationException", "The context field may only be specified together with a mock"
            )
        input_value, input_text = _json_text(request.input, {}, "InvalidExecutionInput", "The input")
        variables, _ = _json_text(request.variables, {}, "ValidationException", "The variables")
        if not isinstance(variables, dict):
            raise TestStateRefused("ValidationException", "The variables must be a JSON object")
        context, _ = _json_text(request.context, {}, "ValidationException", "The context")
        if mock is not None:
            mock.check(state)
        caused_by = request.state_configuration.get("errorCausedByState")
        if caused_by is not None and not any(_find(sub, caused_by) for sub in state.subgraphs()):
            raise TestStateRefused(
                "ValidationException",
                f"The state '{caused_by}' named by stateConfiguration.errorCausedByState is not a state "
                f"of the Map or Parallel state '{state.name}'",
            )
        outcome = _Attempt(self, request, state, machine_name, mock).run(input_value, variables, context)
        return outcome.response(level, input_text, mock)

    def _state(self, request: TestStateRequest) -> tuple[State, str]:
        """The state under test, parsed (every problem of the definition refused at once)."""
        try:
            raw = json.loads(request.definition)
        except json.JSONDecodeError as exc:
            raise TestStateRefused(
                "InvalidDefinition", f"Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {exc}'"
            ) from exc
        if not isinstance(raw, dict):
            raise TestStateRefused("InvalidDefinition", "Invalid State Machine Definition: not a JSON object")
        if request.state_name is not None:
            machine = self._parse(raw)
            found = _find(machine.graph, request.state_name)
            if found is None:
                raise TestStateRefused(
                    "ValidationException",
                    f"State '{request.state_name}' does not exist in the state machine definition",
                )
            return found, request.state_name
        machine = self._parse(_lone_machine(raw))
        return machine.graph.states[LONE_STATE], LONE_STATE

    def _parse(self, raw: dict[str, Any]) -> StateMachine:
        try:
            return parse_definition(raw, self.integrations)
        except DefinitionError as exc:
            listed = ", ".join(str(p) for p in exc.problems)
            raise TestStateRefused(
                "InvalidDefinition", f"Invalid State Machine Definition: '{listed}'"
            ) from exc


def _lone_machine(state: dict[str, Any]) -> dict[str, Any]:
    """A state machine around a lone state: the states it may move to stand in as Succeed states."""
    targets = [state.get("Next"), state.get("Default")]
    targets += [c.get("Next") for c in state.get("Choices") or [] if isinstance(c, dict)]
    targets += [c.get("Next") for c in state.get("Catch") or [] if isinstance(c, dict)]
    states: dict[str, Any] = {name: {"Type": "Succeed"} for name in targets if isinstance(name, str)}
    states[LONE_STATE] = state
    machine: dict[str, Any] = {"StartAt": LONE_STATE, "States": states}
    if state.get("QueryLanguage") == "JSONata":
        machine["QueryLanguage"] = "JSONata"
    return machine


def _find(graph: StateGraph, name: str) -> State | None:
    if name in graph.states:
        return graph.states[name]
    for state in graph.states.values():
        for sub in state.subgraphs():
            found = _find(sub, name)
            if found is not None:
                return found
    return None


# ---- mocks --------------------------------------------------------------------------------------------


@dataclass
class _Mock:
    result: Any = MISSING
    result_text: str = ""
    error: str = ""
    cause: str = ""
    mode: str = "STRICT"

    @classmethod
    def parse(cls, request: TestStateRequest, state: State) -> _Mock | None:
        mock = request.mock
        if not mock:
            return None
        if "result" in mock and "errorOutput" in mock:
            raise TestStateRefused(
                "ValidationException",
                "A test mock should have only one of the following fields: [result, errorOutput].",
            )
        if request.reveal_secrets:
            raise TestStateRefused(
                "ValidationException", "TestState does not support RevealSecrets when a mock is specified."
            )
        mode = mock.get("fieldValidationMode") or "STRICT"
        if mode not in VALIDATION_MODES:
            raise TestStateRefused("ValidationException", f"Invalid fieldValidationMode: '{mode}'")
        if "errorOutput" in mock:
            output = mock["errorOutput"] or {}
            if not output.get("error"):
                raise TestStateRefused("ValidationException", "mock.errorOutput.error must be specified")
            return cls(error=str(output["error"]), cause=str(output.get("cause") or ""), mode=mode)
        if "result" not in mock:
            raise TestStateRefused(
                "ValidationException", "A test mock must have one of the fields [result, errorOutput]."
            )
        text = mock["result"]
        try:
            value = json.loads(text)
        except (TypeError, json.JSONDecodeError) as exc:
            raise TestStateRefused("ValidationException", f"Mocked result must be valid JSON: {exc}") from exc
        return cls(result=value, result_text=text, mode=mode)

    @property
    def throws(self) -> bool:
        return self.result is MISSING

    def check(self, state: State) -> None:
        """AWS's checks of a mocked result for the state it stands in for."""
        if self.throws:
            return
        if isinstance(state, MapState):
            writer = getattr(state.processor, "writer", None)
            if writer is not None and not isinstance(self.result, dict):
                raise TestStateRefused("ValidationException", "Mocked result must be a JSON object.")
            if writer is None and not isinstance(self.result, list):
                raise TestStateRefused("ValidationException", "Mocked result must be an array.")
        elif isinstance(state, ParallelState):
            if not isinstance(self.result, list):
                raise TestStateRefused("ValidationException", "Mocked result must be an array.")
            if len(self.result) != len(state.branches):
                raise TestStateRefused(
                    "ValidationException",
                    "Mocked result must contain the same number of items as number of Parallel branches.",
                )
        elif isinstance(state, TaskState) and self.mode != "NONE":
            shape = _result_shape(state)
            if shape is not None:
                problem = _shape_problem(self.result, shape, strict=self.mode == "STRICT")
                if problem:
                    raise TestStateRefused(
                        "ValidationException", f"Mock result schema validation error: {problem}"
                    )

    def session(self, state_name: str) -> MockSession:
        entry = (
            MockedEntry(0, 0, error=self.error, cause=self.cause)
            if self.throws
            else MockedEntry(0, 0, returns=self.result)
        )
        case = MockTestCase("TestState", "TestState", {state_name: "mock"}, {"mock": (entry,)})
        return MockSession.start(case)


def _result_shape(state: TaskState) -> Shape | None:
    """The API response shape a Task's result follows (None: no model to check against)."""
    integration = state.integration
    if integration is None:
        return None
    resource = integration.resource
    if isinstance(integration, AwsSdkIntegration):
        return integration.operation.output_shape if integration.operation is not None else None
    entry = OPTIMIZED.get(resource.service)
    client = entry.client_for(resource.action) if entry is not None else None
    operation = resolve_operation(client, resource.action) if client else None
    return operation.output_shape if operation is not None else None


_KINDS = {
    "string": ("a string", str),
    "timestamp": ("a string", str),
    "blob": ("a string", str),
    "boolean": ("a boolean", bool),
    "list": ("an array", list),
    "structure": ("an object", dict),
    "map": ("an object", dict),
}


def _shape_problem(value: Any, shape: Shape, *, strict: bool, name: str = "") -> str:
    """The first way ``value`` breaks ``shape``, in AWS's words ('' when it conforms)."""
    kind = shape.type_name
    if kind in ("integer", "long", "float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"Field '{name}' must be a number"
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            return f"Field '{name}' is less than the minimum value"
        if high is not None and value > high:
            return f"Field '{name}' exceeds the maximum value"
        return ""
    words, python = _KINDS.get(kind, ("", object))
    if python is not object and (
        not isinstance(value, python) or (python is not bool and isinstance(value, bool))
    ):
        return f"Field '{name}' must be {words}"
    if kind in ("string", "blob"):
        enum = shape.enum if kind == "string" else []  # type: ignore[attr-defined]
        if enum and value not in enum:
            return f"Field '{name}' is not an expected value"
        low = shape.metadata.get("min")
        if low is not None and len(value) < low:
            return f"Field '{name}' is smaller than the minimum length"
        return ""
    if kind == "structure":
        members = shape.members  # type: ignore[attr-defined]
        spelled = {sdk_field(member): member for member in members}
        if strict:
            for member in shape.required_members:
                if sdk_field(member) not in value:
                    return f"Required field '{sdk_field(member)}' is missing"
        for key, item in value.items():
            found = spelled.get(key)
            if found is not None:
                problem = _shape_problem(item, members[found], strict=strict, name=key)
                if problem:
                    return problem
        return ""
    if kind == "list":
        for item in value:
            problem = _shape_problem(item, shape.member, strict=strict, name=name)  # type: ignore[attr-defined]
            if problem:
                return problem
        return ""
    if kind == "map":
        for item in value.values():
            problem = _shape_problem(item, shape.value, strict=strict, name=name)  # type: ignore[attr-defined]
            if problem:
                return problem
    return ""


# ---- one attempt ---------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    status: str
    output: Any = MISSING
    next_state: str | None = None
    error: str | None = None
    cause: str | None = None
    inspection: dict[str, Any] = field(default_factory=dict)

    def response(self, level: str, input_text: str, mock: _Mock | None) -> dict[str, Any]:
        def text(value: Any) -> str:
            # A value passed on unchanged keeps the text it came in (as AWS returns it).
            if mock is not None and not mock.throws and value is mock.result:
                return mock.result_text
            return to_json(value)

        answer: dict[str, Any] = {"status": self.status}
        if self.output is not MISSING:
            answer["output"] = text(self.output)
        if self.next_state is not None:
            answer["nextState"] = self.next_state
        if self.error is not None:
            answer["error"] = self.error
        if self.cause is not None:
            answer["cause"] = self.cause
        if level != "INFO":
            data: dict[str, Any] = {"input": input_text}
            for key, value in self.inspection.items():
                data[key] = value if key in _NOT_JSON else text(value)
            answer["inspectionData"] = data
        return answer


# Inspection fields that are numbers or objects in the API, not JSON text.
_NOT_JSON = frozenset(
    {"errorDetails", "maxConcurrency", "toleratedFailureCount", "toleratedFailurePercentage"}
)


class _Attempt:
    """One run of the state under test, on its own context, clock and history."""

    def __init__(
        self,
        runner: TestStateRunner,
        request: TestStateRequest,
        state: State,
        machine_name: str,
        mock: _Mock | None,
    ) -> None:
        self.runner = runner
        self.request = request
        self.state = state
        self.machine_name = machine_name
        self.mock = mock
        self.inspection: dict[str, Any] = {}
        self.config = request.state_configuration

    def run(self, input_value: Any, variables: dict[str, Any], context: dict[str, Any]) -> _Outcome:
        state = self.state
        self.input_value = input_value
        clock = VirtualClock(self.runner.clock_now())
        ctx = self._context(clock, input_value)
        frame = Frame(ctx, Variables(dict(variables)), ctx.root_token, last_event=0, record={})
        run = StateRun(state, frame, input_value)
        run.retry_count = int(self.config.get("retrierRetryCount") or 0)
        if context:
            run._context = _merged(run.context(), context)
        with clock.participant():
            try:
                transition = self._once(run)
            except StatesFailure as failure:
                failure.locate(state.name, run.entered_id or 2)
                outcome = self._failed(run, failure)
            else:
                outcome = _Outcome("SUCCEEDED", transition.output, transition.next)
        if frame.variables.as_dict():
            self.inspection["variables"] = frame.variables.as_dict()
        outcome.inspection = self._inspection(outcome)
        return outcome

    def _context(self, clock: VirtualClock, input_value: Any) -> ExecutionContext:
        runner = self.runner
        name = str(uuid.uuid4())
        machine = f"TestState-{uuid.uuid4()}"
        prefix = f"arn:aws:states:{runner.region}:{runner.account}"
        return ExecutionContext(
            execution_arn=f"{prefix}:express:{machine}:{name}",
            execution_name=name,
            state_machine_arn=f"{prefix}:stateMachine:{machine}",
            state_machine_name=machine,
            execution_type="EXPRESS",
            role_arn=self.request.role_arn,  # type: ignore[arg-type]  # null in the context when absent
            input=input_value,
            start_time=clock.now(),
            clock=clock,
            history=History(clock.now),
            integrations=runner.integrations,
            client_factory=runner.client_factory,
            region=runner.region,
            account=runner.account,
            root_token=CancelToken(),
            mock=self.mock.session(self.state.name) if self.mock is not None else None,
            inspector=self._listen,
        )

    def _listen(self, state: Any, key: str, value: Any) -> None:
        if state is self.state:
            self.inspection[key] = value

    def _once(self, run: StateRun) -> Transition:
        state = self.state
        if isinstance(state, MapState | ParallelState):
            assert self.mock is not None
            effective = run.effective_input()
            if isinstance(state, MapState):
                self._inspect_map(run, effective)
            if self.mock.throws:
                raise StatesFailure(self.mock.error, self.mock.cause)
            self._check_tolerance(run, effective)
            return run.finish(self.mock.result)
        if state.type_name == "Wait":
            # TestState does not wait: the state's input and output processing run, not its timer.
            return run.finish(run.effective_input())
        return state.run_once(run)

    def _inspect_map(self, run: StateRun, effective: Any) -> None:
        state = self.state
        assert isinstance(state, MapState)
        reader_data = self.config.get("mapItemReaderData")
        if reader_data is None or getattr(state.processor, "reader", None) is None:
            items = state.items(run, effective)
            if state.items_path not in (None, "$"):
                self.inspection["afterItemsPath"] = items
        else:
            items, _ = _json_text(
                reader_data, [], "ValidationException", "stateConfiguration.mapItemReaderData"
            )
        if state.item_selector is not MISSING:
            self.inspection["afterItemSelector"] = [
                state.iteration_input(run, effective, i, item) for i, item in enumerate(items)
            ]
        self.inspection["maxConcurrency"] = state.concurrency(run, effective)
        for key, setting in self._tolerances():
            if setting is not None:
                self.inspection[key] = setting.resolve(run, effective)

    def _tolerances(self) -> list[tuple[str, Any]]:
        processor = getattr(self.state, "processor", None)
        return [
            ("toleratedFailureCount", getattr(processor, "tolerated_count", None)),
            ("toleratedFailurePercentage", getattr(processor, "tolerated_percentage", None)),
        ]

    def _check_tolerance(self, run: StateRun, effective: Any) -> None:
        """``stateConfiguration.mapIterationFailureCount`` against the Map's tolerated thresholds."""
        failures = self.config.get("mapIterationFailureCount")
        if not isinstance(self.state, MapState) or not failures:
            return
        count = self.inspection.get("toleratedFailureCount")
        percentage = self.inspection.get("toleratedFailurePercentage")
        total = len(self.mock.result) if self.mock is not None and isinstance(self.mock.result, list) else 0
        over_count = count is not None and failures > count
        over_percentage = percentage is not None and total and failures * 100.0 / total > percentage
        if over_count or over_percentage:
            raise StatesFailure(EXCEED_TOLERATED_FAILURE_THRESHOLD, THRESHOLD_CAUSE)

    def _failed(self, run: StateRun, failure: StatesFailure) -> _Outcome:
        state = self.state
        details: dict[str, Any] = {}
        for index, retrier in enumerate(state.retriers):
            if error_matches(failure.error, retrier.error_equals):
                details["retryIndex"] = index
                done = int(self.config.get("retrierRetryCount") or 0)
                if done < retrier.attempts:
                    details["retryBackoffIntervalSeconds"] = math.floor(retrier.delay(done))
                    self.inspection["errorDetails"] = details
                    return _Outcome("RETRIABLE", error=failure.error, cause=failure.cause or "")
                break
        for index, catcher in enumerate(state.catchers):
            if error_matches(failure.error, catcher.error_equals):
                details["catchIndex"] = index
                self.inspection["errorDetails"] = details
                transition = run.caught(catcher, failure)
                return _Outcome(
                    "CAUGHT_ERROR", transition.output, transition.next, failure.error, failure.cause or ""
                )
        if details:
            self.inspection["errorDetails"] = details
        return _Outcome("FAILED", error=failure.error, cause=failure.cause or "")

    def _inspection(self, outcome: _Outcome) -> dict[str, Any]:
        """The fields AWS shows for this state type, in its order."""
        found = dict(self.inspection)
        state = self.state
        if state.type_name == "Fail" and not state.jsonata:  # it fails before processing its input
            found.setdefault("afterInputPath", self.input_value)
        if state.type_name == "Pass" and not state.jsonata:
            if getattr(state, "result", MISSING) is not MISSING:  # with Result: no input processing shown
                found.pop("afterInputPath", None)
                found.pop("afterParameters", None)
            else:
                found.pop("result", None)
        if isinstance(state, MapState | ParallelState):
            found.pop("afterParameters", None)  # a Map's Parameters are its ItemSelector
            if state.jsonata:
                found.pop("result", None)  # the mocked result is the output: AWS does not repeat it
        return found


def _merged(base: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in given.items():
        out[key] = (
            _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out
