"""``meterpipe query``: a customer's rollups, read by key."""

from __future__ import annotations

import csv
import io
from typing import cast

import click

from handlers.rollup_format import GRANULARITIES, Granularity
from meterpipe.cli.app import app
from meterpipe.cli.options import TargetChoice, target_options
from meterpipe.cli.output import out, print_json
from meterpipe.cli.render import rollups_table
from meterpipe.ops.rollups import query_rollups


@app.command("query")
@click.option("--customer", type=click.IntRange(min=0), required=True, help="The CustomerID.")
@click.option("--sensor", type=click.IntRange(min=0), default=None, help="Only this SensorID.")
@click.option(
    "--granularity", type=click.Choice(GRANULARITIES), required=True, help="Hourly, daily or monthly."
)
@click.option("--from", "start", metavar="PERIOD", help="First period: YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH.")
@click.option("--to", "end", metavar="PERIOD", help="Last period (included), same forms.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="A table with a bar chart, CSV or JSON.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@target_options
def query_command(
    *,
    customer: int,
    sensor: int | None,
    granularity: str,
    start: str | None,
    end: str | None,
    output_format: str,
    as_json: bool,
    target: TargetChoice,
) -> None:
    """Read a customer's kWh rollups from the table, by key (a DynamoDB Query, never a Scan)."""
    pipeline = target.connect()
    items = query_rollups(
        pipeline,
        customer=customer,
        granularity=cast(Granularity, granularity),
        sensor=sensor,
        start=start,
        end=end,
    )
    if as_json or output_format == "json":
        print_json([item.to_json() for item in items])
    elif output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["CustomerID", "SensorID", "Period", "Granularity", "kWh", "Readings"])
        for item in items:
            writer.writerow(
                [item.customer, item.sensor, item.period, granularity, item.kwh, item.readings or ""]
            )
        click.echo(buffer.getvalue(), nl=False)
    elif not items:
        out().print(
            f"no {granularity} items for customer {customer}" + (f", sensor {sensor}" if sensor else "")
        )
    else:
        out().print(rollups_table(items, customer=customer, granularity=granularity))
