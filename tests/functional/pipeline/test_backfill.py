"""backfill deployed by ``meterpipe local up``: a month, run clean, and run through a SIGKILL of
localcloud followed by a restart and a redrive."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from pipeline_support import MONTH, SPEC, Pipeline, expected_items, start_pipeline

from localcloud import control, launcher

pytestmark = pytest.mark.slow
MONTH_RANGE = json.dumps({"from": str(MONTH[0]), "to": str(MONTH[-1])})
# The stop-and-kill test needs days before, between and after its two interruptions, not a whole
# month: the e2e layer (test_recovery_and_stop, tests/faults) kills a month's backfill already.
STRETCH = MONTH[:12]
STRETCH_RANGE = json.dumps({"from": str(STRETCH[0]), "to": str(STRETCH[-1])})


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


def test_a_backfill_carries_on_after_a_clean_stop_and_is_completed_by_a_redrive_after_a_sigkill(
    pipeline: Pipeline,
) -> None:
    pipeline.clear_table()
    arn = pipeline.start(SPEC.backfill, STRETCH_RANGE, name="interrupted")
    daily = pipeline.machine_arn(SPEC.daily_rollup)

    def wait_for_days(count: int) -> None:
        sfn = pipeline.client("stepfunctions")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            listed = sfn.list_executions(stateMachineArn=daily, statusFilter="SUCCEEDED")["executions"]
            if sum(1 for e in listed if "_interrupted_" in e["name"]) >= count:
                break
            time.sleep(0.1)
        assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"

    def restart(*, kill: bool) -> Any:
        if kill:  # a kill keeps what the last checkpoint wrote: the days running now, RUNNING
            control.checkpoint(pipeline.endpoint)
        launcher.stop(pipeline.home, kill=kill)
        restarted = start_pipeline(pipeline.home, pipeline.lake)  # `meterpipe local up` again
        pipeline.clients, pipeline.endpoint = restarted.clients, restarted.endpoint
        return pipeline.client("stepfunctions")

    # `meterpipe local down` midway: at the next `up` the backfill is redriven and carries on.
    wait_for_days(3)
    sfn = restart(kill=False)
    carried_on = sfn.describe_execution(executionArn=arn)
    assert (carried_on["status"], carried_on["redriveCount"]) == ("RUNNING", 1)

    # SIGKILL midway: after the restart the interrupted executions show FAILED.
    wait_for_days(6)
    sfn = restart(kill=True)
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

    # One redrive of the backfill completes it, continuing the interrupted days.
    sfn.redrive_execution(executionArn=arn)
    described = pipeline.wait(arn)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert described["redriveCount"] == 2
    for day in interrupted_days:  # continued from their saved progress, not started again
        again = sfn.describe_execution(executionArn=day["executionArn"])
        assert again["status"] == "SUCCEEDED" and again["redriveCount"] >= 1
    days = sfn.list_executions(stateMachineArn=daily, statusFilter="SUCCEEDED")["executions"]
    assert sorted(e["name"][:10] for e in days if "_interrupted_" in e["name"]) == [str(d) for d in STRETCH]
    assert pipeline.table() == expected_items(pipeline.lake, STRETCH)
