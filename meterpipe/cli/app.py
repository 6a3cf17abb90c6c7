"""The click group every command module registers on, and the error boundary."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from meterpipe import __version__
from meterpipe.errors import MeterpipeError

err_console = Console(stderr=True)


@click.group(
    name="meterpipe",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="meterpipe", message="%(prog)s %(version)s")
def app() -> None:
    """Turn smart-meter readings into per-customer hourly, daily and monthly kWh rollups."""


def main() -> None:
    """Console-script entry point: domain errors become one clear line and exit code 1."""
    try:
        app.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except MeterpipeError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
