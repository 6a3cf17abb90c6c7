"""``meterpipe run``, ``backfill`` and ``redrive``: starting work, and following it with ``--wait``."""

from __future__ import annotations

from collections.abc import Sequence

import click
from rich.console import Console

from meterpipe.cli.app import app
from meterpipe.cli.options import (
    TargetChoice,
    from_to_options,
    json_option,
    target_options,
    wait_option,
)
from meterpipe.cli.output import err, out, print_json
from meterpipe.cli.render import (
    actions_table,
    day_progress,
    describe_progress,
    failed_days_table,
    plan_table,
    run_line,
)
from meterpipe.errors import MeterpipeError
from meterpipe.ops.backfill import (
    BackfillProgress,
    StartedBackfill,
    plan_backfill,
    start_backfill,
    watch_backfills,
)
from meterpipe.ops.dates import DateRange, optional_range, parse_date
from meterpipe.ops.history import readable_cause, root_cause
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.redrive import RedriveAction, redrive_execution, redrive_failed
from meterpipe.ops.runs import Run, RunsFailed, describe_run, start_run, wait_for_runs


def follow_runs(
    pipeline: Pipeline, runs: list[Run], label: str, redrives: dict[str, int] | None = None
) -> list[Run]:
    """Wait for runs with a live bar on stderr."""
    with day_progress(err(), len(runs), label) as (progress, task):

        def update(current: list[Run]) -> None:
            done = [r for r in current if r.done and r.redrive_count >= (redrives or {}).get(r.arn, 0)]
            failed = sum(1 for r in done if r.failed)
            items = sum(r.items_written or 0 for r in done)
            progress.update(
                task,
                completed=len(done),
                description=f"[red]{failed} failed[/red] · {items:,} items" if failed else f"{items:,} items",
            )

        return wait_for_runs(pipeline, runs, on_update=update, min_redrive_count=redrives)


def report_runs(pipeline: Pipeline, runs: Sequence[Run], as_json: bool) -> None:
    """Print finished runs; exit 3 when any failed (with its cause, at the bottom)."""
    now = pipeline.now()
    causes = {run.arn: root_cause(pipeline, run.arn) for run in runs if run.failed}
    if as_json:
        print_json([{**run.to_json(), "rootCause": causes.get(run.arn)} for run in runs])
    else:
        console = out()
        for run in runs:
            console.print(run_line(run, now))
            if run.failed:
                console.print(f"  cause: {readable_cause(run.cause)}", style="red", soft_wrap=True)
                if causes.get(run.arn):
                    console.print(f"  first failed batch: {causes[run.arn]}", style="red", soft_wrap=True)
    failed = [run for run in runs if run.failed]
    if failed:
        days = ", ".join(str(run.date) for run in failed)
        raise RunsFailed(f"{len(failed)} of {len(runs)} run(s) failed: {days}")


@app.command("run")
@click.option("--date", "day", required=True, metavar="YYYY-MM-DD", help="The processing date.")
@wait_option
@json_option
@target_options
def run_command(*, day: str, wait: bool, as_json: bool, target: TargetChoice) -> None:
    """Run daily_rollup for one processing date, as the schedule would."""
    date = parse_date(day, "--date")
    pipeline = target.connect()
    run = start_run(pipeline, date)
    if not wait:
        if as_json:
            print_json(run.to_json())
        else:
            out().print(f"started {run.name} for {date}\n  {run.arn}")
        return
    report_runs(pipeline, follow_runs(pipeline, [run], f"run {date}"), as_json)


@app.command("backfill")
@from_to_options(required=True)
@click.option(
    "--concurrency",
    type=int,
    default=None,
    help="Days run at once (default: the deployment's meterpipe:backfillMaxConcurrency).",
)
@click.option("--only-missing", is_flag=True, help="Skip days whose latest run succeeded.")
@click.option("--dry-run", is_flag=True, help="Print which days would run and why; start nothing.")
@wait_option
@json_option
@target_options
def backfill_command(
    *,
    start: str,
    end: str,
    concurrency: int | None,
    only_missing: bool,
    dry_run: bool,
    wait: bool,
    as_json: bool,
    target: TargetChoice,
) -> None:
    """Run daily_rollup for every date from --from to --to with the backfill state machine.

    Each day runs as its own daily_rollup execution. With --only-missing, each stretch of
    consecutive days still to do becomes its own backfill execution. With --wait, a live display
    follows the days (done, running, failed; items written) and the exit code is 0 only if every
    day succeeded (3 otherwise).
    """
    days = DateRange.parse(start, end)
    pipeline = target.connect()
    plan = plan_backfill(pipeline, days, only_missing=only_missing)
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
        if as_json:
            print_json({"started": [], "reason": "every day's latest run succeeded"})
        else:
            out().print(f"nothing to do: every day of {days} has a latest run that succeeded")
        return
    started = start_backfill(pipeline, plan, concurrency=concurrency)
    if not wait:
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
    report_backfill(follow_backfills(err(), pipeline, started, len(plan.to_run), "backfill"), as_json)


