"""``meterpipe stop``: StopExecution of a run, of a day's running run, or of a backfill and the
days it still runs."""

from __future__ import annotations

import click

from meterpipe.cli.app import app
from meterpipe.cli.options import TargetChoice, json_option, target_options
from meterpipe.cli.output import out, print_json
from meterpipe.errors import MeterpipeError
from meterpipe.ops.dates import parse_date
from meterpipe.ops.stop import stop_backfill, stop_day, stop_execution


@app.command("stop")
@click.argument("execution", required=False)
@click.option(
    "--date", "day", metavar="YYYY-MM-DD", default=None, help="Stop the run that owns this processing date."
)
@click.option(
    "--backfill",
    metavar="EXECUTION",
    default=None,
    help="Stop this backfill and the daily_rollup executions it started that still run.",
)
@json_option
@target_options
def stop_command(
    *, execution: str | None, day: str | None, backfill: str | None, as_json: bool, target: TargetChoice
) -> None:
    """Stop a run: an EXECUTION (name or ARN), the run of a --date, or a --backfill.

    StopExecution, with error MeterPipe.Stopped. An EXECUTION of the backfill state machine stops
    as --backfill does: the backfill first (it starts no more days), then each of its days still
    running. The days show ABORTED once ledger_sync records the stops (meanwhile `history` and
    `calendar` show them ABORTED from the executions' status). What was written stays; complete
    the days later with `meterpipe redrive --failed --from ... --to ...`.
    """
    if sum(value is not None for value in (execution, day, backfill)) != 1:
        raise MeterpipeError("name one EXECUTION, or give --date or --backfill (only one)")
    pipeline = target.connect()
    if day is not None:
        stopped = stop_day(pipeline, parse_date(day, "--date"))
    elif backfill is not None:
        stopped = stop_backfill(pipeline, backfill)
    else:
        assert execution is not None
        stopped = stop_execution(pipeline, execution)
    if as_json:
        print_json({"stopped": [item.to_json() for item in stopped]})
        return
    console = out()
    for item in stopped:
        what = f"{item.machine} {item.date}" if item.date else item.machine
        console.print(f"stopped {item.execution.name} ({what})")
    days = sorted({item.date for item in stopped if item.date})
    if days:
        console.print(
            f"{len(days)} day(s) ABORTED: {', '.join(map(str, days))}; complete them with "
            f"meterpipe redrive --failed --from {days[0]} --to {days[-1]}{target.args()}",
            soft_wrap=True,
        )
