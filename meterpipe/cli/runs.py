"""``meterpipe run``, ``backfill`` and ``redrive``: starting work, and following it with ``--wait``.

Following reads the days' outcomes from the ledger (one Query per poll) and describes only the
executions the command started. Ctrl-C while following stops nothing: it says what still runs,
and the ``meterpipe stop`` command that would stop it (exit 130).
"""

from __future__ import annotations

import click
from rich.console import Console

from meterpipe.cli.app import StillRunning, app
from meterpipe.cli.options import (
    TargetChoice,
    from_to_options,
    json_option,
    target_options,
    tolerance_options,
    wait_option,
)
from meterpipe.cli.output import err, out, print_json
from meterpipe.cli.render import (
    actions_table,
    day_line,
    day_progress,
    describe_progress,
    failed_days_table,
    plan_table,
)
from meterpipe.errors import MeterpipeError
from meterpipe.ops.backfill import Mode, check_concurrency, plan_backfill, start_backfill
from meterpipe.ops.dates import DateRange, optional_range, parse_date
from meterpipe.ops.history import readable_cause, root_cause
from meterpipe.ops.inputs import day_inputs
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.redrive import redrive_days, redrive_execution
from meterpipe.ops.runs import Run, RunsFailed, Tolerance, start_run
from meterpipe.ops.watch import Tracked, Work, before_work, watch

concurrency_option = click.option(
    "--concurrency",
    type=int,
    default=None,
    help="Days a backfill runs at once, from 1 to the deployment's limit (default: the deployment's "
    "meterpipe:backfillMaxConcurrency; both are stack outputs).",
)


def follow(
    pipeline: Pipeline, progress: Work, label: str, target_args: str, console: Console | None = None
) -> Work:
    """Watch the work with a live bar of its days (on stderr). Ctrl-C stops nothing: it raises
    StillRunning naming what still runs and the ``meterpipe stop`` command (with ``target_args``,
    the target options given) that would stop it."""
    console = console or err()
    try:
        with day_progress(console, len(progress.days), label) as (bar, task):

            def update(current: Work) -> None:
                bar.update(
                    task, completed=current.succeeded + current.failed, description=describe_progress(current)
                )

            return watch(pipeline, progress, on_progress=update)
    except KeyboardInterrupt:
        raise StillRunning([t.name for t in progress.still_running()], target_args) from None


def _root_causes(pipeline: Pipeline, progress: Work) -> dict[str, str | None]:
    """The first failed batch of each day that failed in a map run (its own error, e.g. the rows
    write_batch refused); validation failures already name the file and value in their cause."""
    causes: dict[str, str | None] = {}
    for day in progress.not_completed:
        record = progress.records.get(day)
        if record is not None and (record.error or "").startswith("States."):
            causes[day.isoformat()] = root_cause(pipeline, record.execution_arn)
    return causes


def report(
    pipeline: Pipeline, progress: Work, as_json: bool, *, per_day: bool, target_args: str = ""
) -> None:
    """Print the outcome of the work: a line per day (``per_day``) or a summary and a table of
    the days without a success, with the command that completes them; exit 3 naming those days."""
    now = pipeline.now()
    causes = _root_causes(pipeline, progress)
    if as_json:
        data = progress.to_json(now)
        for day in data["days"]:
            day["rootCause"] = causes.get(day["date"])
        print_json(data)
    else:
        console = out()
        if per_day:
            for day in progress.days:
                record = progress.records.get(day)
                console.print(day_line(day, progress.status(day), record, now))
                if record is not None and day in progress.not_completed and record.cause:
                    console.print(f"  cause: {readable_cause(record.cause)}", style="red", soft_wrap=True)
                batch = causes.get(day.isoformat())
                if batch:
                    console.print(f"  first failed batch: {batch}", style="red", soft_wrap=True)
        else:
            console.print(
                f"{progress.succeeded} of {len(progress.days)} days succeeded, "
                f"{len(progress.not_completed)} failed; {progress.items_written:,} items written"
            )
        if progress.not_completed:
            for run in unaccounted_failures(progress):
                why = f": {run.error}: {readable_cause(run.cause)}" if run.error else ""
                console.print(f"{run.name} {run.status}{why}", style="red", soft_wrap=True)
        if progress.not_completed and not per_day:
            console.print(failed_days_table(progress, causes))
            first, last = progress.not_completed[0], progress.not_completed[-1]
            command = f"meterpipe redrive --failed --from {first} --to {last} --wait{target_args}"
            console.print(f"complete them with: {command}", soft_wrap=True)
    if progress.not_completed:
        raise RunsFailed(f"{len(progress.not_completed)} day(s) not completed: {_named(progress)}")


