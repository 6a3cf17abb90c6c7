"""Executions in localcloud's SQLite store: the interpreter's ``ExecutionStore``, made durable.

Four places in the store:

- ``states.executions``: a small summary per execution (ARN, names, status, dates, redrive
  count, map run), all kept in memory too, so ListExecutions never parses whole records;
- ``states.execution_records``: the record without its history (definition, input, output,
  progress, map runs, extra), JSON;
- ``states.history``: the history, an append-only event log per execution; only the events added
  since the last save are written, and GetExecutionHistory pages over it directly;
- ``states.frozen``: what never changes once made, written once: a Distributed Map's child inputs
  (a ``FrozenList``, the whole query result batched). The record's progress names it
  (``{"localcloud:frozen": key}``); a running parent is saved at every checkpoint, and writing
  its Map Runs' inputs each time was most of a checkpoint's cost.

The host mutates the records of running executions in place (its threads append events and
record progress as they go), so :meth:`get` hands out the live object while an execution runs.

Writes are behind, in checkpoints (the service runs one about once a second): a checkpoint
serialises every record that changed, then has MiniStack make its data durable (``flush``), and
only then writes the records. So what the store holds never runs ahead of the data the
executions wrote: after a SIGKILL, an execution whose last DynamoDB writes were lost is still
RUNNING in the store (then marked FAILED, and a redrive does that work again), never SUCCEEDED.
At most the last second or two of progress is lost.

Status changes (a start, a redrive, an end) are noticed at :meth:`put` and turned into events by
``on_status_change`` (the service's; None: no event). They are handed to ``publish`` inside the
checkpoint's transaction that writes the records in that status, so an event is never out before
the state it reports is saved, and none is lost once it is: a record whose status moved on since
its last put (the host sets the status, then puts) waits for the next checkpoint.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
import threading
import uuid
from collections.abc import Callable
from typing import Any

from localcloud.asl.history import event_from_json, event_to_json, iso, parse_iso, view
from localcloud.asl.store import RUNNING, ExecutionRecord, FrozenList
from localcloud.state import Store
from localcloud.stepfunctions import restart

Summary = dict[str, Any]
# ``list`` is a method of the store (the ExecutionStore protocol): these aliases keep the builtin.
Summaries = list[Summary]
Records = list[ExecutionRecord]
Events = list[dict[str, Any]]
Arns = list[str]
Snapshot = tuple[ExecutionRecord, dict[str, Any], str, Events, Summary, list[FrozenList]]
StatusKey = tuple[str, int]  # (status, redrive count): a change of either is a status change
StatusEvent = tuple[str, Any]  # (execution ARN, the event on_status_change made)


def _doc_summary(doc: dict[str, Any]) -> Summary:
    """The summary of a record in its JSON form (``ExecutionRecord.to_json``)."""
    extra = doc.get("extra") or {}
    return {
        "executionArn": doc["execution_arn"],
        "name": doc["name"],
        "stateMachineArn": doc["state_machine_arn"],
        "type": doc["execution_type"],
        "status": doc["status"],
        "startDate": doc["start_date"],
        "stopDate": doc.get("stop_date"),
        "redriveCount": doc.get("redrive_count", 0),
        "redriveDate": doc.get("redrive_date"),
        "mapRunArn": extra.get("map_run_arn"),
        "parentExecutionArn": extra.get("parent_execution_arn"),
        "itemCount": extra.get("item_count"),
        "mapRuns": sorted(run["map_run_arn"] for run in doc.get("map_runs") or []),
    }


def _summary(record: ExecutionRecord) -> Summary:
    """The summary of a live record (without serialising its definition and progress)."""
    return _doc_summary(
        {
            "execution_arn": record.execution_arn,
            "name": record.name,
            "state_machine_arn": record.state_machine_arn,
            "execution_type": record.execution_type,
            "status": record.status,
            "start_date": iso(record.start_date),
            "stop_date": iso(record.stop_date) if record.stop_date else None,
            "redrive_count": record.redrive_count,
            "redrive_date": iso(record.redrive_date) if record.redrive_date else None,
            "extra": record.extra,
            "map_runs": [{"map_run_arn": arn} for arn in list(record.map_runs)],
        }
    )


def summary_date(summary: Summary, key: str) -> dt.datetime | None:
    value = summary.get(key)
    return parse_iso(value) if value else None


# A FrozenList (a Map Run's child inputs) is saved once, in its own document; the record names it.
FROZEN_REF = "localcloud:frozen"
# Stands for a record's input while the record is encoded (its JSON is spliced in); the random
# part keeps it from ever being a string of the data.
_INPUT_STAND_IN = f"\u0001input-{secrets.token_hex(8)}"
_INPUT_PLACEHOLDER = json.dumps(_INPUT_STAND_IN)


def _refer(value: Any, frozen: list[FrozenList], owner: str) -> Any:
    """``value`` with each FrozenList replaced by a reference to its own document (a key under
    ``owner`` given to the lists not yet saved; the lists are collected in ``frozen``)."""
    if isinstance(value, FrozenList):
        if value.key is None:
            value.key = f"{owner}#{uuid.uuid4().hex}"
        frozen.append(value)
        return {FROZEN_REF: value.key}
    if isinstance(value, dict):
        return {key: _refer(item, frozen, owner) for key, item in value.items()}
    if isinstance(value, list):
        return [_refer(item, frozen, owner) for item in value]
    return value


def _resolve(value: Any, read: Callable[[str], Any]) -> Any:
    """``value`` with each reference to a FrozenList's document replaced by the list."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get(FROZEN_REF), str):
            frozen = FrozenList(read(value[FROZEN_REF]))
            frozen.key = value[FROZEN_REF]
            return frozen
        return {key: _resolve(item, read) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, read) for item in value]
    return value


