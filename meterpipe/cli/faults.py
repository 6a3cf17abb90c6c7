"""``meterpipe local faults add|list|clear``: errors, throttling, unprocessed items and delays set
on the running localcloud, to rehearse outages offline."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from meterpipe.cli.local import home_option, local
from meterpipe.local import faults as local_faults
from meterpipe.local.faults import SERVICES
from meterpipe.local.home import resolve_home

console = Console(highlight=False, soft_wrap=True)


@local.group(name="faults")
def faults() -> None:
    """Rehearse outages: make localcloud answer chosen calls with AWS errors, throttling or delays.

    A fault applies to matching calls wherever they come from: any SDK client, a state machine's
    integration, a Lambda function's own SDK calls. Faults live in the running localcloud only
    (a restart clears them); `meterpipe local status` shows them.
    """


@faults.command()
@click.argument("service", type=click.Choice(SERVICES))
@click.argument("operation")
@click.option("--error", "error", metavar="CODE",
              help="Answer with this AWS error code (ThrottlingException, ServiceException, ...), with "
                   "the HTTP status and error shape AWS uses for it in SERVICE.")  # fmt: skip
@click.option("--unprocessed", type=click.FloatRange(0, 1, min_open=True), metavar="SHARE",
              help="dynamodb BatchWriteItem: hand back this share of the items as UnprocessedItems "
                   "(1: none processed, ProvisionedThroughputExceededException).")  # fmt: skip
@click.option("--delay", type=click.FloatRange(0, 900), metavar="SECONDS",
              help="Wait this long before answering.")  # fmt: skip
@click.option("--probability", type=click.FloatRange(0, 1, min_open=True), metavar="P",
              help="Apply to each matching call with this probability (default: every call).")  # fmt: skip
@click.option("--count", type=click.IntRange(1), metavar="N",
              help="Apply to the next N matching calls only (default: until cleared).")  # fmt: skip
@home_option
def add(
    *,
    service: str,
    operation: str,
    error: str | None,
    unprocessed: float | None,
    delay: float | None,
    probability: float | None,
    count: int | None,
    home: Path | None,
) -> None:
    """Set a fault on SERVICE's OPERATION and print its id.

    SERVICE is the AWS endpoint prefix, OPERATION the API operation's name, for example:
    `meterpipe local faults add dynamodb BatchWriteItem --error ProvisionedThroughputExceededException
    --count 3` or `meterpipe local faults add lambda Invoke --error ServiceException --probability 0.2`.
    """
    fault = local_faults.add(
        resolve_home(home),
        service,
        operation,
        error=error,
        unprocessed=unprocessed,
        delay=delay,
        probability=probability,
        count=count,
    )
    click.echo(fault["id"])
    Console(stderr=True, highlight=False).print(f"set: {fault['description']}")


@faults.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print the faults as JSON.")
@home_option
def list_(as_json: bool, home: Path | None) -> None:
    """List the faults set on the running localcloud, with how often each fired."""
    found = local_faults.listed(resolve_home(home))
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        console.print("no faults set")
        return
    for fault in found:
        console.print(f"{fault['id']}  {fault['description']}  (fired {fault['hits']} times)")


@faults.command()
@click.argument("fault_id", metavar="[ID]", required=False)
@home_option
def clear(fault_id: str | None, home: Path | None) -> None:
    """Clear the fault ID, or every fault."""
    cleared = local_faults.clear(resolve_home(home), fault_id)
    console.print(f"cleared {len(cleared)} fault{'s' if len(cleared) != 1 else ''}")
