"""``meterpipe ingest PATH``: readings and customers into the lake."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from meterpipe.cli.app import app
from meterpipe.cli.options import TargetChoice, json_option, target_options
from meterpipe.cli.output import err, out, print_json
from meterpipe.cli.render import day_span, size
from meterpipe.ops.ingest import Action, LakeFile, ingest, plan_ingest


@app.command("ingest")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Say what would be uploaded; upload nothing.")
@json_option
@target_options
def ingest_command(*, path: Path, dry_run: bool, as_json: bool, target: TargetChoice) -> None:
    """Upload readings and customers from PATH into the data lake.

    PATH holds iot_electricity_metering/ and/or customer_meter_sensor/ (or is one of them).
    Readings may be in the lake layout (year=YYYY/month=MM/day=DD/*.csv) or in the upstream AWS
    sample's (YYYY-MM-DD/*.csv, mapped to year=/month=/day= partitions). Files go up byte for
    byte; a file already in the lake with the same size and MD5 is skipped.
    """
    plan = plan_ingest(path)
    pipeline = target.connect()
    console = err()
    with Progress(
        TextColumn("[bold]ingest[/bold] {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # no live display in logs and pipes
    ) as progress:
        task = progress.add_task(f"{len(plan.files)} files", total=plan.total_bytes)

        def advance(file: LakeFile, action: Action) -> None:
            progress.update(task, advance=file.size)

        report = ingest(pipeline, plan, on_file=advance, dry_run=dry_run)
    if as_json:
        print_json(report.to_json())
        return
    verb = "would upload" if dry_run else "uploaded"
    console = out()  # the report goes to stdout
    console.print(
        f"{verb} {report.uploaded} file{'s' * (report.uploaded != 1)} ({size(report.bytes_uploaded)}), "
        f"skipped {report.skipped} unchanged ({size(report.bytes_skipped)}) into s3://{report.bucket}/"
    )
    console.print(f"layout: {report.layout}; readings for {day_span(report.days)}")
    if report.ignored:
        console.print(f"ignored {report.ignored} file{'s' * (report.ignored != 1)} that are not .csv")
