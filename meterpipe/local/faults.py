"""``meterpipe local faults``: rehearse outages on the running localcloud of a home folder, through
localcloud's control API (faults live in that process only, never in its saved state)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from localcloud import control, launcher
from localcloud.faults import SERVICES
from meterpipe.local.home import not_running
from meterpipe.local.server import LocalServerError

__all__ = ["SERVICES", "add", "clear", "listed"]


def _endpoint(home: Path) -> str:
    server = launcher.status(home).server
    if server is None:
        raise LocalServerError(not_running(home))
    return server.endpoint


def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except control.ControlError as exc:
        raise LocalServerError(str(exc)) from exc


def add(home: Path, service: str, operation: str, **effects: Any) -> dict[str, Any]:
    """Set a fault; returns it (``id``, ``description`` ...)."""
    fault: dict[str, Any] = _call(control.add_fault, _endpoint(home), service, operation, **effects)
    return fault


def listed(home: Path) -> list[dict[str, Any]]:
    faults: list[dict[str, Any]] = _call(control.list_faults, _endpoint(home))
    return faults


def clear(home: Path, fault_id: str | None = None) -> list[dict[str, Any]]:
    cleared: list[dict[str, Any]] = _call(control.clear_faults, _endpoint(home), fault_id)
    return cleared
