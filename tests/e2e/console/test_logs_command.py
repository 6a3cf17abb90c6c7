"""``meterpipe logs EXECUTION|DATE``, the installed command, on the run whose batches failed."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import error_line
from tests.e2e.console.conftest import BAD_DAY, BATCH_DAY, REFUSED, World

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_logs_of_a_failed_day_print_each_failed_batchs_lambda_lines(world: World) -> None:
    [run] = [e for e in world.executions("daily-rollup", "FAILED") if e["executionArn"] == world.batch_run]
    sfn = world.cli.client("stepfunctions")
    failed_map = world.failed_map()
    failed = sfn.list_executions(mapRunArn=failed_map.map_run_arn, statusFilter="FAILED")["executions"]
    causes = [json.loads(sfn.describe_execution(executionArn=c["executionArn"])["cause"]) for c in failed]

    by_date = world.cli("logs", str(BATCH_DAY))
    assert by_date.returncode == 0, by_date.stderr
    for cause in causes:
        assert f"/aws/lambda/meterpipe-write-batch request {cause['requestId']}" in by_date.stdout
        assert f"START RequestId: {cause['requestId']} Version: $LATEST" in by_date.stdout
    assert f"[ERROR] ClientError: An error occurred ({REFUSED})" in by_date.stdout

    as_json = world.cli.json("logs", run["name"])
    assert {b["child"]["lambdaRequestId"] for b in as_json["batches"] if b["state"] == failed_map.state} == {
        c["requestId"] for c in causes
    }
    assert all(b["logGroup"] == "/aws/lambda/meterpipe-write-batch" for b in as_json["batches"])


def test_logs_of_a_day_that_succeeded_say_there_is_no_failed_batch(world: World) -> None:
    done = world.cli("logs", "2024-01-01")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("(SUCCEEDED): no failed batch, so no Lambda log lines to show")
    invalid = world.cli("logs", str(BAD_DAY))
    assert invalid.returncode == 0, invalid.stderr
    assert "no failed batch" in invalid.stdout
    assert error_line(world.cli("logs", "no-such-execution")).startswith(
        "error: unknown execution 'no-such-execution'"
    )
