"""backfill deployed by ``meterpipe local up``: a month, run clean, and run through a SIGKILL of
localcloud followed by a restart and a redrive."""

from __future__ import annotations

import json
import time

import pytest

from localcloud import launcher
from tests.functional.pipeline.conftest import MONTH, SPEC, Pipeline, expected_items, start_pipeline

pytestmark = pytest.mark.slow
MONTH_RANGE = json.dumps({"from": str(MONTH[0]), "to": str(MONTH[-1])})


def test_a_month_backfill_runs_every_day_and_the_table_holds_exactly_the_computed_items(
    pipeline: Pipeline,
) -> None:
    arn = pipeline.start(SPEC.backfill, MONTH_RANGE, name="january")
    described = pipeline.wait(arn)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    output = json.loads(described["output"])
    assert len(output["executions"]) == len(MONTH)
    days = pipeline.client("stepfunctions").list_executions(
        stateMachineArn=pipeline.machine_arn(SPEC.daily_rollup), statusFilter="SUCCEEDED"
    )["executions"]
    assert len(days) == len(MONTH)
    assert pipeline.table() == expected_items(pipeline.lake, MONTH)


def test_a_backfill_killed_midway_is_failed_at_restart_and_a_redrive_completes_it(pipeline: Pipeline) -> None:
    pipeline.clear_table()
    arn = pipeline.start(
        SPEC.backfill,
        json.dumps({"from": str(MONTH[0]), "to": str(MONTH[-1]), "max_concurrency": 2}),
        name="interrupted",
    )
    sfn = pipeline.client("stepfunctions")
    daily = pipeline.machine_arn(SPEC.daily_rollup)

    def finished_days() -> int:
        listed = sfn.list_executions(stateMachineArn=daily, statusFilter="SUCCEEDED")["executions"]
        return sum(1 for e in listed if "_interrupted_" in e["name"])

    deadline = time.monotonic() + 120
    while finished_days() < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    launcher.stop(pipeline.home, kill=True)  # SIGKILL, in the middle of the month

    restarted = start_pipeline(pipeline.home, pipeline.lake)
    pipeline.clients, pipeline.endpoint = restarted.clients, restarted.endpoint
    sfn = pipeline.client("stepfunctions")
    backfill = sfn.describe_execution(executionArn=arn)
    assert backfill["status"] == "FAILED" and backfill["error"] == "States.Runtime"
    assert "localcloud restarted" in backfill["cause"]
    interrupted_days = [
        e
        for e in sfn.list_executions(stateMachineArn=daily, statusFilter="FAILED")["executions"]
        if "_interrupted_" in e["name"]
    ]
    assert interrupted_days  # days that were running when localcloud was killed
    for day in interrupted_days:
        assert "localcloud restarted" in sfn.describe_execution(executionArn=day["executionArn"])["cause"]

    sfn.redrive_execution(executionArn=arn)
    described = pipeline.wait(arn)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert described["redriveCount"] == 1
    for day in interrupted_days:  # continued from their saved progress, not started again
        again = sfn.describe_execution(executionArn=day["executionArn"])
        assert (again["status"], again["redriveCount"]) == ("SUCCEEDED", 1)
    assert pipeline.table() == expected_items(pipeline.lake, MONTH)
