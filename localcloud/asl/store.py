"""Where executions live: records that are plain JSON once serialised, and an in-memory store."""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from localcloud.asl.distributed.map_run import MapRun
from localcloud.asl.history import event_from_json, event_to_json, iso, parse_iso

RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
TIMED_OUT = "TIMED_OUT"
ABORTED = "ABORTED"
PENDING_REDRIVE = "PENDING_REDRIVE"


@dataclass
class ExecutionRecord:
    """Everything about one execution: what DescribeExecution and GetExecutionHistory answer from,
    and ``progress``, the record of where each frame is, which redrive resumes from."""

    execution_arn: str
    name: str
    state_machine_arn: str
    state_machine_name: str
    definition: dict[str, Any]
    input: Any
    execution_type: str = "STANDARD"
    role_arn: str = ""
    status: str = RUNNING
    start_date: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    stop_date: dt.datetime | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    redrive_count: int = 0
    redrive_date: dt.datetime | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    progress: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    # The Map Runs its Distributed Map states started, by Map Run ARN (DescribeMapRun answers from them).
    map_runs: dict[str, MapRun] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable form (datetimes as ISO strings)."""
        return {
            "execution_arn": self.execution_arn,
            "name": self.name,
            "state_machine_arn": self.state_machine_arn,
            "state_machine_name": self.state_machine_name,
            "definition": self.definition,
            "input": self.input,
            "execution_type": self.execution_type,
            "role_arn": self.role_arn,
            "status": self.status,
            "start_date": iso(self.start_date),
            "stop_date": iso(self.stop_date) if self.stop_date else None,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
            "redrive_count": self.redrive_count,
            "redrive_date": iso(self.redrive_date) if self.redrive_date else None,
            "history": [event_to_json(e) for e in self.history],
            "progress": copy_json(self.progress),
            "extra": self.extra,
            "map_runs": [run.to_json() for run in list(self.map_runs.values())],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExecutionRecord:
        values = dict(data)
        values["start_date"] = parse_iso(values["start_date"])
        values["stop_date"] = parse_iso(values["stop_date"]) if values.get("stop_date") else None
        values["redrive_date"] = parse_iso(values["redrive_date"]) if values.get("redrive_date") else None
        values["history"] = [event_from_json(e) for e in values.get("history") or []]
        runs = [MapRun.from_json(run) for run in values.get("map_runs") or []]
        values["map_runs"] = {run.map_run_arn: run for run in runs}
        return cls(**values)


class FrozenList(list[Any]):
    """A list nobody changes once it is made: a Distributed Map's child inputs, the whole query
    result batched. Saved progress shares it instead of copying it, and its JSON is encoded once
    (a running execution is saved every second; copying and encoding a result of tens of
    thousands of rows each time held the store's lock for most of a second)."""

    _text: str | None = None
    key: str | None = None  # where a durable store saved it (it is saved once)

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenList:
        return self

    def json_text(self) -> str:
        if self._text is None:
            self._text = json.dumps(self, separators=(",", ":"), default=str)
        return self._text


def copy_json(value: Any) -> Any:
    # Other threads may still write into the progress record while a running execution is saved:
    # retry the copy if a dict changed size under it.
    for _ in range(10):
        try:
            return copy.deepcopy(value)
        except RuntimeError:
            continue
    return copy.deepcopy(value)


class ExecutionStore(Protocol):
    """Persistence for execution records. The endpoint may provide a durable one."""

    def put(self, record: ExecutionRecord) -> None: ...

    def get(self, execution_arn: str) -> ExecutionRecord | None: ...

    def list(self) -> list[ExecutionRecord]: ...


class InMemoryExecutionStore:
    """The default store: records kept as live objects in a dict."""

    def __init__(self) -> None:
        self._records: dict[str, ExecutionRecord] = {}
        self._lock = threading.Lock()

    def put(self, record: ExecutionRecord) -> None:
        with self._lock:
            self._records[record.execution_arn] = record

    def get(self, execution_arn: str) -> ExecutionRecord | None:
        with self._lock:
            return self._records.get(execution_arn)

    def list(self) -> list[ExecutionRecord]:
        with self._lock:
            return list(self._records.values())