def unaccounted_failures(progress: Work) -> list[Run]:
    """Executions of the work that ended without success and own no day in the ledger: a backfill
    (its days say the rest), or a run that failed before it claimed its day."""
    owners = {record.execution_arn for record in progress.records.values()}
    ended = (progress.executions.get(item.arn) for item in progress.tracked)
    return [
        run
        for run in ended
        if run is not None and run.done and run.status != "SUCCEEDED" and run.arn not in owners
    ]


def _named(progress: Work) -> str:
    names = []
    for day in progress.not_completed:
        status = progress.status(day)
        record = progress.records.get(day)
        error = f": {record.error}" if record is not None and record.error and status != "PENDING" else ""
        names.append(f"{day} ({'never started' if status == 'PENDING' else status}{error})")
    return ", ".join(names)


@app.command("run")
@click.option("--date", "day", required=True, metavar="YYYY-MM-DD", help="The processing date.")
@tolerance_options
@wait_option
@json_option
@target_options
def run_command(*, day: str, tolerance: Tolerance, wait: bool, as_json: bool, target: TargetChoice) -> None:
    """Run daily_rollup for one processing date, as the schedule would.

    --max-bad-readings and --min-completeness override the deployment's validation settings for
    this run (its execution input).

    With --wait, follow it until it ends (exit 3 if the day did not succeed); Ctrl-C then stops
    nothing and prints the `meterpipe stop` command that would.
    """
    date = parse_date(day, "--date")
    pipeline = target.connect()
    progress = before_work(pipeline, [date]) if wait else None
    run = start_run(pipeline, date, tolerance=tolerance)
    if progress is None:
        if as_json:
            print_json(run.to_json())
        else:
            out().print(f"started {run.name} for {date}\n  {run.arn}")
        return
    progress.track(Tracked(run.arn, run.name))
    report(pipeline, follow(pipeline, progress, f"run {date}", target.args()), as_json, per_day=True)


@app.command("backfill")
@from_to_options(required=True)
@concurrency_option
@click.option("--only-missing", is_flag=True, help="Skip days that succeeded (the ledger's status).")
@click.option(
    "--stale",
    is_flag=True,
    help="Run the days without a success, and those whose lake objects changed since their success "
    "(their input fingerprint); --dry-run says which and why.",
)
@click.option("--dry-run", is_flag=True, help="Print which days would run and why; start nothing.")
@tolerance_options
@wait_option
@json_option
@target_options
def backfill_command(
    *,
    start: str,
    end: str,
    concurrency: int | None,
    only_missing: bool,
    stale: bool,
    dry_run: bool,
    tolerance: Tolerance,
    wait: bool,
    as_json: bool,
    target: TargetChoice,
) -> None:
    """Run daily_rollup for every date from --from to --to with the backfill state machine.

    Each day runs as its own daily_rollup execution. With --only-missing or --stale, each stretch
    of consecutive days still to do becomes its own backfill execution. With --wait, a live
    display follows the days (done, running, failed; items written) and the exit code is 0 only
    if every day succeeded (3 otherwise); Ctrl-C then stops nothing and prints the `meterpipe
    stop` command that would. --max-bad-readings and --min-completeness go to every day's run.
    """
    days = DateRange.parse(start, end)
    pipeline = target.connect()
    check_concurrency(pipeline, concurrency)
    mode: Mode = "stale" if stale else "missing" if only_missing else "all"
    plan = plan_backfill(pipeline, days, mode=mode, inputs=day_inputs(pipeline, days) if stale else None)
    if dry_run:
        if as_json:
            print_json({"days": [d.to_json() for d in plan.days], "backfills": [str(r) for r in plan.ranges]})
            return
        console = out()
        console.print(plan_table(plan))
        console.print(
            f"{len(plan.to_run)} of {len(plan.days)} days would run, "
            f"in {len(plan.ranges)} backfill execution(s)"
        )
        return
    if not plan.to_run:
        why = "every day succeeded, its input unchanged since" if stale else "every day succeeded"
        if as_json:
            print_json({"started": [], "reason": why})
        else:
            out().print(f"nothing to do in {days}: {why}")
        return
    progress = before_work(pipeline, plan.to_run) if wait else None
    started = start_backfill(pipeline, plan.ranges, concurrency=concurrency, tolerance=tolerance)
    if progress is None:
        if as_json:
            print_json({"started": [s.to_json() for s in started]})
        else:
            for item in started:
                out().print(
                    f"started backfill {item.name} for {item.days} ({len(item.days)} days)\n  {item.arn}"
                )
        return
    if not as_json:
        for item in started:
            err().print(f"backfill {item.name}: {item.days} ({len(item.days)} days)")
    progress.track(*(Tracked(item.arn, item.name) for item in started))
    work = follow(pipeline, progress, "backfill", target.args())
    report(pipeline, work, as_json, per_day=False, target_args=target.args())


