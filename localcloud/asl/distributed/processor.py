"""The Distributed Map processor: every item (or batch) runs as a child workflow execution of its
own, with its own ARN and history, under a Map Run the host records (the guide's "Using Map state
in Distributed mode").

One run of the Map state:

1. ``MapStateStarted`` (the item count when the items come from the state input, 0 with an
   ItemReader), the runtime settings (MaxConcurrency, tolerated failures) resolved, a Map Run
   registered on the host and ``MapRunStarted`` (``MapRunRedriven`` when the parent is redriven);
2. the items: from the state input (ItemsPath / Items) or the ItemReader, limited by MaxItems,
   shaped by ItemSelector, grouped by ItemBatcher;
3. the children, scheduled by this thread: at most MaxConcurrency at once (read from the Map Run
   each time, so UpdateMapRun applies while it runs), each on a clock-participant thread that runs
   the child execution to its end on the host; after each child ends, the tolerated-failure
   thresholds decide whether the Map Run fails (then the running children are aborted and no more
   start);
4. the results (in item order) returned or written by ResultWriter, ``MapRunSucceeded`` /
   ``MapRunFailed`` / ``MapRunAborted``.

Redrive (the guide's "Redriving Map Runs"): the parent's progress record holds the Map Run's ARN,
the children's inputs and each child's outcome (``progress["children"]``); a redriven parent
redrives the same Map Run: succeeded children keep their outputs, STANDARD children that did not
succeed are redriven (RedriveExecution: same ARN, from their failed state), EXPRESS ones start again
under the same ARN, children never started start now.
"""

from __future__ import annotations

import functools
import queue
import re
import threading
import uuid
from collections import deque
from typing import TYPE_CHECKING, Any

from localcloud.asl.checker import pointer
from localcloud.asl.distributed import results
from localcloud.asl.distributed.batching import ItemBatcherSpec
from localcloud.asl.distributed.map_run import ABORTED, FAILED, SUCCEEDED, MapRun
from localcloud.asl.distributed.readers import ItemReaderSpec, read_items
from localcloud.asl.distributed.results import ResultWriterSpec
from localcloud.asl.distributed.settings import NumberSetting
from localcloud.asl.errors import (
    DATA_LIMIT_EXCEEDED,
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    RUNTIME,
    ExecutionStopped,
    StatesFailure,
)
from localcloud.asl.machine import StateMachine
from localcloud.asl.runtime import AnyEvent, CancelToken, ExecutionTimedOut
from localcloud.asl.states.children import UNTIL_WOKEN
from localcloud.asl.states.map_state import MapProcessor
from localcloud.asl.store import FrozenList

if TYPE_CHECKING:
    from localcloud.asl.checker import Checker
    from localcloud.asl.definition import ParseContext
    from localcloud.asl.machine import StateGraph
    from localcloud.asl.runtime import Frame
    from localcloud.asl.states.base import StateRun
    from localcloud.asl.states.map_state import MapState
    from localcloud.asl.store import ExecutionRecord

# "If you don't specify a concurrency value or set it to zero, Step Functions doesn't limit
# concurrency and runs 10,000 parallel child workflow executions."
DEFAULT_MAX_CONCURRENCY = 10_000
# Children that really run at once here: each is a thread. Beyond this the Map Run behaves as if
# MaxConcurrency were this value (only visible in timing on the virtual clock).
THREAD_CAP = 1000
LABEL_MAX = 40
# "Labels can't ... contain any of the following characters: whitespace, ? *, < > { } [ ],
# : ; , \ | ^ ~ $ # % & ` ", control characters."
_LABEL_FORBIDDEN = re.compile(r"[\s?*<>{}\[\]:;,\\|^~$#%&`\"\x00-\x1f\x7f-\x9f]")
PENDING = "PENDING"
RUNNING_CHILD = "RUNNING"
THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"


