"""Python functions for localcloud's local-only control routes (``/_localcloud/...``), for tests
and tools: read, set or advance localcloud's clock. Setting or advancing returns once everything
the new time made due has fired, with the list of what fired."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from typing import Any


def _call(endpoint: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{endpoint.rstrip('/')}{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=900) as response:
        result: dict[str, Any] = json.load(response)
        return result


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


def health(endpoint: str) -> dict[str, Any]:
    return _call(endpoint, "GET", "/_localcloud/health")
