"""``meterpipe generate``: write a realistic dataset in the lake layout."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from meterpipe.cli.app import app
from meterpipe.cli.options import json_option
from meterpipe.cli.output import print_json
from meterpipe.datagen import GenerateOptions, generate
from meterpipe.errors import InvalidDateError


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidDateError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


@app.command("generate")
@click.option("--customers", type=int, required=True, help="How many customers (each has 1 to 3 sensors).")
@click.option("--from", "start", required=True, metavar="YYYY-MM-DD", help="First day of readings.")
@click.option("--to", "end", required=True, metavar="YYYY-MM-DD", help="Last day of readings (included).")
@click.option(
    "--interval",
    type=click.Choice(["60", "15"]),
    default="60",
    show_default=True,
    help="Minutes between two readings of a sensor.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same data.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write the lake layout into (created if missing).",
)
@json_option
def generate_command(
    *, customers: int, start: str, end: str, interval: str, seed: int, out: Path, as_json: bool
) -> None:
    """Generate smart-meter readings and the customers table in the data lake layout.

    Readings follow daily load curves (weekday and weekend), the season, each customer's scale
    and sensor group, with occasional gaps; kWh carry three decimals. Files go to
    OUT/iot_electricity_metering/year=YYYY/month=MM/day=DD/ and
    OUT/customer_meter_sensor/customers.csv.
    """
    options = GenerateOptions(
        customers=customers,
        start=_date(start, "--from"),
        end=_date(end, "--to"),
        out=out,
        interval=int(interval),
        seed=seed,
    )
    options.validate()
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]generating[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=len(options.days) < 2 or not console.is_terminal,
    ) as progress:
        task = progress.add_task("days", total=len(options.days))

        def advance(day: dt.date) -> None:
            progress.update(task, advance=1, description=day.isoformat())

        summary = generate(options, on_day=advance)
    if as_json:
        print_json(
            {
                "readings": summary.readings,
                "sensors": summary.sensors,
                "customers": summary.customers,
                "days": summary.days,
                "from": options.start.isoformat(),
                "to": options.end.isoformat(),
                "files": summary.files,
                "bytes": summary.bytes_written,
                "out": str(out),
            }
        )
        return
    click.echo(
        f"{summary.readings:,} readings from {summary.sensors:,} sensors of {summary.customers:,} customers, "
        f"{summary.days} days, {summary.files} files ({summary.bytes_written / 1e6:.1f} MB) in {out}"
    )
