"""Map: runs the ItemProcessor once per item. Inline processing lives here; the processor of each
``ProcessorConfig.Mode`` is the parse context's (``ParseContext.processors``, by default
``registrations.default_processors``: INLINE and ``distributed.processor.DistributedProcessor``)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar

from localcloud.asl.checker import Checker, pointer
from localcloud.asl.distributed.settings import path_number
from localcloud.asl.errors import QUERY_EVALUATION_ERROR, RUNTIME, ExecutionStopped, StatesFailure
from localcloud.asl.jsonata_eval import expression_body, is_expression
from localcloud.asl.runtime import CancelToken
from localcloud.asl.states.base import (
    MISSING,
    RESULT_STATE_JSONPATH_FIELDS,
    WORK_STATE_FIELDS,
    State,
    StateRun,
)
from localcloud.asl.states.children import (
    ABORTED,
    FAILED,
    SUCCEEDED,
    ChildOutcome,
    finish_group,
    run_child,
    spawn,
)

if TYPE_CHECKING:
    from localcloud.asl.definition import ParseContext, StateGraph

# Inline Map runs at most this many iterations at once (the guide: "up to 40 concurrent iterations").
INLINE_MAX_CONCURRENCY = 40

# Fields only a Distributed Map accepts; an INLINE Map naming one is a definition error.
DISTRIBUTED_ONLY = (
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "Label",
)


class MapProcessor:
    """How a Map runs its items. Subclasses: :class:`InlineProcessor` and the Distributed Map's."""

    mode: ClassVar[str] = ""

    def __init__(self, state: MapState) -> None:
        self.state = state

    def validate(self, pctx: ParseContext) -> None:
        return None

    def run(self, run: StateRun, effective_input: Any) -> Any:
        raise NotImplementedError


class InlineProcessor(MapProcessor):
    mode = "INLINE"

    def validate(self, pctx: ParseContext) -> None:
        for key in DISTRIBUTED_ONLY:
            if key in self.state.raw:
                pctx.check.add(
                    pointer(self.state.path, key),
                    f"The field '{key}' is only supported by a Map whose ProcessorConfig Mode is DISTRIBUTED",
                )

    def run(self, run: StateRun, effective_input: Any) -> Any:
        state = self.state
        frame = run.frame
        items = state.items(run, effective_input)
        resume = frame.resume if frame.resume and frame.resume.get("state") == state.name else None
        frame.resume = None
        previous: dict[str, Any] = dict((resume or {}).get("children") or {})
        records: dict[str, Any] = {}
        frame.record["children"] = records
        frame.event("MapStateStarted", {"length": len(items)})
        results: list[Any] = [None] * len(items)
        outcome = ChildOutcome(frame)
        group = CancelToken(frame.token)
        todo: list[int] = []
        for index in range(len(items)):
            before = previous.get(str(index))
            if before is not None and before.get("status") == SUCCEEDED:
                # Redrive: only failed or aborted iterations run again.
                records[str(index)] = before
                results[index] = before.get("output")
            else:
                todo.append(index)
        limit = state.concurrency(run, effective_input)
        workers = min(len(todo), limit if limit > 0 else INLINE_MAX_CONCURRENCY, INLINE_MAX_CONCURRENCY)
        lock = threading.Lock()
        position = [0]

        def take() -> int | None:
            with lock:
                if position[0] >= len(todo) or outcome.failed or group.is_set():
                    return None
                position[0] += 1
                return todo[position[0] - 1]

        def iterate(index: int) -> None:
            record: dict[str, Any] = {"status": "RUNNING"}
            records[str(index)] = record
            before = previous.get(str(index))
            child = frame.child(record, resume=before, group=group)
            data = state.iteration_input(run, effective_input, index, items[index])
            child.event("MapIterationStarted", {"name": state.name, "index": index})
            assert state.processor_graph is not None
            status, value = run_child(
                state.processor_graph, child, data, outcome, lambda: group.cancel("iteration failed")
            )
            if status == SUCCEEDED:
                results[index] = value
                child.event("MapIterationSucceeded", {"name": state.name, "index": index})
            elif status == FAILED:
                child.event("MapIterationFailed", {"name": state.name, "index": index})
            elif status == ABORTED and not (isinstance(value, ExecutionStopped) and value.stop_requested):
                child.event("MapIterationAborted", {"name": state.name, "index": index})

        def worker() -> None:
            while True:
                index = take()
                if index is None:
                    return
                try:
                    iterate(index)
                except StatesFailure as failure:  # ItemSelector failed: the Map fails
                    outcome.fail(failure)
                    group.cancel("iteration failed")

        if workers <= 1:
            worker()
        else:
            spawn(frame, [worker] * workers)
        finish_group(frame, group, outcome, "Map")
        return results


