"""Executions in localcloud's SQLite store: the interpreter's ``ExecutionStore``, made durable.

Three places in the store:

- ``states.executions``: a small summary per execution (ARN, names, status, dates, redrive
  count, map run), all kept in memory too, so ListExecutions never parses whole records;
- ``states.execution_records``: the record without its history (definition, input, output,
  progress, map runs, extra), JSON;
- ``states.history``: the history, an append-only event log per execution; only the events added
  since the last save are written, and GetExecutionHistory pages over it directly.

The host mutates the records of running executions in place (its threads append events and
record progress as they go), so :meth:`get` hands out the live object while an execution runs;
a finished execution is read back from SQLite. :meth:`checkpoint` saves every running record
that changed (the service calls it about once a second): after a SIGKILL at most the last
second of progress is lost, and a redrive continues from what was saved.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from typing import Any

from localcloud.asl.history import event_from_json, event_to_json, iso, parse_iso
from localcloud.asl.store import FAILED, RUNNING, ExecutionRecord
from localcloud.state import Store

Summary = dict[str, Any]
# ``list`` is a method of the store (the ExecutionStore protocol): these aliases keep the builtin.
Summaries = list[Summary]
Records = list[ExecutionRecord]
Events = list[dict[str, Any]]
Arns = list[str]


def _summary(record: ExecutionRecord) -> Summary:
    return {
        "executionArn": record.execution_arn,
        "name": record.name,
        "stateMachineArn": record.state_machine_arn,
        "type": record.execution_type,
        "status": record.status,
        "startDate": iso(record.start_date),
        "stopDate": iso(record.stop_date) if record.stop_date else None,
        "redriveCount": record.redrive_count,
        "redriveDate": iso(record.redrive_date) if record.redrive_date else None,
        "mapRunArn": record.extra.get("map_run_arn"),
        "parentExecutionArn": record.extra.get("parent_execution_arn"),
        "itemCount": record.extra.get("item_count"),
        "mapRuns": sorted(record.map_runs),
    }


def summary_date(summary: Summary, key: str) -> dt.datetime | None:
    value = summary.get(key)
    return parse_iso(value) if value else None


class SqliteExecutionStore:
    """``localcloud.asl.ExecutionStore`` on localcloud's store (thread-safe)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._index = store.collection("states.executions")
        self._records = store.collection("states.execution_records")
        self._history = store.log("states.history")
        self._lock = threading.RLock()
        self._live: dict[str, ExecutionRecord] = {}
        self._saved: dict[str, tuple[int, int, str]] = {}  # arn -> (id(record), events saved, doc text)
        self._summaries: dict[str, Summary] = dict(self._index.items())
        self._closed = False

    # -- the ExecutionStore protocol -------------------------------------------------------------
    def put(self, record: ExecutionRecord) -> None:
        with self._lock:
            if self._closed:  # after the final checkpoint of a clean stop: the saved state stands
                return
            self._write(record)
            if record.status == RUNNING:
                self._live[record.execution_arn] = record
            else:
                self._live.pop(record.execution_arn, None)
                self._saved.pop(record.execution_arn, None)

    def get(self, execution_arn: str) -> ExecutionRecord | None:
        with self._lock:
            live = self._live.get(execution_arn)
            if live is not None:
                return live
            if execution_arn not in self._summaries:
                return None
            doc = self._records.get(execution_arn)
        if doc is None:
            return None
        doc["history"] = [event for _, event in self._history.read(execution_arn)]
        return ExecutionRecord.from_json(doc)

    def list(self) -> Records:
        """Every record, whole (the host's ``recover`` uses it; the API reads :meth:`summaries`)."""
        records = (self.get(arn) for arn in list(self._summaries))
        return [record for record in records if record is not None]

    # -- what the API reads ------------------------------------------------------------------------
    def summaries(self) -> Summaries:
        with self._lock:
            return list(self._summaries.values())

    def summary(self, execution_arn: str) -> Summary | None:
        with self._lock:
            return self._summaries.get(execution_arn)

    def get_light(self, execution_arn: str) -> ExecutionRecord | None:
        """The record without its history (DescribeExecution): the live one while it runs."""
        with self._lock:
            live = self._live.get(execution_arn)
            if live is not None:
                return live
            doc = self._records.get(execution_arn) if execution_arn in self._summaries else None
        return None if doc is None else ExecutionRecord.from_json({**doc, "history": []})

    def history(self, execution_arn: str, *, after: int | None, limit: int, reverse: bool) -> Events:
        """A page of history events (ids past ``after``, or before it in reverse order)."""
        with self._lock:
            live = self._live.get(execution_arn)
            events = list(live.history) if live is not None else None
        if events is None:
            rows = self._history.read(execution_arn, after=after, limit=limit, reverse=reverse)
            return [event_from_json(event) for _, event in rows]
        if reverse:
            chosen = [e for e in reversed(events) if after is None or e["id"] < after]
        else:
            chosen = [e for e in events if after is None or e["id"] > after]
        return chosen[:limit]

    # -- durability ----------------------------------------------------------------------------------
    def checkpoint(self) -> int:
        """Save every running record that changed since it was last saved; returns how many."""
        saved = 0
        with self._lock:
            if self._closed:
                return 0
            for record in list(self._live.values()):
                if self._write(record):
                    saved += 1
        return saved

    def close(self) -> None:
        """A clean stop: save every running record as it stands, then accept no more writes (the
        executions still running are continued from here at the next start)."""
        with self._lock:
            self.checkpoint()
            self._closed = True

    def running(self) -> Arns:
        with self._lock:
            return [arn for arn, summary in self._summaries.items() if summary["status"] == RUNNING]

    def fail_interrupted(self, now: dt.datetime, error: str, cause: str) -> Arns:
        """After a crash: every execution still RUNNING in the store ends FAILED with ``error`` and
        ``cause`` (an ``ExecutionFailed`` event closes its history); its saved progress stays, so
        RedriveExecution continues it. Returns the ARNs marked."""
        marked = []
        for arn in self.running():
            record = self.get(arn)
            if record is None:
                continue
            record.status = FAILED
            record.stop_date = now
            record.error, record.cause = error, cause
            last = len(record.history)
            record.history.append(
                {
                    "timestamp": now,
                    "type": "ExecutionFailed",
                    "id": last + 1,
                    "previousEventId": last,
                    "executionFailedEventDetails": {"error": error, "cause": cause},
                }
            )
            for run in record.map_runs.values():
                if run.status == RUNNING:
                    run.stop(FAILED, now)
            self.put(record)
            marked.append(arn)
        return marked

    # -- internals -----------------------------------------------------------------------------------
    def _write(self, record: ExecutionRecord) -> bool:
        arn = record.execution_arn
        doc = dataclasses.replace(record, history=[]).to_json()
        doc.pop("history", None)
        text = json.dumps(doc, separators=(",", ":"), default=str)
        events = list(record.history)
        owner, count, last_text = self._saved.get(arn, (0, -1, ""))
        same_object = owner == id(record)
        if same_object and count == len(events) and last_text == text:
            return False
        summary = _summary(record)
        with self._store.transaction():
            self._records.put(arn, doc)
            self._index.put(arn, summary)
            if same_object and 0 <= count <= len(events):
                new = events[count:]
            else:  # a record read back from the store, or a replaced one: write its history whole
                self._history.delete_stream(arn)
                new = events
            if new:
                self._history.append(arn, *(event_to_json(event) for event in new))
        self._saved[arn] = (id(record), len(events), text)
        self._summaries[arn] = summary
        return True
