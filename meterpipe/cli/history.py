"""``meterpipe history`` and ``meterpipe calendar``: what ran, when, and how it went."""

from __future__ import annotations

import click

from meterpipe.cli.app import app
from meterpipe.cli.options import TargetChoice, from_to_options, json_option, target_options
from meterpipe.cli.output import out, print_json
from meterpipe.cli.render import calendar_grid, history_table, timeline_view
from meterpipe.errors import MeterpipeError
from meterpipe.ops.calendar import month_calendar
from meterpipe.ops.dates import optional_range, parse_month
from meterpipe.ops.history import STATUSES, day_history, timeline


@app.command("history")
@click.argument("reference", metavar="[DATE|EXECUTION]", required=False)
@from_to_options()
@click.option(
    "--status",
    type=click.Choice([s.lower() for s in STATUSES], case_sensitive=False),
    default=None,
    help="Only dates with this ledger status (never: dates without a record).",
)
@json_option
@target_options
def history_command(
    *,
    reference: str | None,
    start: str | None,
    end: str | None,
    status: str | None,
    as_json: bool,
    target: TargetChoice,
) -> None:
    """One line per processing date, or the timeline of one execution.

    Without an argument: each date's ledger record (status, start, duration, items written,
    readings against those expected, sensors reporting against those known, bad readings
    skipped, attempts, and its latest execution, the ledger's: attempt order, never a start
    time). With a DATE (its latest run) or an EXECUTION name or ARN: the ledger's counts of that
    attempt, then each state with its start and duration, Athena query ids with bytes scanned,
    map runs with item counts, retries, and the error and cause where it failed.
    """
    if reference and (start or end or status):
        raise MeterpipeError("--from/--to/--status list dates; give them without a DATE or EXECUTION")
    days = optional_range(start, end)
    pipeline = target.connect()
    now = pipeline.now()
    if reference:
        found = timeline(pipeline, reference)
        if as_json:
            print_json(found.to_json(now))
        else:
            out().print(timeline_view(found, now))
        return
    lines = day_history(pipeline, days, status)
    if as_json:
        print_json([line.to_json(now) for line in lines])
        return
    if not lines:
        out().print(
            "no runs" + (f" in {days}" if days else "") + (f" with status {status}" if status else "")
        )
        return
    out().print(history_table(lines, now))


@app.command("calendar")
@click.option("--month", metavar="YYYY-MM", default=None, help="The month (default: the current one).")
@json_option
@target_options
def calendar_command(*, month: str | None, as_json: bool, target: TargetChoice) -> None:
    """A month grid, one cell per processing date, by its ledger status.

    ✓ succeeded, ↻ stale (succeeded, but its lake objects changed since), ✗ failed, ◐ incomplete
    (failed part-way through its writes), ∅ no data, ■ aborted (stopped), … running, · never run.
    One Query of the ledger (and one listing of the month's lake objects for stale).
    """
    first = parse_month(month, "--month") if month else None
    pipeline = target.connect()
    if first is None:
        first = pipeline.now().date().replace(day=1)
    found = month_calendar(pipeline, first)
    if as_json:
        print_json(found.to_json())
        return
    out().print(calendar_grid(found))
