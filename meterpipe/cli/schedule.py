"""``meterpipe schedule show|enable|disable|fire``: the daily schedule."""

from __future__ import annotations

import click

from meterpipe.cli.app import app
from meterpipe.cli.options import TargetChoice, json_option, target_options, wait_option
from meterpipe.cli.output import out, print_json
from meterpipe.cli.render import schedule_view
from meterpipe.cli.runs import follow, report
from meterpipe.errors import MeterpipeError
from meterpipe.ops.dates import parse_time
from meterpipe.ops.schedule import fire_schedule, set_schedule_state, show_schedule
from meterpipe.ops.watch import Tracked, before_work


@app.group("schedule")
def schedule() -> None:
    """The daily schedule that starts daily_rollup for the previous day."""


@schedule.command("show")
@json_option
@target_options
def show_command(*, as_json: bool, target: TargetChoice) -> None:
    """Show the schedule: state, expression, time zone, target and next fire times."""
    info = show_schedule(target.connect())
    if as_json:
        print_json(info.to_json())
    else:
        out().print(schedule_view(info))


def _set_state(target: TargetChoice, *, enabled: bool, as_json: bool) -> None:
    info, changed = set_schedule_state(target.connect(), enabled=enabled)
    if as_json:
        print_json({**info.to_json(), "changed": changed})
        return
    verb = ("enabled" if enabled else "disabled") if changed else f"already {info.state.lower()}"
    out().print(f"schedule {info.name} {verb}")


@schedule.command("enable")
@json_option
@target_options
def enable_command(*, as_json: bool, target: TargetChoice) -> None:
    """Enable the schedule. (On AWS a later deploy sets it back to meterpipe:scheduleEnabled.)"""
    _set_state(target, enabled=True, as_json=as_json)


@schedule.command("disable")
@json_option
@target_options
def disable_command(*, as_json: bool, target: TargetChoice) -> None:
    """Disable the schedule. (On AWS a later deploy sets it back to meterpipe:scheduleEnabled.)"""
    _set_state(target, enabled=False, as_json=as_json)


@schedule.command("fire")
@click.option(
    "--at",
    "at",
    metavar="TIME",
    default=None,
    help="ISO 8601 time the clock reaches, e.g. 2024-01-06T03:30:00Z (no offset: the schedule's zone). "
    "Default: now.",
)
@wait_option
@json_option
@target_options
def fire_command(*, at: str | None, wait: bool, as_json: bool, target: TargetChoice) -> None:
    """Local only: fire the schedule as if localcloud's clock reached TIME.

    The schedule fires for its latest due time at or before TIME (so 03:30 on the 6th runs the
    5th), exactly once; localcloud's clock then runs on from TIME. Reports the execution started.
    Moving the clock never reorders a day's runs: the latest is the ledger's (attempt order).
    With --wait, follow the run; Ctrl-C then stops nothing and prints the `meterpipe stop`
    command that would.
    """
    pipeline = target.connect()
    when = parse_time(at, pipeline.timezone, "--at") if at else pipeline.now()
    fired = fire_schedule(pipeline, when)
    if fired.run is None:
        raise MeterpipeError(
            f"the schedule fired for {fired.scheduled_time} but its target failed: {fired.error}"
        )
    if not wait:
        if as_json:
            print_json(fired.to_json())
        else:
            out().print(
                f"schedule fired for {fired.scheduled_time:%Y-%m-%d %H:%M} UTC: started {fired.run.name} "
                f"for processing date {fired.run.date}\n  {fired.run.arn}\n"
                f"localcloud's clock now runs from {fired.clock:%Y-%m-%d %H:%M:%S} UTC"
            )
        return
    if not as_json:
        out().print(f"schedule fired for {fired.scheduled_time:%Y-%m-%d %H:%M} UTC: {fired.run.name}")
    if fired.run.date is None:
        raise MeterpipeError(f"{fired.run.name} names no processing date to follow")
    # After the start: the run is followed by name, so its claim of the day shows whenever it comes.
    work = before_work(pipeline, [fired.run.date]).track(Tracked(fired.run.arn, fired.run.name))
    label = f"scheduled run {fired.run.date}"
    report(pipeline, follow(pipeline, work, label, target.args()), as_json, per_day=True)
