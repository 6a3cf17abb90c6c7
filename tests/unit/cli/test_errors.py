"""Every error path: one clear line on stderr and a non-zero exit code, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from meterpipe.ops.pipeline import Pipeline
from tests.unit.cli.conftest import Invoke, one_error_line
from tests.unit.cli.fake_cloudformation import FakeCloudFormation

UNKNOWN = "error: unknown execution 'nope': no such execution of meterpipe-daily-rollup or meterpipe-backfill"
NO_STACK = (
    "error: no stack '{}' in eu-west-1: deploy it with `make deploy`, or name the deployed one with --stack"
)
AWS = ("--target", "aws", "--region", "eu-west-1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--date", "2024-02-30"], "error: --date '2024-02-30' is not a real calendar date"),
        (["run", "--date", "05/01/2024"], "error: --date '05/01/2024' is not a date (YYYY-MM-DD)"),
        (
            ["backfill", "--from", "2024-01-05", "--to", "2024-01-01"],
            "error: --to 2024-01-01 is before --from 2024-01-05",
        ),
        (
            ["backfill", "--from", "2023-01-01", "--to", "2024-01-02"],
            "error: 2023-01-01..2024-01-02 spans 367 days; a backfill covers at most 366: split the range",
        ),
        (
            ["backfill", "--from", "2024-01-01", "--to", "2024-01-02", "--concurrency", "0"],
            "error: --concurrency must be from 1 to 40 (meterpipe:backfillMaxConcurrencyLimit)",
        ),
        (
            ["calendar", "--month", "2024-13"],
            "error: --month '2024-13' is not a month (month 13 is not 01..12)",
        ),
        (["history", "nope"], UNKNOWN),
        (["history", "2024-01-09"], "error: 2024-01-09 has never been run (see `meterpipe history`)"),
        (
            ["history", "2024-01-09", "--status", "failed"],
            "error: --from/--to/--status list dates; give them without a DATE or EXECUTION",
        ),
        (["redrive"], "error: name one EXECUTION to redrive, or pass --failed (not both)"),
        (["redrive", "x", "--failed"], "error: name one EXECUTION to redrive, or pass --failed (not both)"),
        (
            ["redrive", "x", "--from", "2024-01-01"],
            "error: --from/--to go with --failed, not with an EXECUTION",
        ),
        (["redrive", "nope"], UNKNOWN),
        (
            ["query", "--customer", "1", "--granularity", "hour", "--from", "2024-01-32"],
            "error: --from '2024-01-32' is not a real date",
        ),
        (
            ["query", "--customer", "1", "--granularity", "day", "--from", "2024-02", "--to", "2024-01"],
            "error: --to 2024-01 is before --from 2024-02",
        ),
        (
            ["schedule", "fire"],
            "error: schedule fire works with --target local only; on AWS, use `meterpipe run --date`",
        ),
        (["run", "--date", "2024-01-01", "--profile", "x"], "error: --profile applies to --target aws only"),
        (
            ["run", "--date", "2024-01-01", "--profile", "x", "--stack", "S"],
            "error: --profile and --stack apply to --target aws only",
        ),
        (["ingest", "/nonexistent/data"], "error: /nonexistent/data is not a folder"),
    ],
)
def test_an_error_is_one_line_and_exit_1(
    pipeline: Pipeline, invoke: Invoke, args: list[str], message: str
) -> None:
    result = invoke(*args)
    assert result.exit_code == 1
    assert one_error_line(result) == message


def test_a_usage_error_exits_2(pipeline: Pipeline, invoke: Invoke) -> None:
    result = invoke("query", "--customer", "1", "--granularity", "week")
    assert result.exit_code == 2
    assert "Invalid value for '--granularity'" in result.stderr


def test_localcloud_not_running_is_one_line(invoke: Invoke, tmp_path: Path) -> None:
    home = tmp_path / "nothing"
    result = invoke("history", "--home", str(home))
    assert result.exit_code == 1
    # The hint keeps the --home that was given, so it can be copied as it is.
    expected = (
        f"error: localcloud is not running for {home.resolve()}: "
        f"start it with `meterpipe local up --home {home.resolve()}`"
    )
    assert one_error_line(result) == expected


def test_no_stack_on_aws_is_one_line(aws: None, invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    FakeCloudFormation({}).install(monkeypatch)
    result = invoke("calendar", *AWS)
    assert result.exit_code == 1
    assert one_error_line(result) == NO_STACK.format("MeterPipe")


def test_a_deployed_stack_is_found_by_its_outputs(
    aws: None, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = "arn:aws:states:eu-west-1:123456789012:stateMachine:"
    outputs = {
        "LakeBucketName": "lake",
        "ResultsBucketName": "results",
        "RollupTableName": "ElectricityMeteredByPeriod",
        "LedgerTableName": "MeterPipeLedger",
        "DailyRollupStateMachineArn": prefix + "meterpipe-daily-rollup",
        "BackfillStateMachineArn": prefix + "meterpipe-backfill",
    }
    FakeCloudFormation({"Pipes": outputs}).install(monkeypatch)
    query = ("query", "--customer", "1", "--granularity", "day", *AWS)
    result = invoke(*query, "--stack", "Pipes")
    # The stack was found; the table it names is not there (moto): AWS's error, as one line.
    assert result.exit_code == 1
    assert one_error_line(result).startswith("error: Query failed: ResourceNotFoundException:")
    assert one_error_line(invoke(*query, "--stack", "Other")) == NO_STACK.format("Other")
    del outputs["LedgerTableName"]  # a stack deployed before the ledger existed
    assert one_error_line(invoke(*query, "--stack", "Pipes")) == (
        "error: stack 'Pipes' has no output(s) LedgerTableName: is it a meterpipe stack, fully deployed?"
    )
    assert one_error_line(invoke(*query, "--stack", "Pipes", "--home", "x")) == (
        "error: --home applies to --target local only"
    )


def test_an_unexpected_error_is_one_line_from_the_installed_command() -> None:
    """The console script's own boundary: even a bug prints one line, not a traceback."""
    code = (
        "from meterpipe.cli import app, main\n"
        "@app.command('boom')\n"
        "def boom():\n"
        "    'Fails.'\n"
        "    raise RuntimeError('kaput')\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code, "boom"], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        == "error: unexpected RuntimeError: kaput (set METERPIPE_DEBUG=1 for the traceback)"
    )


