"""``meterpipe console``: the web console on 127.0.0.1."""

from __future__ import annotations

import click

from meterpipe.cli.app import app
from meterpipe.cli.options import TargetChoice, target_options
from meterpipe.console import server


@app.command(name="console")
@click.option("--port", type=click.IntRange(0, 65535), default=server.DEFAULT_PORT, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")  # fmt: skip
@click.option("--open", "open_browser", is_flag=True, help="Open the console in the default browser.")
@target_options
def console(target: TargetChoice, port: int, open_browser: bool) -> None:
    """Serve the web console on 127.0.0.1: the ledger's calendar and days, executions as graphs, map
    runs, customers' kWh.

    It answers only its own loopback address and port, refuses cross-origin requests and needs its
    CSRF token for every action. Every read and action goes through boto3, against localcloud or
    a deployed stack (--target aws). Stop it with Ctrl-C.
    """
    chosen = target.target()
    pipeline = target.connect()  # fail now, with the CLI's message, if the target cannot be reached

    def ready(url: str) -> None:
        click.echo(f"console at {url} ({chosen.describe()}); Ctrl-C stops it", err=False)

    server.serve(
        lambda: pipeline, port=port, target_label=chosen.describe(), open_browser=open_browser, on_ready=ready
    )
