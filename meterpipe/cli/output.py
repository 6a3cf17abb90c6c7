"""Where commands print: data on stdout (text or ``--json``), progress and notes on stderr."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console


def out() -> Console:
    """stdout, resolved when printing (so click's test runner sees it)."""
    return Console(highlight=False, soft_wrap=True)


def err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))
