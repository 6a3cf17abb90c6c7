"""``meterpipe local up|status|down``: localcloud for a home folder, and the project deployed to it."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from meterpipe.aws import Target, clients_for
from meterpipe.cli.app import app
from meterpipe.local import deploy as local_deploy
from meterpipe.local import server
from meterpipe.local.home import DEFAULT_HOME, HOME_VARIABLE, local_command, resolve_home

console = Console(highlight=False, soft_wrap=True)

home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Folder for all local state (default: ${HOME_VARIABLE}, else {DEFAULT_HOME}/).",
)

_STYLE = {"created": "green", "updated": "yellow", "unchanged": "dim", "skipped": "cyan"}


def _origins(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    try:
        return tuple(server.check_origin(value) for value in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@app.group(name="local")
def local() -> None:
    """Run the project on this machine: localcloud, the offline stand-in for AWS."""


@local.command()
@click.option("--port", type=click.IntRange(0, 65535), default=server.DEFAULT_PORT, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")  # fmt: skip
@click.option("--no-deploy", is_flag=True, help="Only start localcloud; do not deploy the project.")
@click.option("--allow-origin", "allowed_origins", multiple=True, metavar="URL", callback=_origins,
              help="A web origin (scheme://host[:port]) whose pages may call localcloud; repeatable. "
                   "Default: none, every request from a web page is refused.")  # fmt: skip
@click.option("--verify-signatures", is_flag=True,
              help="Check every request's SigV4 signature against the keys of <home>/credentials (AWS "
                   "credentials file format; created with a random [localcloud] key, which meterpipe "
                   "uses; add profiles for other keys; other tools sign with it given "
                   "AWS_SHARED_CREDENTIALS_FILE=<home>/credentials AWS_PROFILE=localcloud). "
                   "Default: any key is accepted.")  # fmt: skip
@click.option("--sfn-mock-config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              envvar="SFN_MOCK_CONFIG",
              help="Step Functions Local mock configuration file (default: $SFN_MOCK_CONFIG); start "
                   "executions on '<state machine ARN>#<test case>' to use it.")  # fmt: skip
@home_option
def up(
    *,
    port: int,
    no_deploy: bool,
    allowed_origins: tuple[str, ...],
    verify_signatures: bool,
    sfn_mock_config: Path | None,
    home: Path | None,
) -> None:
    """Start localcloud in the background and deploy the project to it (idempotent).

    localcloud answers only this machine's own clients: requests naming another Host, coming from a
    web page (an Origin not given with --allow-origin), or not signed with AWS Signature Version 4
    are refused with an AWS-style 403 (see docs/localcloud.md).
    """
    folder = resolve_home(home)
    result = server.up(
        folder,
        port=port,
        allowed_origins=allowed_origins,
        verify_signatures=verify_signatures,
        sfn_mock_config=sfn_mock_config,
    )
    running = result.server
    verb = "started" if result.started else "already running"
    if result.stale_pid:
        console.print(
            f"removed a stale pid file: localcloud (pid {result.stale_pid}) had stopped without cleaning up"
        )
    console.print(f"localcloud {verb} at [bold]{running.endpoint}[/bold] (pid {running.pid}, home {folder})")
    if not result.started and (
        running.verify_signatures != verify_signatures or set(running.allowed_origins) != set(allowed_origins)
    ):
        console.print(
            "note: it runs with its own settings (signatures "
            f"{'checked' if running.verify_signatures else 'not checked'}, web origins allowed: "
            f"{', '.join(running.allowed_origins) or 'none'}); `meterpipe local down` first to change them"
        )
    if sfn_mock_config is not None and not result.started:
        console.print(
            f"note: localcloud was already running, with mock configuration "
            f"{server.status(folder).get('sfn_mock_config') or 'none'}: to use {sfn_mock_config}, run "
            "'meterpipe local down' and 'meterpipe local up' again"
        )
    if no_deploy:
        return
    steps = local_deploy.deploy(clients_for(Target.local(folder)), home=folder)
    for step in steps:
        style = _STYLE[step.action]
        console.print(f"  [{style}]{step.action:<9}[/{style}] {step.resource}: {step.detail}")
    console.print(f"Use it with: export AWS_ENDPOINT_URL={running.endpoint}")


@local.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@home_option
def status(as_json: bool, home: Path | None) -> None:
    """Say whether localcloud runs for the home folder, where, and what it serves.

    Exits 0 when it runs, 1 when it does not (with --json too), so scripts can test it.
    """
    folder = resolve_home(home)
    info = server.status(folder)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        if not info["running"]:
            raise click.exceptions.Exit(1)
        return
    if not info["running"]:
        stale = (
            f" (removed a stale pid file left by pid {info['stale_pid_removed']})"
            if "stale_pid_removed" in info
            else ""
        )
        console.print(
            f"localcloud is not running for {folder}{stale}: start it with `{local_command('up', folder)}`"
        )
        raise click.exceptions.Exit(1)
    answering = "answering" if info["answering"] else "NOT answering"
    console.print(f"localcloud running at {info['endpoint']} (pid {info['pid']}, home {folder}), {answering}")
    for name, how in info["services"].items():
        console.print(f"  {name:<10} {how}")
    security = info.get("security") or {}
    origins = ", ".join(security.get("allowed_origins") or []) or "none"
    checks = (
        f"checked against {security.get('keys_file')}" if security.get("verify_signatures") else "any key"
    )
    console.print(f"web origins allowed: {origins}; signatures: {checks}")
    refused = security.get("refused") or {}
    if refused:
        console.print("refused so far: " + ", ".join(f"{kind} {n}" for kind, n in refused.items()))
    faults = info.get("faults") or []
    console.print(f"faults: {len(faults) or 'none'}{' set' if faults else ''}")
    for fault in faults:
        console.print(f"  {fault['id']}  {fault['description']}  (fired {fault['hits']} times)")


@local.command()
@home_option
def down(home: Path | None) -> None:
    """Stop localcloud gracefully (its state is saved under the home folder); says so, and exits 0,
    when it is not running."""
    folder = resolve_home(home)
    if not server.status(folder)["running"]:
        console.print(f"localcloud is not running for {folder}: nothing to stop")
        return
    # Saving a large state takes a while (about 20 s for a million DynamoDB items): say so meanwhile.
    with Console(stderr=True).status("localcloud is saving its state and stopping..."):
        stopped = server.down(folder)
    console.print(f"localcloud stopped (pid {stopped.pid}); state kept in {folder}")
