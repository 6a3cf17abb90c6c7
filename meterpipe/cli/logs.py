"""``meterpipe logs EXECUTION|DATE``: the Lambda log lines of a run's failed batches."""

from __future__ import annotations

import click

from meterpipe.cli.app import app
from meterpipe.cli.options import TargetChoice, json_option, target_options
from meterpipe.cli.output import out, print_json
from meterpipe.cli.render import when
from meterpipe.ops.history import readable_cause, resolve_reference
from meterpipe.ops.logs import failed_batch_logs, log_group


@app.command(name="logs")
@click.argument("reference", metavar="EXECUTION|DATE")
@json_option
@target_options
def logs_command(*, reference: str, as_json: bool, target: TargetChoice) -> None:
    """Print the Lambda log lines of a run's failed batches.

    EXECUTION is an execution's name or ARN (a backfill's: those of its failed days); DATE
    (YYYY-MM-DD) is that day's latest run. Each failed batch of a map run names its Lambda request,
    whose lines are read from CloudWatch Logs (/aws/lambda/<function>), on either target.
    """
    pipeline = target.connect()
    _machine, described = resolve_reference(pipeline, reference)
    name, status = str(described["name"]), str(described["status"])
    batches = failed_batch_logs(pipeline, str(described["executionArn"]))
    if as_json:
        print_json(
            {
                "execution": name,
                "executionArn": described["executionArn"],
                "status": status,
                "batches": [batch.to_json() for batch in batches],
            }
        )
        return
    console = out()
    if not batches:
        why = f": {described.get('error')}" if described.get("error") else ""
        console.print(f"{name} ({status}{why}): no failed batch, so no Lambda log lines to show")
        return
    for batch in batches:
        console.print(
            f"[bold]{batch.state or 'Map'}[/bold] batch {batch.child.name} ({batch.child.status}) "
            f"of {batch.execution_arn.rsplit(':', 1)[-1]}: {batch.child.error or ''}"
        )
        console.print(f"  {readable_cause(batch.child.cause) or ''}", markup=False)
        console.print(f"  {log_group(batch.function)} request {batch.child.request_id}")
        for line in batch.lines:
            console.print(f"  {when(line.timestamp)}  {line.message}", markup=False)
        if not batch.lines:
            console.print("  (no log lines yet: CloudWatch Logs can take a few seconds)")
