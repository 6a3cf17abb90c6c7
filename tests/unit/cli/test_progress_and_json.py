"""What the commands show besides their result: a progress display on a terminal (and none in a
pipe), and ``--json`` on every command that prints data."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner, Result

from meterpipe.cli import app
from meterpipe.ops.pipeline import Pipeline
from tests.unit.cli.conftest import Invoke
from tests.unit.ops.fake_sfn import FakeStepFunctions

# The commands of the operator's guide that print data (local status: localcloud's own state).
PRINTS_DATA = [
    ("ingest",),
    ("run",),
    ("backfill",),
    ("redrive",),
    ("history",),
    ("calendar",),
    ("query",),
    ("schedule", "show"),
    ("schedule", "enable"),
    ("schedule", "disable"),
    ("schedule", "fire"),
    ("local", "status"),
]


def on_a_terminal(*args: str) -> Result:
    """The command as a terminal runs it: rich draws live displays when it sees one (FORCE_COLOR)."""
    return CliRunner(env={"COLUMNS": "200", "FORCE_COLOR": "1"}).invoke(
        app, list(args), catch_exceptions=False
    )


def test_every_command_that_prints_data_takes_json() -> None:
    missing = []
    for path in PRINTS_DATA:
        command: click.Command = app
        for name in path:
            assert isinstance(command, click.Group)
            command = command.commands[name]
        if not any("--json" in parameter.opts for parameter in command.params):
            missing.append(" ".join(path))
    assert missing == []


def test_ingest_shows_a_progress_bar_on_a_terminal_and_none_in_a_pipe(
    pipeline: Pipeline, invoke: Invoke, tmp_path: Path
) -> None:
    day = tmp_path / "data/iot_electricity_metering/2022-01-05"
    day.mkdir(parents=True)
    (day / "a.csv").write_bytes(
        b"SensorID,Voltage,Current,Frequency,kWh,HourCollected\n51246501,240,10,60,0.2,01\n"
    )

    shown = on_a_terminal("ingest", str(tmp_path / "data"))
    piped = invoke("ingest", str(tmp_path / "data"), "--dry-run")

    assert shown.exit_code == 0, shown.output
    assert "ingest" in shown.stderr and "1 files" in shown.stderr
    assert piped.stderr == ""


def test_generate_shows_a_progress_bar_for_several_days_on_a_terminal(tmp_path: Path) -> None:
    shown = on_a_terminal(
        "generate", "--customers", "2", "--from", "2024-01-01", "--to", "2024-01-03", "--out", str(tmp_path)
    )
    piped = CliRunner().invoke(
        app,
        [
            "generate",
            "--customers",
            "2",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-03",
            "--out",
            str(tmp_path),
        ],
    )

    assert shown.exit_code == 0, shown.output
    assert "generating" in shown.stderr and "/3" in shown.stderr
    assert piped.stderr == ""


def test_backfill_wait_shows_days_done_running_failed_and_items_live_on_a_terminal(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.polls_to_finish = 2

    shown = on_a_terminal("backfill", "--from", "2024-01-01", "--to", "2024-01-03", "--wait")

    assert shown.exit_code == 0, shown.output
    for part in ("backfill", " ok", " running", " failed", " waiting", " items"):
        assert part in shown.stderr, part