class DistributedProcessor(MapProcessor):
    mode = "DISTRIBUTED"

    def __init__(self, state: MapState) -> None:
        super().__init__(state)
        self.reader: ItemReaderSpec | None = None
        self.batcher: ItemBatcherSpec | None = None
        self.writer: ResultWriterSpec | None = None
        self.tolerated_count: NumberSetting | None = None
        self.tolerated_percentage: NumberSetting | None = None
        self.execution_type = "STANDARD"
        self.label = ""
        self._machine: StateMachine | None = None
        self._machine_lock = threading.Lock()

    # ---- definition time -----------------------------------------------------------------------

    def validate(self, pctx: ParseContext) -> None:
        state, check = self.state, pctx.check
        raw, path, jsonata = state.raw, state.path, state.jsonata
        key = "ItemProcessor" if "ItemProcessor" in raw else "Iterator"
        config = raw[key].get("ProcessorConfig") or {}
        config_at = pointer(path, key, "ProcessorConfig")
        execution_type = config.get("ExecutionType")
        if execution_type is None:
            check.add(config_at, "These fields are required: [ExecutionType] (for Mode DISTRIBUTED)")
        elif execution_type not in ("STANDARD", "EXPRESS"):
            check.add(
                pointer(config_at, "ExecutionType"),
                "The value for the field 'ExecutionType' must be STANDARD or EXPRESS",
            )
        else:
            self.execution_type = execution_type
        if pctx.machine_type == "EXPRESS":
            check.add(
                pointer(config_at, "Mode"),
                "Mode DISTRIBUTED is not supported in Express workflows (Standard workflows only)",
            )
        if self.execution_type == "EXPRESS" and state.processor_graph is not None:
            _check_express_children(state.processor_graph, check)
        if "ItemReader" in raw:
            self.reader = ItemReaderSpec.parse(
                raw["ItemReader"], pointer(path, "ItemReader"), check, jsonata=jsonata
            )
            for field in ("ItemsPath", "Items"):
                if field in raw:
                    check.add(
                        pointer(path, field),
                        f"The field '{field}' selects items from the state input; with ItemReader the "
                        "items come from S3 (use ReaderConfig.ItemsPointer inside a JSON file)",
                    )
        if "ItemBatcher" in raw:
            self.batcher = ItemBatcherSpec.parse(
                raw["ItemBatcher"], pointer(path, "ItemBatcher"), check, jsonata=jsonata
            )
        if "ResultWriter" in raw:
            self.writer = ResultWriterSpec.parse(
                raw["ResultWriter"], pointer(path, "ResultWriter"), check, jsonata=jsonata
            )
        self.tolerated_count = NumberSetting.parse(
            raw, path, check, jsonata=jsonata, field="ToleratedFailureCount"
        )
        self.tolerated_percentage = NumberSetting.parse(
            raw, path, check, jsonata=jsonata, field="ToleratedFailurePercentage", maximum=100, integer=False
        )
        self.label = self._label(pctx)

    def _label(self, pctx: ParseContext) -> str:
        state, check = self.state, pctx.check
        at = pointer(state.path, "Label")
        labels: dict[str, str] = pctx.extensions.setdefault("map_labels", {})
        if "Label" in state.raw:
            label = state.raw["Label"]
            if not isinstance(label, str) or not label:
                check.add(at, "The value for the field 'Label' must be a non-empty STRING")
                return state.name
            if len(label) > LABEL_MAX:
                check.add(at, f"The value for the field 'Label' must be at most {LABEL_MAX} characters long")
            if _LABEL_FORBIDDEN.search(label):
                check.add(
                    at,
                    "The value for the field 'Label' must not contain whitespace, brackets, wildcards, "
                    'control characters or any of : ; , \\ | ^ ~ $ # % & ` "',
                )
            if label in labels:
                check.add(
                    at, f"The Label '{label}' is already used by {labels[label]}; labels must be unique"
                )
            labels.setdefault(label, at)
            return label
        # "If you don't specify a label, Step Functions automatically generates a unique label":
        # the state's name when it can be one, else a generated one.
        name = state.name
        if len(name) <= LABEL_MAX and not _LABEL_FORBIDDEN.search(name) and name not in labels:
            labels[name] = at
            return name
        return uuid.uuid4().hex[:16]

    # ---- run time --------------------------------------------------------------------------------

    def machine(self) -> StateMachine:
        """The child workflow: the ItemProcessor as a state machine of its own (made once)."""
        with self._machine_lock:
            if self._machine is None:
                state = self.state
                spec = state.raw.get("ItemProcessor") or state.raw.get("Iterator") or {}
                raw = {
                    "QueryLanguage": state.language,
                    "StartAt": spec.get("StartAt"),
                    "States": spec.get("States"),
                }
                if "Comment" in spec:
                    raw["Comment"] = spec["Comment"]
                assert state.processor_graph is not None
                self._machine = StateMachine(state.processor_graph, raw, None, spec.get("Comment"))
            return self._machine

    def run(self, run: StateRun, effective_input: Any) -> Any:
        return MapRunAttempt(self, run, effective_input).run()