class SqliteExecutionStore:
    """``localcloud.asl.ExecutionStore`` on localcloud's store (thread-safe)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._index = store.collection("states.executions")
        self._records = store.collection("states.execution_records")
        self._history = store.log("states.history")
        self._frozen = store.collection("states.frozen")
        self._frozen_saved: set[str] = set()  # keys of the FrozenLists written
        self._lock = threading.RLock()
        self._checkpointing = threading.Lock()
        # Records running, or changed since the last checkpoint: the objects the host works on.
        self._cache: dict[str, ExecutionRecord] = {}
        self._versions: dict[str, int] = {}  # bumped by every put
        self._saved: dict[str, tuple[int, int, str]] = {}  # arn -> (id(record), events saved, doc text)
        self._inputs: dict[str, tuple[Any, str]] = {}  # arn -> (the input object, its JSON)
        self._summaries: dict[str, Summary] = dict(self._index.items())
        self._closed = False
        # The status each cached record was last put in, and the events of status changes not yet
        # published (in the order they happened).
        self._statuses: dict[str, StatusKey] = {}
        self._status_events: list[StatusEvent] = []
        self.on_status_change: Callable[[ExecutionRecord], Any | None] | None = None
        self.publish: Callable[[list[Any]], None] | None = None

    # -- the ExecutionStore protocol -------------------------------------------------------------
    def put(self, record: ExecutionRecord) -> None:
        with self._lock:
            if self._closed:  # after the final checkpoint of a clean stop: the saved state stands
                return
            arn = record.execution_arn
            self._note_status(record)
            self._cache[arn] = record
            self._versions[arn] = self._versions.get(arn, 0) + 1
            self._summaries[arn] = _summary(record)

    def _note_status(self, record: ExecutionRecord) -> None:
        """Queue the event of a status change (called under the lock, before the summary moves on)."""
        arn = record.execution_arn
        key = (record.status, record.redrive_count)
        previous = self._statuses.get(arn)
        if previous is None and arn in self._summaries:  # a record read back from SQLite
            summary = self._summaries[arn]
            previous = (summary["status"], summary["redriveCount"])
        if previous == key:
            return
        self._statuses[arn] = key
        event = self.on_status_change(record) if self.on_status_change is not None else None
        if event is not None:
            self._status_events.append((arn, event))

    def get(self, execution_arn: str) -> ExecutionRecord | None:
        with self._lock:
            cached = self._cache.get(execution_arn)
            if cached is not None:
                return cached
            if execution_arn not in self._summaries:
                return None
            doc = self._records.get(execution_arn)
        if doc is None:
            return None
        doc["history"] = [event for _, event in self._history.read(execution_arn)]
        return ExecutionRecord.from_json(self._resolved(doc))

    def list(self) -> Records:
        """Every record, whole (the host's ``recover`` uses it; the API reads :meth:`summaries`)."""
        records = (self.get(arn) for arn in list(self._summaries))
        return [record for record in records if record is not None]

    # -- what the API reads ------------------------------------------------------------------------
    def summaries(self) -> Summaries:
        with self._lock:
            for arn, record in self._cache.items():  # running records move on between puts
                self._summaries[arn] = _summary(record)
            return list(self._summaries.values())

    def summary(self, execution_arn: str) -> Summary | None:
        with self._lock:
            cached = self._cache.get(execution_arn)
            return _summary(cached) if cached is not None else self._summaries.get(execution_arn)

    def get_light(self, execution_arn: str) -> ExecutionRecord | None:
        """The record without its history (DescribeExecution): the live one while it runs."""
        with self._lock:
            cached = self._cache.get(execution_arn)
            if cached is not None:
                return cached
            doc = self._records.get(execution_arn) if execution_arn in self._summaries else None
        return None if doc is None else ExecutionRecord.from_json(self._resolved({**doc, "history": []}))

    def history(self, execution_arn: str, *, after: int | None, limit: int, reverse: bool) -> Events:
        """A page of history events (ids past ``after``, or before it in reverse order)."""
        with self._lock:
            cached = self._cache.get(execution_arn)
            events = list(cached.history) if cached is not None else None
        if events is None:
            rows = self._history.read(execution_arn, after=after, limit=limit, reverse=reverse)
            return [event_from_json(event) for _, event in rows]
        if reverse:
            chosen = [e for e in reversed(events) if after is None or e["id"] < after]
        else:
            chosen = [e for e in events if after is None or e["id"] > after]
        return chosen[:limit]

    # -- durability ----------------------------------------------------------------------------------
    def checkpoint(self, flush: Callable[[], None] | None = None) -> int:
        """Write every record that changed since it was last written, after ``flush`` made the
        data they describe durable, and publish the status changes they hold; returns how many
        records were written. One checkpoint at a time (the periodic one, one asked for through
        the control route, the last one of a clean stop): a slower one must not write an older
        snapshot over a newer one."""
        with self._checkpointing:
            return self._checkpoint(flush)

    def _checkpoint(self, flush: Callable[[], None] | None) -> int:
        with self._lock:
            if self._closed:
                return 0
            pending: list[Snapshot] = []
            settling: set[str] = set()  # status moved on since the last put: next checkpoint
            for record in list(self._cache.values()):
                snapshot = self._snapshot(record)
                if snapshot is None:
                    continue
                doc = snapshot[1]
                if (doc["status"], doc["redrive_count"]) != self._statuses.get(record.execution_arn):
                    settling.add(record.execution_arn)
                else:
                    pending.append(snapshot)
            events = [event for event in self._status_events if event[0] not in settling]
            self._status_events = [event for event in self._status_events if event[0] in settling]
            finished = [
                (arn, self._versions.get(arn, 0))
                for arn, record in self._cache.items()
                if record.status != RUNNING and arn not in settling
            ]
        if pending and flush is not None:
            flush()
        with self._lock:
            saved_before = {
                snapshot[0].execution_arn: self._saved.get(snapshot[0].execution_arn) for snapshot in pending
            }
            try:
                if pending or events:
                    with self._store.transaction():
                        for snapshot in pending:
                            self._write(snapshot)
                        if events and self.publish is not None:
                            self.publish([event for _, event in events])
            except BaseException:
                # Rolled back: the records are written, and the events published, next time.
                for arn, saved in saved_before.items():
                    if saved is None:
                        self._saved.pop(arn, None)
                    else:
                        self._saved[arn] = saved
                self._status_events[:0] = events
                raise
            self._frozen_saved.update(
                value.key for snapshot in pending for value in snapshot[5] if value.key is not None
            )
            for arn, version in finished:  # written as they stand: read back from SQLite from now on
                if self._versions.get(arn) == version and self._cache[arn].status != RUNNING:
                    del self._cache[arn]
                    self._saved.pop(arn, None)
                    self._inputs.pop(arn, None)
                    self._statuses.pop(arn, None)
        return len(pending)

    def close(self, flush: Callable[[], None] | None = None) -> None:
        """A clean stop: save every record as it stands, then accept no more writes (the
        executions still running are continued from here at the next start)."""
        self.checkpoint(flush)
        with self._lock:
            self._closed = True

    def running(self) -> Arns:
        with self._lock:
            return [arn for arn, summary in self._summaries.items() if summary["status"] == RUNNING]

    def fail_interrupted(self, now: dt.datetime, cause: str) -> Arns:
        """At start: every execution still RUNNING in the store ends as ``restart.interrupt``
        says (FAILED, ``cause``; its saved progress stays, so RedriveExecution continues it).
        Returns the ARNs marked."""
        marked = []
        for arn in self.running():
            record = self.get(arn)
            if record is None:
                continue
            restart.interrupt(record, now, cause)
            self.put(record)
            marked.append(arn)
        self.checkpoint()
        return marked

    # -- internals -----------------------------------------------------------------------------------
    def _snapshot(self, record: ExecutionRecord) -> Snapshot | None:
        """The record as it stands (doc, its text, its events, its summary: all of one moment),
        or None when nothing changed."""
        # An EXPRESS execution is never redriven (its Map Run starts a failed child again under a
        # new ARN), so its progress, what a redrive resumes from, is not saved: copying it (a Map
        # Run child's whole batch) at every checkpoint was most of the checkpoints' cost.
        progress = {} if record.execution_type == "EXPRESS" else record.progress
        doc = dataclasses.replace(record, history=[], progress=progress).to_json()
        doc.pop("history", None)
        frozen: list[FrozenList] = []
        doc["progress"] = _refer(doc["progress"], frozen, record.execution_arn)
        text = json.dumps({**doc, "input": _INPUT_STAND_IN}, separators=(",", ":"), default=str)
        text = text.replace(_INPUT_PLACEHOLDER, self._input_text(record), 1)
        events = list(record.history)
        owner, count, last_text = self._saved.get(record.execution_arn, (0, -1, ""))
        if owner == id(record) and count == len(events) and last_text == text:
            return None
        # The summary of the doc's moment; the FrozenLists it names, saved with it.
        return record, doc, text, events, _doc_summary(doc), frozen

    def _input_text(self, record: ExecutionRecord) -> str:
        """The record's input as JSON, encoded once: a Map Run child's input is its whole batch,
        and a running record is saved at every checkpoint."""
        cached = self._inputs.get(record.execution_arn)
        if cached is None or cached[0] is not record.input:
            cached = (record.input, json.dumps(record.input, separators=(",", ":"), default=str))
            self._inputs[record.execution_arn] = cached
        return cached[1]

    def _resolved(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A saved record's doc with the FrozenLists it names read back."""
        if "progress" in doc:
            doc["progress"] = _resolve(doc["progress"], self._read_frozen)
        return doc

    def _read_frozen(self, key: str) -> Any:
        value = self._frozen.get(key)
        if value is None:
            raise RuntimeError(f"the saved Map Run inputs {key} are missing from localcloud's store")
        with self._lock:
            self._frozen_saved.add(key)
        return value

    def _write(self, snapshot: Snapshot) -> None:
        record, _, text, events, summary, frozen = snapshot
        arn = record.execution_arn
        owner, count, _ = self._saved.get(arn, (0, -1, ""))
        for value in frozen:
            if value.key is not None and value.key not in self._frozen_saved:
                self._frozen.put_text(value.key, value.json_text())
        self._records.put_text(arn, text)  # the snapshot's own text: encoded once
        self._index.put(arn, summary)  # of the snapshot's moment, like the doc beside it
        if owner == id(record) and 0 <= count <= len(events):
            new = events[count:]
        else:  # a record read back from the store, or a replaced one: write its history whole
            self._history.delete_stream(arn)
            new = events
        if new:
            if record.execution_type == "EXPRESS":
                # AWS keeps no history of EXPRESS executions at all; localcloud keeps theirs for
                # DescribeExecution/GetExecutionHistory, without the payloads (each of a Distributed
                # Map's children carries its whole batch in three events: most of the store, else).
                new = view(new, include_execution_data=False)
            self._history.append(arn, *(event_to_json(event) for event in new))
        self._saved[arn] = (id(record), len(events), text)