class MapState(State):
    type_name = "Map"
    _common = WORK_STATE_FIELDS | {
        "ItemProcessor",
        "Iterator",
        "ItemSelector",
        "MaxConcurrency",
        *DISTRIBUTED_ONLY,
    }
    jsonpath_fields = _common | RESULT_STATE_JSONPATH_FIELDS | {"ItemsPath", "MaxConcurrencyPath"}
    jsonata_fields = _common | {"Items", "Output"}
    has_result = True
    can_retry = True

    def parse(self, check: Checker) -> None:
        raw, path = self.raw, self.path
        # In a Map, "Parameters" is the legacy name of ItemSelector, not input processing.
        self.item_selector: Any = raw.get("ItemSelector", MISSING)
        if not self.jsonata and "Parameters" in raw:
            check.exclusive(raw, ["ItemSelector", "Parameters"], path)
            self.item_selector = raw["Parameters"]
            self.parameters = MISSING
        if self.item_selector is not MISSING:
            if self.jsonata:
                check.jsonata_template(self.item_selector, pointer(path, "ItemSelector"))
            else:
                check.payload_template(self.item_selector, pointer(path, "ItemSelector"))
        self.items_path = check.path(raw, "ItemsPath", path) if not self.jsonata else None
        self.items_value: Any = raw.get("Items", MISSING)
        if self.items_value is not MISSING:
            if isinstance(self.items_value, str) and is_expression(self.items_value):
                check.jsonata_template(self.items_value, pointer(path, "Items"))
            elif not isinstance(self.items_value, list):
                check.add(
                    pointer(path, "Items"),
                    "The value for the field 'Items' must be a LIST or a JSONata expression",
                )
        self.max_concurrency: Any = raw.get("MaxConcurrency", 0)
        if "MaxConcurrency" in raw:
            if self.jsonata and is_expression(self.max_concurrency):
                check.jsonata_template(self.max_concurrency, pointer(path, "MaxConcurrency"))
            else:
                check.integer(raw, "MaxConcurrency", path, minimum=0)
        self.max_concurrency_path = check.path(raw, "MaxConcurrencyPath", path) if not self.jsonata else None
        check.exclusive(raw, ["MaxConcurrency", "MaxConcurrencyPath"], path)
        check.exclusive(raw, ["ItemProcessor", "Iterator"], path)
        self.processor_graph: StateGraph | None = None
        self.processor: MapProcessor = InlineProcessor(self)

    def setup(self, pctx: ParseContext) -> None:
        check = pctx.check
        key = "ItemProcessor" if "ItemProcessor" in self.raw else "Iterator"
        spec = self.raw.get(key)
        at = pointer(self.path, key)
        if spec is None:
            check.add(self.path, "These fields are required: [ItemProcessor]")
            return
        if not isinstance(spec, dict):
            check.add(at, f"The value for the field '{key}' must be an OBJECT")
            return
        check.allowed_fields(
            spec, {"StartAt", "States", "Comment", "ProcessorConfig", "QueryLanguage"}, at, key
        )
        mode = "INLINE"
        config = spec.get("ProcessorConfig")
        if config is not None:
            if not isinstance(config, dict):
                check.add(
                    pointer(at, "ProcessorConfig"),
                    "The value for the field 'ProcessorConfig' must be an OBJECT",
                )
            else:
                check.allowed_fields(
                    config, {"Mode", "ExecutionType"}, pointer(at, "ProcessorConfig"), "ProcessorConfig"
                )
                mode = config.get("Mode", "INLINE")
                if mode not in ("INLINE", "DISTRIBUTED"):
                    check.add(
                        pointer(at, "ProcessorConfig", "Mode"),
                        "The value for the field 'Mode' must be INLINE or DISTRIBUTED",
                    )
                    mode = "INLINE"
                elif mode not in pctx.processors:
                    check.add(
                        pointer(at, "ProcessorConfig", "Mode"),
                        f"Map ProcessorConfig Mode '{mode}' (Distributed Map) "
                        "is not supported by localcloud yet",
                    )
                    return
                if "ExecutionType" in config and mode == "INLINE":
                    check.add(
                        pointer(at, "ProcessorConfig", "ExecutionType"),
                        "The field 'ExecutionType' is only supported by a DISTRIBUTED Map",
                    )
        graph = pctx.parse_graph(spec, at, self.language)
        if graph is not None:
            self.processor_graph = graph
        self.processor = pctx.processors[mode](self)
        self.processor.validate(pctx)

    def subgraphs(self) -> list[StateGraph]:
        return [self.processor_graph] if self.processor_graph is not None else []

    def body(self, run: StateRun, effective_input: Any) -> Any:
        return self.processor.run(run, effective_input)

    # ---- helpers the processors share -----------------------------------------------------------

    def items(self, run: StateRun, effective_input: Any) -> list[Any]:
        if self.jsonata:
            value = run.raw_input if self.items_value is MISSING else run.jsonata(self.items_value, "Items")
            if isinstance(value, list):
                return value
            if is_expression(self.items_value) and not isinstance(value, dict):
                raise _unexpected_items(expression_body(self.items_value), value)
            raise StatesFailure(QUERY_EVALUATION_ERROR, f"The field 'Items' {_not_an_array(value)}")
        value = (
            effective_input
            if self.items_path in (None, "$")
            else run.path(self.items_path or "$", effective_input, "ItemsPath")
        )
        if not isinstance(value, list):
            raise StatesFailure(
                RUNTIME, f"Invalid path '{self.items_path or '$'}': the items {_not_an_array(value)}"
            )
        return value

    def concurrency(self, run: StateRun, effective_input: Any) -> int:
        value: Any = self.max_concurrency
        if self.max_concurrency_path is not None:
            value = run.path(self.max_concurrency_path, effective_input, "MaxConcurrencyPath")
            value = path_number("MaxConcurrency", self.max_concurrency_path, value)
        elif self.jsonata and is_expression(value):
            value = run.jsonata(value, "MaxConcurrency")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise StatesFailure(
                    QUERY_EVALUATION_ERROR, f"MaxConcurrency must be a non-negative integer, got {value!r}"
                )
        return int(value or 0)

    def iteration_input(self, run: StateRun, effective_input: Any, index: int, item: Any) -> Any:
        if self.item_selector is MISSING:
            return item
        item_run = StateRun(self, run.frame, run.raw_input)
        item_run.entered_time = run.entered_time
        item_run.map_item = {"Index": index, "Value": item}
        if self.jsonata:
            return item_run.jsonata(self.item_selector, "ItemSelector")
        return item_run.template(self.item_selector, effective_input)


def _unexpected_items(body: str, value: Any) -> StatesFailure:
    """A JSONata Items that is not an array, worded as LocalStack's emulation words it (moto
    vendors it; no recording on AWS was found): the JSON type and the value, a string in quotes."""
    if value is None:
        shown, kind = "null", "null"
    elif isinstance(value, bool):
        shown, kind = ("true" if value else "false"), "boolean"
    elif isinstance(value, int | float):
        shown, kind = str(value), "number"
    else:
        shown, kind = f'"{value}"', "string"
    failure = StatesFailure(
        QUERY_EVALUATION_ERROR,
        f"The JSONata expression '{body}' specified for the field 'Items' returned an unexpected result "
        f"type. Expected 'array', but was '{kind}' for value: {shown}",
    )
    failure.location = "Items"
    return failure


def _not_an_array(value: Any) -> str:
    if isinstance(value, dict):
        # The ItemsPath page now describes iterating over an object's key-value pairs, but not the
        # shape each iteration receives; refused, loudly, rather than guessed.
        return (
            "are a JSON object: a Map over key-value pairs is not supported by localcloud yet; pass an array"
        )
    return f"must be a JSON array, got {type(value).__name__}"