class MapRunAttempt:
    """One run of a Distributed Map state: its Map Run, children and result."""

    def __init__(self, processor: DistributedProcessor, run: StateRun, effective_input: Any) -> None:
        self.processor = processor
        self.state = processor.state
        self.run_ = run
        self.frame: Frame = run.frame
        self.ctx = run.frame.ctx
        self.effective_input = effective_input
        self.host = self.ctx.require_host("A Distributed Map")
        self.inputs: list[Any] = []
        self.item_counts: list[int] = []
        self.statuses: list[str] = []
        self.children: dict[str, Any] = {}

    def run(self) -> Any:
        state, frame, ctx, run = self.state, self.frame, self.ctx, self.run_
        if ctx.execution_type == "EXPRESS":
            raise StatesFailure(
                RUNTIME,
                f"The Map state '{state.name}' uses Mode DISTRIBUTED, which Express workflows do not support",
            )
        resume = frame.resume if frame.resume and frame.resume.get("state") == state.name else None
        frame.resume = None
        previous = dict((resume or {}).get("map_run") or {})
        previous_children: dict[str, Any] = dict((resume or {}).get("children") or {})

        items = state.items(run, self.effective_input) if self.processor.reader is None else None
        frame.event("MapStateStarted", {"length": len(items) if items is not None else 0})
        map_run = self._start_map_run(previous)
        self.map_run = map_run
        if map_run.redrive_count and previous.get("arn") == map_run.map_run_arn:
            details = {"mapRunArn": map_run.map_run_arn, "redriveCount": map_run.redrive_count}
            frame.event("MapRunRedriven", details)
        else:
            frame.event("MapRunStarted", {"mapRunArn": map_run.map_run_arn})
            previous, previous_children = {}, {}
        progress: dict[str, Any] = {"arn": map_run.map_run_arn, "inputs": None, "items": None}
        frame.record["map_run"] = progress
        frame.record["children"] = self.children
        now = ctx.clock.now
        try:
            if previous.get("inputs") is not None:
                saved = previous["inputs"]  # a FrozenList once saved: reused, so not saved again
                self.inputs = saved if isinstance(saved, FrozenList) else FrozenList(saved)
                self.item_counts = list(previous["items"])
            else:
                inputs, self.item_counts = self._read_inputs(items)
                self.inputs = FrozenList(inputs)
            progress["inputs"], progress["items"] = self.inputs, self.item_counts
            self.statuses = [PENDING] * len(self.inputs)
            for index in range(len(self.inputs)):
                before = previous_children.get(str(index))
                if before is not None:
                    self.children[str(index)] = before
                    if before.get("status") == SUCCEEDED:
                        self.statuses[index] = SUCCEEDED
            map_run.reset_counts(self.item_counts, self.statuses)
            self._schedule()
            failed = map_run.threshold_exceeded()
            output = self._finish()
        except StatesFailure as failure:
            progress["error"] = failure.error
            self._end(FAILED, now(), ("MapRunFailed", {"error": failure.error, "cause": failure.cause or ""}))
            raise
        except (ExecutionStopped, ExecutionTimedOut):
            self._end(ABORTED, now(), ("MapRunAborted", None))
            raise
        if failed:
            progress["error"] = EXCEED_TOLERATED_FAILURE_THRESHOLD
            details = {"error": EXCEED_TOLERATED_FAILURE_THRESHOLD, "cause": THRESHOLD_CAUSE}
            self._end(FAILED, now(), ("MapRunFailed", details))
            raise StatesFailure(EXCEED_TOLERATED_FAILURE_THRESHOLD, THRESHOLD_CAUSE)
        self._end(SUCCEEDED, now(), ("MapRunSucceeded", None))
        return output

    def _end(self, status: str, when: Any, event: tuple[str, dict[str, Any] | None]) -> None:
        self.map_run.stop(status, when)
        self.frame.event(*event)
        if status == FAILED:
            self.frame.event("MapStateFailed")
        elif status == SUCCEEDED:
            self.frame.event("MapStateSucceeded")
        self.host.save(self.ctx.execution_arn)  # a persistent store saves the Map Run's end

    def _start_map_run(self, previous: dict[str, Any]) -> MapRun:
        run, ctx, host = self.run_, self.ctx, self.host
        processor = self.processor
        now = ctx.clock.now()
        max_concurrency = self.state.concurrency(run, self.effective_input)
        count = (
            processor.tolerated_count.resolve(run, self.effective_input)
            if processor.tolerated_count
            else None
        )
        percentage = (
            processor.tolerated_percentage.resolve(run, self.effective_input)
            if processor.tolerated_percentage
            else None
        )
        arn = previous.get("arn")
        # "A new Map Run is started and the existing Map Run isn't redriven" when it failed with
        # States.DataLimitExceeded or States.Runtime (Redriving Map Runs).
        if arn and previous.get("error") not in (DATA_LIMIT_EXCEEDED, RUNTIME):
            # The earlier attempt's Map Run is in this execution's own record (after a restart the
            # host's index does not know it yet, and looking it up there reads every execution).
            record = host.describe(ctx.execution_arn)
            existing = record.map_runs.get(arn)
            # RUNNING too: an attempt cut short by a restart never closed its Map Run.
            if existing is not None and existing.status in (FAILED, ABORTED, "RUNNING"):
                host.register_map_run(record, existing)  # UpdateMapRun finds it from now on
                existing.redrive_count += 1
                existing.redrive_date = now
                existing.status = "RUNNING"
                existing.stop_date = None
                return existing
        sm_arn = ctx.state_machine_arn
        label = processor.label
        map_run = MapRun(
            map_run_arn=f"{sm_arn.replace(':stateMachine:', ':mapRun:', 1)}/{label}:{uuid.uuid4()}",
            execution_arn=ctx.execution_arn,
            state_machine_arn=f"{sm_arn}/{label}",
            label=label,
            start_date=now,
            max_concurrency=max_concurrency,
            tolerated_failure_percentage=float(percentage) if percentage is not None else None,
            tolerated_failure_count=int(count) if count is not None else None,
        )
        host.register_map_run(host.describe(ctx.execution_arn), map_run)
        return map_run

    def _read_inputs(self, items: list[Any] | None) -> tuple[list[Any], list[int]]:
        """Each child's input and how many items it holds: items read, selected and batched."""
        run, data, processor = self.run_, self.effective_input, self.processor
        if processor.reader is not None:
            params = processor.reader.arguments(run, data)
            limit = processor.reader.limit(run, data)
            items = read_items(processor.reader, self.ctx.client_factory("s3"), params, limit)
        assert items is not None
        selected = [self.state.iteration_input(run, data, i, item) for i, item in enumerate(items)]
        if processor.batcher is None:
            return selected, [1] * len(selected)
        batches = processor.batcher.batches(run, data, selected)
        return [value for value, _ in batches], [size for _, size in batches]

    # ---- scheduling the children ---------------------------------------------------------------------

    def _schedule(self) -> None:
        frame, map_run, statuses = self.frame, self.map_run, self.statuses
        clock = self.ctx.clock
        pending = deque(i for i, status in enumerate(statuses) if status == PENDING)
        done: queue.SimpleQueue[tuple[int, ExecutionRecord | None, BaseException | None]]
        done = queue.SimpleQueue()
        wake = threading.Event()
        group = CancelToken(frame.token)
        threads: dict[int, threading.Thread] = {}
        failing = False

        def work(index: int, before: dict[str, Any]) -> None:
            try:
                record, error = self._run_child(index, group, before), None
            except BaseException as exc:  # a bug must not leave the scheduler waiting forever
                record, error = None, exc
            done.put((index, record, error))
            wake.set()
            clock.notify()

        def collect() -> BaseException | None:
            """Record the children that ended since the last look; the first internal error."""
            first: BaseException | None = None
            while not done.empty():
                index, record, error = done.get()
                threads.pop(index).join()
                self._child_ended(index, record)
                first = first or error
            return first

        try:
            while True:
                wake.clear()
                map_run.changed.clear()
                error = collect()
                if error is not None:
                    raise StatesFailure(RUNTIME, f"Internal error running a child workflow: {error!r}")
                if not failing and map_run.threshold_exceeded():
                    failing = True  # no more children start; the running ones are aborted
                    group.cancel("the Map Run failed")
                    clock.notify()
                limit = min(map_run.max_concurrency or DEFAULT_MAX_CONCURRENCY, THREAD_CAP)
                while not failing and pending and len(threads) < limit:
                    index = pending.popleft()
                    map_run.move(self.item_counts[index], statuses[index], RUNNING_CHILD)
                    statuses[index] = RUNNING_CHILD
                    before = dict(self.children.get(str(index)) or {})
                    # Recorded before the child starts, so that progress saved meanwhile names it.
                    self.children[str(index)] = {
                        "status": RUNNING_CHILD,
                        "arn": before.get("arn") or self._new_arn(),
                    }
                    thread = threading.Thread(
                        target=clock.bind_participant(functools.partial(work, index, before)),
                        name=f"map-child-{index}",
                        daemon=True,
                    )
                    threads[index] = thread
                    thread.start()
                if not threads and (failing or not pending):
                    return
                frame.sleep(UNTIL_WOKEN, wake=AnyEvent(wake, map_run.changed))
        except BaseException:
            group.cancel("the Map Run was aborted")
            clock.notify()
            # Wait for the children to unwind on the clock (each wakes us as it ends), never
            # "blocked": see states.children.spawn.
            while threads:
                wake.clear()
                collect()
                if threads:
                    clock.sleep(UNTIL_WOKEN, wake)
            raise
        finally:
            group.release()

    def _child_ended(self, index: int, record: ExecutionRecord | None) -> None:
        status = record.status if record is not None else FAILED
        self.map_run.move(self.item_counts[index], self.statuses[index], status)
        self.statuses[index] = status
        entry: dict[str, Any] = {"status": status}
        if record is not None:
            entry["arn"] = record.execution_arn
            if status == SUCCEEDED:
                entry["output"] = record.output
        self.children[str(index)] = entry

    def _new_arn(self) -> str:
        """A new child's ARN: ``execution:<machine>/<label>:<uuid>``, or for EXPRESS children
        ``express:<machine>/<label>:<uuid>:<uuid>``."""
        express = self.processor.execution_type == "EXPRESS"
        kind = "express" if express else "execution"
        region_account = ":".join(self.ctx.execution_arn.split(":")[:5])
        labelled = self.map_run.state_machine_arn.split(":stateMachine:", 1)[1]
        return f"{region_account}:{kind}:{labelled}:{uuid.uuid4()}" + (f":{uuid.uuid4()}" if express else "")

    def _run_child(self, index: int, group: CancelToken, before: dict[str, Any]) -> ExecutionRecord:
        ctx, host, map_run = self.ctx, self.host, self.map_run
        processor = self.processor
        express = processor.execution_type == "EXPRESS"
        arn = str(self.children[str(index)]["arn"])
        existing = host.find(arn) if before.get("arn") else None
        if existing is not None and existing.status == "RUNNING":
            # Resumed after a restart (host.recover): the child goes on by itself; wait for it.
            done = host.done_event(arn)
            while host.describe(arn).status == "RUNNING" and not group.is_set():
                ctx.clock.sleep(UNTIL_WOKEN, AnyEvent(done, group.event))
            return host.describe(arn)
        if existing is not None and not express:
            if host.redrive_problem(existing) is not None:
                return existing  # not redrivable: its failure stands (Redriving Map Runs)
            return host.redrive(arn, sync=True, parent_token=group)
        name = arn.split(":")[-2] if express else arn.rsplit(":", 1)[-1]
        child_input = self.inputs[index]
        return host.start_execution(
            processor.machine(),
            state_machine_arn=map_run.state_machine_arn,
            input=child_input,
            name=name,
            execution_type=processor.execution_type,
            role_arn=ctx.role_arn,
            execution_arn=arn,
            sync=True,
            extra={
                "parent_execution_arn": ctx.execution_arn,
                "map_run_arn": map_run.map_run_arn,
                "item_count": self.item_counts[index],
                # A mocked execution's children answer from its test case, on its counters.
                **({"mock": ctx.mock.spec} if ctx.mock is not None else {}),
            },
            parent_token=group,
            replace=express,
        )

    # ---- results ---------------------------------------------------------------------------------

    def _triple(self, index: int, transformation: str) -> tuple[str, Any, dict[str, Any]]:
        status = self.statuses[index]
        output = (self.children.get(str(index)) or {}).get("output")
        if status == SUCCEEDED and transformation != "NONE":
            return status, output, {}  # the entry is not shown: no need to look the child up
        if status == PENDING:
            return status, output, results.pending_entry(self.inputs[index])
        record = self.host.describe(self.children[str(index)]["arn"])
        return status, output, results.execution_entry(record)

    def _finish(self) -> Any:
        """The Map's result, or (ResultWriter) the result files written and their manifest."""
        writer, map_run, statuses = self.processor.writer, self.map_run, self.statuses
        count = len(self.inputs)
        if writer is None or not writer.exports:
            if map_run.threshold_exceeded():
                return None  # the Map Run fails: it has no result
            transformation = (writer.transformation if writer is not None else None) or "COMPACT"
            return results.transform([self._triple(i, transformation) for i in range(count)], transformation)
        transformation = writer.transformation or "NONE"
        files: dict[str, list[Any]] = {SUCCEEDED: [], FAILED: [], PENDING: []}
        for index, status in enumerate(statuses):
            kind = status if status in (SUCCEEDED, PENDING) else FAILED
            files[kind].extend(results.transform([self._triple(index, transformation)], transformation))
        bucket, prefix = writer.destination(self.run_, self.effective_input)
        output = results.write(
            self.ctx.client_factory("s3"),
            bucket=bucket,
            prefix=prefix,
            map_run=map_run,
            files=files,
            output_type=writer.output_type,
        )
        started = [i for i, status in enumerate(statuses) if status != PENDING]
        map_run.execution_counts["resultsWritten"] = len(started)
        map_run.item_counts["resultsWritten"] = sum(self.item_counts[i] for i in started)
        return output


def _check_express_children(graph: StateGraph, check: Checker) -> None:
    """EXPRESS child workflows are Express workflows: no .sync, .waitForTaskToken or Distributed Map."""
    for state in graph.states.values():
        integration = getattr(state, "integration", None)
        if integration is not None and integration.resource.pattern:
            check.add(
                pointer(state.path, "Resource"),
                f"The resource '{integration.resource.arn}' uses .{integration.resource.pattern}, which the "
                "EXPRESS child workflows of a Distributed Map do not support",
            )
        if isinstance(getattr(state, "processor", None), DistributedProcessor):
            check.add(state.path, "An EXPRESS child workflow cannot contain a Distributed Map")
        for sub in state.subgraphs():
            _check_express_children(sub, check)