def test_boto3_errors_are_explained_in_one_line() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
    from botocore.parsers import ResponseParserError

    from meterpipe.aws import explain

    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "ListExecutions"
    )
    assert explain(throttled) == "ListExecutions failed: ThrottlingException: Rate exceeded"
    assert (
        explain(EndpointConnectionError(endpoint_url="http://x:1"))
        == "cannot reach http://x:1: is it running and reachable?"
    )
    assert (
        explain(NoCredentialsError())
        == "no AWS credentials found: configure them (`aws configure`) or pass --profile"
    )
    assert explain(ResponseParserError("not XML")).startswith(
        "the endpoint answered something that is not the AWS API"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["calendar"],
        ["run", "--date", "2024-01-01"],
        ["backfill", "--from", "2024-01-01", "--to", "2024-01-02"],
        ["redrive", "--failed"],
        ["stop", "--date", "2024-01-01"],
        ["logs", "2024-01-01"],
        ["query", "--customer", "1", "--granularity", "day"],
        ["schedule", "show"],
        ["schedule", "fire"],
        ["local", "faults", "list"],
        ["local", "faults", "add", "s3", "GetObject", "--error", "SlowDown"],
    ],
)
def test_every_not_running_hint_keeps_the_home_given(invoke: Invoke, tmp_path: Path, args: list[str]) -> None:
    home = (tmp_path / "nothing").resolve()
    result = invoke(*args, "--home", str(home))
    assert result.exit_code == 1
    assert one_error_line(result).endswith(f"start it with `meterpipe local up --home {home}`")


def test_local_status_exits_1_and_local_down_0_when_nothing_runs(invoke: Invoke, tmp_path: Path) -> None:
    home = (tmp_path / "nothing").resolve()
    status = invoke("local", "status", "--home", str(home))
    assert status.exit_code == 1
    assert f"start it with `meterpipe local up --home {home}`" in status.output
    down = invoke("local", "down", "--home", str(home))
    assert (down.exit_code, down.stdout.strip()) == (
        0,
        f"localcloud is not running for {home}: nothing to stop",
    )


def test_the_readmes_exit_codes_are_the_commands_own() -> None:
    import re

    import click

    from meterpipe.cli.app import CliError, CliFailure, StillRunning

    readme = (Path(__file__).parents[3] / "README.md").read_text()
    sentence = " ".join(readme.split("Exit codes: ", 1)[1].split("Errors are one line", 1)[0].split())
    stated = {int(code) for code in re.findall(r"(?:^|, )(\d+) ", sentence)}
    assert stated == {
        0,
        CliError.exit_code,
        click.UsageError.exit_code,
        CliFailure.exit_code,
        StillRunning.exit_code,
    }
