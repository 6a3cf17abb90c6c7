"""localcloud's clock, read and moved through its control route: what ``Pipeline.now`` reads on a
local target and ``schedule fire --at`` moves. AWS has no such clock: these are local only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from localcloud import control
from meterpipe.local.server import LocalServerError


def now(endpoint: str) -> dt.datetime | None:
    """localcloud's time (None when it cannot be read: the caller uses this machine's)."""
    try:
        text = str(control.get_clock(endpoint)["now"])
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (OSError, ValueError, KeyError):
        return None


def set_clock(endpoint: str, when: dt.datetime, *, frozen: bool) -> dict[str, Any]:
    """Set the clock to ``when`` (held there when ``frozen``); returns localcloud's answer, with the
    schedules that fired (``fired``)."""
    try:
        return control.set_clock(endpoint, when, frozen=frozen)
    except control.ControlError as error:
        raise LocalServerError(str(error)) from error
