"""The operator's command line. Commands are thin: parse options, call the library, print."""

from __future__ import annotations

from meterpipe.cli.app import app, main

# Command modules register themselves on `app` when imported; add one import per module here.

__all__ = ["app", "main"]
