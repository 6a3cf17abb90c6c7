"""The click group every command module registers on, and the error boundary.

Domain errors (:class:`~meterpipe.errors.MeterpipeError`) and boto3's errors become one line on
stderr (``error: ...``) and a non-zero exit code, inside the group itself, so ``CliRunner`` tests
see exactly what an operator sees. Exit codes: 0 done, 1 error, 2 usage error (click's), 3 the
work ran but a run or day failed (``--wait``).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from meterpipe import __version__
from meterpipe.aws import explain
from meterpipe.errors import MeterpipeError

DEBUG_VARIABLE = "METERPIPE_DEBUG"


class CliError(click.ClickException):
    """One line on stderr, ``error: <message>``."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


class CliFailure(CliError):
    """The work ran, but a run or a day failed: exit code 3."""

    exit_code = 3


class MeterpipeGroup(click.Group):
    """A group whose commands' domain and AWS errors become :class:`CliError`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MeterpipeError as exc:
            failure = getattr(exc, "exit_code", 1) == CliFailure.exit_code
            raise (CliFailure if failure else CliError)(str(exc)) from exc
        except (ClientError, BotoCoreError, ResponseParserError) as exc:
            raise CliError(explain(exc)) from exc


@click.group(
    name="meterpipe",
    cls=MeterpipeGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="meterpipe", message="%(prog)s %(version)s")
def app() -> None:
    """Turn smart-meter readings into per-customer hourly, daily and monthly kWh rollups.

    Every command works against the running localcloud of a home folder (--target local, the
    default) or a deployed stack (--target aws).
    """


def main() -> None:
    """Console-script entry point: every error is one clear line and a non-zero exit code."""
    try:
        # Without standalone mode click returns a command's ``ctx.exit(n)`` instead of exiting.
        code = app.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("aborted", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get(DEBUG_VARIABLE):
            raise
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        click.echo(f"error: unexpected {message} (set {DEBUG_VARIABLE}=1 for the traceback)", err=True)
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)
