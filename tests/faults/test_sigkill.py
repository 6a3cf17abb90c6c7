"""SIGKILL of localcloud during a month backfill: after `meterpipe local up`, the operator's
recovery (redrive the days the kill interrupted, backfill the days it never started) gives the
whole table a clean backfill gives."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.faults.rehearsal import MONTH, SPEC, Rehearsal


@pytest.mark.slow
def test_after_a_sigkill_mid_backfill_the_operators_recovery_completes_the_month(
    rehearsal: Rehearsal,
) -> None:
    arn = rehearsal.start_with(
        SPEC.backfill, {"from": str(MONTH[0]), "to": str(MONTH[-1]), "max_concurrency": 8}, name="killed"
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # some days done, the backfill still going
        done = [e for e in rehearsal.executions(SPEC.daily_rollup) if "_killed_" in e["name"]]
        if sum(e["status"] == "SUCCEEDED" for e in done) >= 6:
            break
        time.sleep(0.1)
    assert rehearsal.client("stepfunctions").describe_execution(executionArn=arn)["status"] == "RUNNING"

    rehearsal.restart_after_sigkill()
    backfill = rehearsal.client("stepfunctions").describe_execution(executionArn=arn)
    assert (backfill["status"], backfill["error"]) == ("FAILED", "States.Runtime")
    assert "localcloud restarted" in backfill["cause"]

    redriven = rehearsal.cli("redrive", "--failed", "--wait")
    assert redriven.exit_code == 0, redriven.output
    runs = rehearsal.executions(SPEC.daily_rollup)
    started = {dt.date.fromisoformat(e["name"][:10]) for e in runs if "_killed_" in e["name"]}
    never_started = [day for day in MONTH if day not in started]
    assert never_started == MONTH[len(started) :]  # the Map starts days in order: the rest is one range
    missing = rehearsal.cli("backfill", "--from", str(never_started[0]), "--to", str(MONTH[-1]), "--wait")
    assert missing.exit_code == 0, missing.output
    assert rehearsal.table() == rehearsal.expected(MONTH)
