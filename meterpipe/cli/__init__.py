"""The operator's command line. Commands are thin: parse options, call the library, print."""

from __future__ import annotations

# Command modules register themselves on `app` when imported; add one import per module here.
from meterpipe.cli import (
    console,  # noqa: F401
    faults,  # noqa: F401
    generate,  # noqa: F401
    history,  # noqa: F401
    ingest,  # noqa: F401
    local,  # noqa: F401
    logs,  # noqa: F401
    query,  # noqa: F401
    runs,  # noqa: F401
    schedule,  # noqa: F401
)
from meterpipe.cli.app import app, main

__all__ = ["app", "main"]
