"""Python functions for localcloud's local-only control routes (``/_localcloud/...``), for tests
and tools: read, set or advance localcloud's clock (setting or advancing returns once everything
the new time made due has fired, with the list of what fired), force a checkpoint, and set, list
or clear faults."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from typing import Any


class ControlError(Exception):
    """A control route refused the call: the server's reason, and its HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _call(endpoint: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{endpoint.rstrip('/')}{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=900) as response:
            result: dict[str, Any] = json.load(response)
            return result
    except urllib.error.HTTPError as exc:
        try:
            answer = json.load(exc)
            message = str(answer.get("error") or answer.get("message") or answer)
        except ValueError:
            message = exc.reason
        raise ControlError(message, exc.code) from None


def get_clock(endpoint: str) -> dict[str, Any]:
    return _call(endpoint, "GET", "/_localcloud/clock")


def set_clock(endpoint: str, when: dt.datetime, *, frozen: bool | None = None) -> dict[str, Any]:
    """Jump the clock to ``when`` (aware); ``frozen`` stops it there until moved again."""
    if when.tzinfo is None:
        raise ValueError("set_clock needs a timezone-aware datetime")
    body: dict[str, Any] = {"set": when.isoformat()}
    if frozen is not None:
        body["freeze"] = frozen
    return _call(endpoint, "POST", "/_localcloud/clock", body)


def advance_clock(endpoint: str, seconds: float) -> dict[str, Any]:
    return _call(endpoint, "POST", "/_localcloud/clock", {"advance": seconds})


def reset_clock(endpoint: str) -> dict[str, Any]:
    """Back to real time."""
    return _call(endpoint, "POST", "/_localcloud/clock", {"reset": True})


def flush_storage(endpoint: str) -> dict[str, Any]:
    """Make MiniStack's data durable now, as a Step Functions checkpoint does; returns
    ``{"seconds": ..., "persisted": bool}`` once it is."""
    return _call(endpoint, "POST", "/_localcloud/storage/flush", {})


def checkpoint(endpoint: str) -> dict[str, Any]:
    """A checkpoint now: MiniStack's data made durable, then the running executions written (what
    a SIGKILL from here on keeps); returns ``{"seconds": ..., "written": {"states": n}}`` once it
    is written."""
    return _call(endpoint, "POST", "/_localcloud/checkpoint", {})


def health(endpoint: str) -> dict[str, Any]:
    return _call(endpoint, "GET", "/_localcloud/health")


def add_fault(
    endpoint: str,
    service: str,
    operation: str,
    *,
    error: str | None = None,
    unprocessed: float | None = None,
    delay: float | None = None,
    probability: float | None = None,
    count: int | None = None,
) -> dict[str, Any]:
    """Set a fault (see ``localcloud.faults``); returns it, with its ``id``. Raises ControlError
    naming what is wrong with it."""
    spec = {
        "service": service,
        "operation": operation,
        "error": error,
        "unprocessed": unprocessed,
        "delay": delay,
        "probability": probability,
        "count": count,
    }
    answer = _call(endpoint, "POST", "/_localcloud/faults", {k: v for k, v in spec.items() if v is not None})
    fault: dict[str, Any] = answer["fault"]
    return fault


def list_faults(endpoint: str) -> list[dict[str, Any]]:
    faults: list[dict[str, Any]] = _call(endpoint, "GET", "/_localcloud/faults")["faults"]
    return faults


def clear_faults(endpoint: str, fault_id: str | None = None) -> list[dict[str, Any]]:
    """Clear one fault, or all; returns what was cleared (ControlError 404: no such fault)."""
    path = "/_localcloud/faults" + (f"/{fault_id}" if fault_id else "")
    cleared: list[dict[str, Any]] = _call(endpoint, "DELETE", path)["cleared"]
    return cleared
