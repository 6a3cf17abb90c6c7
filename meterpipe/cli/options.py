"""Option groups shared by the commands, defined once: the target (``--target``, ``--home``,
``--profile``, ``--region``, ``--stack``), ``--json``, and date ranges."""

from __future__ import annotations

import functools
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from meterpipe.aws import Target
from meterpipe.errors import MeterpipeError
from meterpipe.local.home import DEFAULT_HOME, HOME_VARIABLE
from meterpipe.ops.pipeline import Pipeline, connect
from meterpipe.ops.runs import Tolerance

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class TargetChoice:
    """What the target options said; :meth:`connect` once the other arguments are checked."""

    kind: str
    home: Path | None
    profile: str | None
    region: str | None
    stack: str | None

    def target(self) -> Target:
        if self.kind == "aws":
            if self.home is not None:
                raise MeterpipeError("--home applies to --target local only")
            return Target.aws(profile=self.profile, region=self.region, stack=self.stack)
        extra = [name for name, value in (("--profile", self.profile), ("--stack", self.stack)) if value]
        if extra:
            verb = "applies" if len(extra) == 1 else "apply"
            raise MeterpipeError(f"{' and '.join(extra)} {verb} to --target aws only")
        return Target(kind="local", home=Target.local(self.home).home, region=self.region)

    def connect(self) -> Pipeline:
        return connect(self.target())

    def args(self) -> str:
        """The target options as given, for a command an operator copies (`` --home X``)."""
        given = [("--target", "aws" if self.kind == "aws" else None), ("--home", self.home)]
        given += [("--profile", self.profile), ("--region", self.region), ("--stack", self.stack)]
        return "".join(f" {option} {shlex.quote(str(value))}" for option, value in given if value)


_TARGET_OPTIONS = (
    click.option(
        "--target",
        "target_kind",
        type=click.Choice(["local", "aws"]),
        default="local",
        show_default=True,
        envvar="METERPIPE_TARGET",
        help="Run against localcloud or a deployed AWS stack ($METERPIPE_TARGET).",
    ),
    click.option(
        "--home",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help=f"Local: the localcloud home folder (default: ${HOME_VARIABLE}, else {DEFAULT_HOME}/).",
    ),
    click.option("--profile", default=None, help="AWS: the named profile of your credentials."),
    click.option(
        "--region",
        default=None,
        help="AWS: the region (default: AWS_REGION, else AWS_DEFAULT_REGION or the profile's).",
    ),
    click.option(
        "--stack",
        default=None,
        envvar="METERPIPE_STACK",
        help="AWS: the CloudFormation stack whose outputs describe the deployment (default: MeterPipe).",
    ),
)


def target_options(fn: F) -> F:
    """Adds the target options; the command receives them as one ``target: TargetChoice``."""

    @functools.wraps(fn)
    def wrapper(
        *args: Any,
        target_kind: str,
        home: Path | None,
        profile: str | None,
        region: str | None,
        stack: str | None,
        **kwargs: Any,
    ) -> Any:
        return fn(*args, target=TargetChoice(target_kind, home, profile, region, stack), **kwargs)

    decorated: Any = wrapper
    for option in reversed(_TARGET_OPTIONS):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (for scripts) instead of text."
)
wait_option = click.option(
    "--wait", is_flag=True, help="Follow the work until it ends; exit 3 if any day failed."
)


def from_to_options(*, required: bool = False, what: str = "processing dates") -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        fn = click.option(
            "--to", "end", required=required, metavar="YYYY-MM-DD", help=f"Last of the {what} (included)."
        )(fn)
        return click.option(
            "--from", "start", required=required, metavar="YYYY-MM-DD", help=f"First of the {what}."
        )(fn)

    return decorate


_TOLERANCE_OPTIONS = (
    click.option(
        "--max-bad-readings",
        type=click.IntRange(min=0),
        default=None,
        metavar="N",
        help="Bad readings a day may hold and still be rolled up: skipped, never summed, counted "
        "(default: the deployment's meterpipe:maxBadReadings; more fails the day).",
    ),
    click.option(
        "--min-completeness",
        type=click.FloatRange(min=0, max=100),
        default=None,
        metavar="PCT",
        help="Fail a day whose valid readings are below PCT% of those expected (default: the "
        "deployment's meterpipe:minCompletenessPercent; 0 is off).",
    ),
)


def tolerance_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--max-bad-readings`` and ``--min-completeness``, given to the command as ``tolerance``:
    they go into each day's execution input, overriding the deployment's settings for that run."""

    @functools.wraps(fn)
    def wrapper(
        *args: Any, max_bad_readings: int | None, min_completeness: float | None, **kwargs: Any
    ) -> Any:
        return fn(*args, tolerance=Tolerance(max_bad_readings, min_completeness), **kwargs)

    decorated: Any = wrapper
    for option in reversed(_TOLERANCE_OPTIONS):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]
