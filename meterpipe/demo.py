"""`make demo`: the whole pipeline on this machine, from nothing to a month of rollups.

Starts localcloud in its own home folder (``.meterpipe/demo``), deploys the project to it,
generates a realistic month of readings for 50 customers, ingests them, backfills the month with
a live progress display, then prints the calendar, one customer's days and month with a chart,
and one execution's timeline; localcloud is stopped at the end unless ``--keep``
(``make demo KEEP=1``). Everything goes through the same library calls as the CLI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from meterpipe.aws import Target, clients_for, explain
from meterpipe.cli.render import calendar_grid, rollups_table, size, timeline_view
from meterpipe.cli.runs import follow
from meterpipe.datagen import GenerateOptions, generate, make_customers
from meterpipe.definitions import REPO_ROOT
from meterpipe.errors import MeterpipeError
from meterpipe.local import deploy as local_deploy
from meterpipe.local import server
from meterpipe.ops import connect
from meterpipe.ops.backfill import plan_backfill, start_backfill
from meterpipe.ops.calendar import month_calendar
from meterpipe.ops.dates import DateRange, month_days, parse_month
from meterpipe.ops.history import timeline
from meterpipe.ops.ingest import ingest, plan_ingest
from meterpipe.ops.rollups import query_rollups
from meterpipe.ops.watch import Tracked, before_work

DEMO_HOME = REPO_ROOT / ".meterpipe" / "demo"


class Steps:
    """Prints each step as a heading and measures it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.perf_counter()
        self.times: list[tuple[str, float]] = []

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.console.rule(f"[bold]{len(self.times) + 1}. {title}")
        began = time.perf_counter()
        yield
        self.times.append((title, time.perf_counter() - began))
        self.console.print(f"[dim]{title}: {self.times[-1][1]:.1f} s[/dim]")

    @property
    def total(self) -> float:
        return time.perf_counter() - self.started


def run_demo(
    *, home: Path, month: dt.date, customers: int, concurrency: int, keep: bool, console: Console
) -> float:
    steps = Steps(console)
    days = month_days(month)
    data = home / "data"
    running = server.status(home)["running"]
    if not running and home.exists():
        shutil.rmtree(home)  # a fresh start each time, unless a kept localcloud still runs
    try:
        with steps.step("localcloud: start it and deploy the project"):
            up = server.up(home, port=0)
            console.print(f"localcloud at {up.server.endpoint} (home {home})")
            for item in local_deploy.deploy(clients_for(Target.local(home)), home=home):
                console.print(f"  {item.action:<9} {item.resource}")
            pipeline = connect(Target.local(home))  # reads what the deploy recorded

        with steps.step(f"generate {month:%B %Y} for {customers} customers"):
            summary = generate(
                GenerateOptions(customers=customers, start=days[0], end=days[-1], out=data, seed=7)
            )
            console.print(
                f"{summary.readings:,} readings from {summary.sensors} sensors, {summary.files} files "
                f"({size(summary.bytes_written)}) in {data}"
            )

        with steps.step("ingest into the lake"):
            report = ingest(pipeline, plan_ingest(data))
            console.print(
                f"uploaded {report.uploaded} files ({size(report.bytes_uploaded)}) to s3://{report.bucket}/"
            )

        with steps.step(f"backfill {days[0]}..{days[-1]}"):
            plan = plan_backfill(pipeline, DateRange(days[0], days[-1]))
            work = before_work(pipeline, plan.to_run)
            started = start_backfill(pipeline, plan.ranges, concurrency=concurrency)
            console.print(f"started backfill {started[0].name}: {len(days)} days, {concurrency} at a time")
            work.track(*(Tracked(item.arn, item.name) for item in started))
            result = follow(pipeline, work, "days", f" --home {home}", console)
            console.print(
                f"{result.succeeded} of {len(days)} days succeeded, {len(result.not_completed)} failed; "
                f"{result.items_written:,} items written"
            )

        with steps.step("the calendar"):
            console.print(calendar_grid(month_calendar(pipeline, month)))

        customer = max(make_customers(customers, 7), key=lambda c: (len(c.sensors), -c.customer_id))
        sensor = customer.sensors[0].sensor_id
        with steps.step(f"customer {customer.customer_id}: days and month"):
            daily = query_rollups(pipeline, customer=customer.customer_id, sensor=sensor, granularity="day")
            console.print(rollups_table(daily, customer=customer.customer_id, granularity="day"))
            monthly = query_rollups(pipeline, customer=customer.customer_id, granularity="month")
            console.print(rollups_table(monthly, customer=customer.customer_id, granularity="month"))

        with steps.step(f"one execution's timeline: {days[14]}"):
            console.print(timeline_view(timeline(pipeline, days[14].isoformat()), pipeline.now()))
    finally:
        if not keep and server.status(home)["running"]:
            server.down(home)
    total = steps.total
    console.rule("[bold]done")
    for title, seconds in steps.times:
        console.print(f"  {seconds:6.1f} s  {title}")
    console.print(f"  {total:6.1f} s  in all")
    if keep:
        console.print(
            f"localcloud keeps running. Try:\n"
            f"  export METERPIPE_HOME={home}\n"
            f"  .venv/bin/meterpipe history --from {days[0]} --to {days[-1]}\n"
            f"  .venv/bin/meterpipe query --customer {customer.customer_id} --granularity day\n"
            f"  .venv/bin/meterpipe local down   # when done"
        )
    else:
        console.print("localcloud stopped. To keep it running for your own commands: make demo KEEP=1")
    return total


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m meterpipe.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave localcloud running afterwards")
    parser.add_argument("--month", default="2024-01", help="the month to generate and backfill (YYYY-MM)")
    parser.add_argument("--customers", type=_positive, default=50)
    parser.add_argument("--concurrency", type=_positive, default=8, help="days the backfill runs at once")
    parser.add_argument("--home", type=Path, default=DEMO_HOME, help="localcloud's home folder for the demo")
    args = parser.parse_args(argv)
    try:
        month = parse_month(args.month, "--month")
    except MeterpipeError as exc:
        parser.exit(1, f"error: {exc}\n")
    console = Console(highlight=False)
    console.print(
        "[bold]meterpipe demo[/bold]: localcloud, a generated month in the lake, the backfill state "
        "machine, the rollup table"
    )
    try:
        run_demo(
            home=args.home.resolve(),
            month=month,
            customers=args.customers,
            concurrency=args.concurrency,
            keep=args.keep,
            console=console,
        )
    except (MeterpipeError, ClientError, BotoCoreError) as exc:
        parser.exit(1, f"error: {explain(exc) if not isinstance(exc, MeterpipeError) else exc}\n")


if __name__ == "__main__":
    main()
