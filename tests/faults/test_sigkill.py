"""SIGKILL of localcloud during a month backfill at concurrency 8: after `meterpipe local up`, one
`redrive --failed --from --to --wait` completes every day of the month (those the kill interrupted
and those the killed backfill never started), and the ledger then says SUCCEEDED for each; the
whole table equals the Decimal totals of the lake."""

from __future__ import annotations

import json
import time

import pytest

from tests.faults.rehearsal import MONTH, SPEC, Rehearsal

FIRST, LAST = str(MONTH[0]), str(MONTH[-1])


def _statuses(rehearsal: Rehearsal) -> dict[str, str]:
    """Each day's status as the CLI reads it from the ledger (NEVER: no record)."""
    listed = rehearsal.cli("history", "--from", FIRST, "--to", LAST, "--json")
    assert listed.exit_code == 0, listed.output
    return {line["date"]: line["status"] for line in json.loads(listed.stdout)}


@pytest.mark.slow
def test_after_a_sigkill_mid_backfill_one_redrive_completes_the_month(rehearsal: Rehearsal) -> None:
    arn = rehearsal.start_with(
        SPEC.backfill, {"from": FIRST, "to": LAST, "max_concurrency": 8}, name="killed"
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # some days done, the backfill still going
        if sum(rehearsal.ledger_day(day).get("Status") == "SUCCEEDED" for day in MONTH[:12]) >= 6:
            break
        time.sleep(0.2)
    assert rehearsal.client("stepfunctions").describe_execution(executionArn=arn)["status"] == "RUNNING"

    rehearsal.restart_after_sigkill()
    backfill = rehearsal.client("stepfunctions").describe_execution(executionArn=arn)
    assert (backfill["status"], backfill["error"]) == ("FAILED", "States.Runtime")
    assert "localcloud restarted" in backfill["cause"]
    before = _statuses(rehearsal)
    # Done before the kill, interrupted by it (failed since), and never started (no record).
    assert {"SUCCEEDED", "NEVER"} <= set(before.values()), before
    interrupted = [day for day, status in before.items() if status in ("FAILED", "INCOMPLETE")]
    assert interrupted, before

    redriven = rehearsal.cli("redrive", "--failed", "--from", FIRST, "--to", LAST, "--wait")
    assert redriven.exit_code == 0, redriven.output
    assert rehearsal.table() == rehearsal.expected(MONTH)
    records = {str(day): rehearsal.ledger_day(day) for day in MONTH}
    assert {day: r["Status"] for day, r in records.items()} == {str(day): "SUCCEEDED" for day in MONTH}
    # An interrupted day succeeded at a later attempt; a day never started, at its first.
    assert all(int(records[day]["Attempts"]) >= 2 for day in interrupted)
    assert {records[day]["Attempts"] for day, status in before.items() if status == "NEVER"} == {"1"}
