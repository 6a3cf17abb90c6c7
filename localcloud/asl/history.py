"""Execution history: AWS's event types and fields, ids and previousEventId.

Events are plain dicts shaped like GetExecutionHistory's ``HistoryEvent`` (``timestamp``, ``type``,
``id``, ``previousEventId`` and one ``<kind>EventDetails`` member), so the endpoint returns them as
they are. Timestamps are datetimes in memory; :func:`event_to_json` makes them JSON for storage.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

# The details member of each event type (botocore's HistoryEvent shape).
DETAILS_KEY: dict[str, str] = {
    "ExecutionStarted": "executionStartedEventDetails",
    "ExecutionSucceeded": "executionSucceededEventDetails",
    "ExecutionFailed": "executionFailedEventDetails",
    "ExecutionAborted": "executionAbortedEventDetails",
    "ExecutionTimedOut": "executionTimedOutEventDetails",
    "ExecutionRedriven": "executionRedrivenEventDetails",
    "TaskScheduled": "taskScheduledEventDetails",
    "TaskStarted": "taskStartedEventDetails",
    "TaskStartFailed": "taskStartFailedEventDetails",
    "TaskSubmitted": "taskSubmittedEventDetails",
    "TaskSubmitFailed": "taskSubmitFailedEventDetails",
    "TaskSucceeded": "taskSucceededEventDetails",
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
    "LambdaFunctionScheduled": "lambdaFunctionScheduledEventDetails",
    "LambdaFunctionScheduleFailed": "lambdaFunctionScheduleFailedEventDetails",
    "LambdaFunctionStarted": "",
    "LambdaFunctionStartFailed": "lambdaFunctionStartFailedEventDetails",
    "LambdaFunctionSucceeded": "lambdaFunctionSucceededEventDetails",
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "LambdaFunctionTimedOut": "lambdaFunctionTimedOutEventDetails",
    "MapStateStarted": "mapStateStartedEventDetails",
    "MapIterationStarted": "mapIterationStartedEventDetails",
    "MapIterationSucceeded": "mapIterationSucceededEventDetails",
    "MapIterationFailed": "mapIterationFailedEventDetails",
    "MapIterationAborted": "mapIterationAbortedEventDetails",
    "MapRunStarted": "mapRunStartedEventDetails",
    "MapRunFailed": "mapRunFailedEventDetails",
    "MapRunRedriven": "mapRunRedrivenEventDetails",
    "EvaluationFailed": "evaluationFailedEventDetails",
}

# Detail fields that GetExecutionHistory leaves out when includeExecutionData is false.
_DATA_FIELDS = (
    "input",
    "output",
    "inputDetails",
    "outputDetails",
    "parameters",
    "assignedVariables",
    "assignedVariablesDetails",
)


def details_key(event_type: str) -> str:
    """``PassStateEntered`` -> ``stateEnteredEventDetails``; the table above for the rest."""
    if event_type in DETAILS_KEY:
        return DETAILS_KEY[event_type]
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return ""


class History:
    """Thread-safe, append-only list of events with consecutive ids from 1."""

    def __init__(self, now: Callable[[], dt.datetime], events: list[dict[str, Any]] | None = None) -> None:
        self._now = now
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = events if events is not None else []

    def add(self, event_type: str, previous: int, details: dict[str, Any] | None = None) -> int:
        event: dict[str, Any] = {"timestamp": self._now(), "type": event_type}
        if details is not None:
            key = details_key(event_type)
            if key:
                event[key] = details
        with self._lock:
            event_id = len(self.events) + 1
            event["id"] = event_id
            event["previousEventId"] = previous
            self.events.append(event)
        return event_id

    @property
    def last_id(self) -> int:
        return len(self.events)


def view(
    events: list[dict[str, Any]], *, include_execution_data: bool = True, reverse: bool = False
) -> list[dict[str, Any]]:
    """Events as GetExecutionHistory returns them (without input/output when asked)."""
    out = list(reversed(events)) if reverse else list(events)
    if include_execution_data:
        return out
    stripped = []
    for event in out:
        copy = dict(event)
        for key, value in event.items():
            if key.endswith("EventDetails") and isinstance(value, dict):
                copy[key] = {k: v for k, v in value.items() if k not in _DATA_FIELDS}
        stripped.append(copy)
    return stripped


def event_to_json(event: dict[str, Any]) -> dict[str, Any]:
    out = dict(event)
    ts = out.get("timestamp")
    if isinstance(ts, dt.datetime):
        out["timestamp"] = iso(ts)
    return out


def event_from_json(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    ts = out.get("timestamp")
    if isinstance(ts, str):
        out["timestamp"] = parse_iso(ts)
    return out


def iso(ts: dt.datetime) -> str:
    """``2024-01-01T00:00:00.000Z``: the context object's and $now()'s timestamp format."""
    ts = ts.astimezone(dt.UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def iso_trimmed(ts: dt.datetime) -> str:
    """The context object's timestamps: ISO 8601 with trailing fractional zeros removed
    (the guide's "Context object": ``2024-01-01T00:00:00Z``, ``2024-01-01T00:00:00.12Z``)."""
    text = iso(ts)
    head, _, fraction = text[:-1].partition(".")
    fraction = fraction.rstrip("0")
    return f"{head}.{fraction}Z" if fraction else f"{head}Z"


def parse_iso(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


NOT_TRUNCATED: dict[str, bool] = {"truncated": False}
