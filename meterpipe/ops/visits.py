"""What each state did in one execution, read from its events (GetExecutionHistory).

Every ``*StateEntered`` event opens a *visit* of a state; the events after it belong to the visit
their ``previousEventId`` chain leads back to, which keeps Parallel branches apart. A visit
carries the state's input and output, its attempts (one per ``TaskScheduled``: 1 plus the
retries), the error and cause of its last attempt, the map run it started, and how it ended:

- ``succeeded``: exited normally;
- ``caught``: its last attempt failed and a Catch sent the execution on (the state still exited);
- ``failed``: failed, or a Fail state;
- ``aborted`` / ``timed out``: still open when the execution was stopped or timed out;
- ``running``: still open.

A state's status in the execution is its last visit's (a loop or a redrive visits it again);
``not entered`` when it has none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from meterpipe.ops.dates import iso_utc

NOT_ENTERED = "not entered"
_TASK_FAILURES = {
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
    "TaskStartFailed": "taskStartFailedEventDetails",
    "TaskSubmitFailed": "taskSubmitFailedEventDetails",
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "LambdaFunctionTimedOut": "lambdaFunctionTimedOutEventDetails",
    "ActivityFailed": "activityFailedEventDetails",
    "MapRunFailed": "mapRunFailedEventDetails",
    "EvaluationFailed": "evaluationFailedEventDetails",
}
_ATTEMPT_STARTS = frozenset({"TaskScheduled", "ActivityScheduled", "LambdaFunctionScheduled"})
_EXECUTION_ENDS = {"ExecutionAborted": "aborted", "ExecutionTimedOut": "timed out"}


@dataclass
class Visit:
    """One entry into a state, and what happened until it left."""

    state: str
    type: str  # Task, Map, Parallel, ... (from the event type)
    entered_id: int
    start: dt.datetime
    end: dt.datetime | None = None
    status: str = "running"
    input: str | None = None
    output: str | None = None
    attempts: int = 0
    error: str | None = None
    cause: str | None = None
    map_run_arn: str | None = None
    attempt_of_execution: int = 0  # 0 before the first redrive, n after the n-th

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)

    def duration(self, now: dt.datetime) -> float:
        return max(0.0, ((self.end or now) - self.start).total_seconds())

    def to_json(self, now: dt.datetime) -> dict[str, Any]:
        return {
            "state": self.state,
            "type": self.type,
            "status": self.status,
            "start": iso_utc(self.start),
            "end": iso_utc(self.end),
            "durationSeconds": round(self.duration(now), 3),
            "attempts": self.attempts,
            "retries": self.retries,
            "error": self.error,
            "cause": self.cause,
            "input": self.input,
            "output": self.output,
            "mapRunArn": self.map_run_arn,
            "executionAttempt": self.attempt_of_execution,
        }


@dataclass
class Visits:
    """The visits of one execution, in order of entry, and the times it was redriven."""

    visits: list[Visit] = field(default_factory=list)
    redrives: list[dt.datetime] = field(default_factory=list)

    def of(self, state: str) -> list[Visit]:
        return [visit for visit in self.visits if visit.state == state]

    def status(self, state: str) -> str:
        mine = self.of(state)
        return mine[-1].status if mine else NOT_ENTERED

    def map_runs(self) -> list[str]:
        """Each map run once, in order of start (a redriven map run keeps its ARN)."""
        return list(dict.fromkeys(v.map_run_arn for v in self.visits if v.map_run_arn))


def read_visits(events: list[dict[str, Any]]) -> Visits:
    result = Visits()
    open_by_id: dict[int, Visit] = {}
    owner: dict[int, int] = {}  # event id -> entered event id of its visit
    for event in sorted(events, key=lambda e: int(e["id"])):
        kind, event_id = str(event["type"]), int(event["id"])
        if kind.endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails") or {}
            visit = Visit(
                state=str(details.get("name", "?")),
                type=kind.removesuffix("StateEntered"),
                entered_id=event_id,
                start=event["timestamp"],
                input=details.get("input"),
                attempt_of_execution=len(result.redrives),
            )
            if kind == "FailStateEntered":
                visit.status, visit.end = "failed", event["timestamp"]
            _left(open_by_id.get(owner.get(int(event.get("previousEventId") or 0), -1)), event)
            result.visits.append(visit)
            open_by_id[event_id] = visit
            owner[event_id] = event_id
            continue
        if kind == "ExecutionRedriven":
            result.redrives.append(event["timestamp"])
            continue
        if kind in _EXECUTION_ENDS:
            # AWS writes ExecutionAborted / ExecutionTimedOut alone: the states still running
            # end with the execution.
            for visit in result.visits:
                if visit.end is None:
                    visit.status, visit.end = _EXECUTION_ENDS[kind], event["timestamp"]
            continue
        visit_id = _owner_of(event, open_by_id, owner)
        if visit_id is None:
            continue
        owner[event_id] = visit_id
        _apply(open_by_id[visit_id], kind, event)
    return result


def _owner_of(event: dict[str, Any], visits: dict[int, Visit], owner: dict[int, int]) -> int | None:
    """The visit an event belongs to: the one its previousEventId chain leads to, unless the
    event names a state of another type or name (a Parallel state's own events follow its last
    branch's last event): then the latest visit of that state still open."""
    kind = str(event["type"])
    visit_id = owner.get(int(event.get("previousEventId") or 0))
    state_type, found, _ = kind.partition("State")
    if not found:
        return visit_id
    name = (event.get("stateExitedEventDetails") or {}).get("name")
    candidate = visits.get(visit_id) if visit_id is not None else None
    if candidate is not None and candidate.type == state_type and name in (None, candidate.state):
        return visit_id
    still_open = [
        v for v in visits.values() if v.type == state_type and v.end is None and name in (None, v.state)
    ]
    return still_open[-1].entered_id if still_open else visit_id


def _left(previous: Visit | None, entered: dict[str, Any]) -> None:
    """A state entered straight after a Task (or Pass, Choice, ...) that recorded no exit: a Catch
    sent the execution on, so that state ended there. A Parallel or Map stays open: its own
    states are entered inside it."""
    if previous is None or previous.end is not None or previous.type in ("Parallel", "Map"):
        return
    previous.end = entered["timestamp"]
    previous.status = "caught" if previous.error else "succeeded"


def _apply(visit: Visit, kind: str, event: dict[str, Any]) -> None:
    when = event["timestamp"]
    if kind.endswith("StateExited"):
        visit.end = when
        visit.output = (event.get("stateExitedEventDetails") or {}).get("output")
        if visit.status == "running":
            visit.status = "caught" if visit.error else "succeeded"
    elif kind in _ATTEMPT_STARTS:
        visit.attempts += 1
        visit.error = visit.cause = None  # a retry: only the last attempt's failure counts
    elif kind in ("MapRunStarted", "MapRunRedriven"):
        details = event.get("mapRunStartedEventDetails") or event.get("mapRunRedrivenEventDetails") or {}
        visit.map_run_arn = details.get("mapRunArn") or visit.map_run_arn
    elif kind in _TASK_FAILURES:
        details = event.get(_TASK_FAILURES[kind]) or {}
        visit.error, visit.cause = details.get("error"), details.get("cause")
    elif kind.endswith("StateFailed") or kind == "MapRunAborted":
        visit.status, visit.end = "failed", when
    elif kind.endswith("StateAborted"):
        visit.status, visit.end = "aborted", when