@app.command("redrive")
@click.argument("execution", required=False)
@click.option(
    "--failed",
    "all_failed",
    is_flag=True,
    help="Every day without a success (in --from..--to, days never run included).",
)
@click.option("--fresh", is_flag=True, help="Start fresh runs instead of RedriveExecution.")
@from_to_options(what="processing dates (with --failed)")
@concurrency_option
@wait_option
@json_option
@target_options
def redrive_command(
    *,
    execution: str | None,
    all_failed: bool,
    fresh: bool,
    start: str | None,
    end: str | None,
    concurrency: int | None,
    wait: bool,
    as_json: bool,
    target: TargetChoice,
) -> None:
    """Complete the days without a success: --failed days, or those of an EXECUTION (name or ARN).

    The days come from the ledger: failed, incomplete, aborted, no data, interrupted (by a crash
    or a stop), and with --from/--to also the days never run (e.g. not yet started by a backfill
    that was killed). For each, RedriveExecution of the execution that owns the day where AWS
    allows it and it can change the outcome (it re-runs only the failed states, with the inputs
    they had); otherwise a fresh run: stretches of consecutive days as backfill executions, a lone
    day as a daily_rollup execution. Days already running are waited for. Each line says what it
    did and why.

    An EXECUTION of daily_rollup: its day. Of backfill: every day of the backfill's range (the
    backfill itself is never redriven: that would only re-run its final state). With --wait,
    follow the days until done; exit code 0 only if every day succeeded, 3 otherwise naming the
    days not completed.
    """
    if bool(execution) == all_failed:
        raise MeterpipeError("name one EXECUTION to redrive, or pass --failed (not both)")
    if execution and (start or end):
        raise MeterpipeError("--from/--to go with --failed, not with an EXECUTION")
    days = optional_range(start, end)
    pipeline = target.connect()
    check_concurrency(pipeline, concurrency)
    if execution:
        done = redrive_execution(pipeline, execution, fresh=fresh, concurrency=concurrency)
    else:
        done = redrive_days(pipeline, days, fresh=fresh, concurrency=concurrency)
    if not done.actions:
        if as_json:
            print_json(done.to_json())
        else:
            where = f" in {days}" if days else ""
            out().print(f"nothing to redrive: every day{where} with a ledger record succeeded")
        return
    if not wait:
        if as_json:
            print_json(done.to_json())
        else:
            out().print(actions_table(done.actions))
        return
    if not as_json:
        err().print(actions_table(done.actions))
    progress = done.work()
    report(
        pipeline,
        follow(pipeline, progress, "redrive", target.args()),
        as_json,
        per_day=len(progress.days) <= 10,
    )