def follow_backfills(
    console: Console, pipeline: Pipeline, started: list[StartedBackfill], days: int, label: str
) -> BackfillProgress:
    """Watch backfills until they end, with a live bar of their days on ``console``."""
    with day_progress(console, days, label) as (progress, task):

        def update(current: BackfillProgress) -> None:
            progress.update(
                task, completed=current.succeeded + current.failed, description=describe_progress(current)
            )

        return watch_backfills(pipeline, started, on_progress=update)


def report_backfill(result: BackfillProgress, as_json: bool) -> None:
    if as_json:
        print_json(result.to_json())
    else:
        console = out()
        console.print(
            f"{result.succeeded} of {len(result.days)} days succeeded, {result.failed} failed; "
            f"{result.items_written:,} items written"
        )
        for backfill in result.backfills:
            if backfill.status != "SUCCEEDED" and not result.failed_days:
                console.print(
                    f"backfill {backfill.name} {backfill.status}: {backfill.error}: {backfill.cause}"
                )
        if result.failed_days:
            console.print(failed_days_table(result))
            console.print("redrive them with: meterpipe redrive --failed --wait")
    if not result.ok:
        failed = ", ".join(str(d.date) for d in result.failed_days)
        what = f"{len(result.failed_days)} day(s) failed: {failed}" if failed else "the backfill failed"
        raise RunsFailed(what)


@app.command("redrive")
@click.argument("execution", required=False)
@click.option(
    "--failed", "all_failed", is_flag=True, help="Every day whose latest run failed (in --from..--to)."
)
@click.option("--fresh", is_flag=True, help="Start a fresh run of each day instead of RedriveExecution.")
@from_to_options(what="processing dates (with --failed)")
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
    wait: bool,
    as_json: bool,
    target: TargetChoice,
) -> None:
    """Redrive a failed daily_rollup or backfill EXECUTION (name or ARN), or --failed days.

    RedriveExecution where AWS allows it and it can change the outcome (it re-runs only the failed
    states, with the inputs they had); otherwise a fresh run of that day: for an execution more
    than 14 days old, one that failed in a Fail state (a redrive would only fail there again), or
    one whose batches write_batch rejected (a redrive would re-send the same rows, read before the
    data was fixed). Each line says which it did and why.
    A backfill is redriven through its failed days' own daily_rollup executions: redriving the
    backfill itself would only re-run its final DaysFailed state. With --wait, follow the days
    until done; exit code 0 only if every redriven day succeeded (3 otherwise).
    """
    if bool(execution) == all_failed:
        raise MeterpipeError("name one EXECUTION to redrive, or pass --failed (not both)")
    if execution and (start or end):
        raise MeterpipeError("--from/--to go with --failed, not with an EXECUTION")
    days = optional_range(start, end)
    pipeline = target.connect()
    if execution:
        actions = redrive_execution(pipeline, execution, fresh=fresh)
    else:
        actions = redrive_failed(pipeline, days, fresh=fresh)
    if not actions:
        if as_json:
            print_json({"actions": []})
        else:
            where = f" in {days}" if days else ""
            out().print(f"nothing to redrive: no day{where} has a latest run that failed")
        return
    if not wait:
        if as_json:
            print_json({"actions": [a.to_json() for a in actions]})
        else:
            out().print(actions_table(actions))
        return
    if not as_json:
        err().print(actions_table(actions))
    finished = follow_actions(pipeline, actions)
    if as_json:
        print_json({"actions": [a.to_json() for a in actions], "runs": [r.to_json() for r in finished]})
        if any(r.failed for r in finished):
            raise RunsFailed(f"{sum(r.failed for r in finished)} redriven day(s) failed")
        return
    report_runs(pipeline, finished, as_json=False)


def follow_actions(pipeline: Pipeline, actions: Sequence[RedriveAction]) -> list[Run]:
    work = [a for a in actions if a.action != "nothing"]
    runs = [describe_run(pipeline, a.execution_arn) for a in work]
    expected = {a.execution_arn: a.expected_redrive_count for a in work if a.action == "redrive"}
    return follow_runs(pipeline, runs, "redrive", expected)
