"""An Athena query refused, or failing: the day fails with Athena's reason in its cause and writes
nothing, and its ledger record says FAILED (no write had begun); with the fault cleared, a redrive
completes it: the whole table, and the record SUCCEEDED at its second attempt."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.faults.rehearsal import Rehearsal

DAY = dt.date(2024, 1, 20)


@pytest.mark.parametrize(
    ("fault", "error", "reason"),
    [
        (
            ["athena", "StartQueryExecution", "--error", "InvalidRequestException"],
            "Athena.InvalidRequestException",
            "localcloud fault",
        ),
        # Athena's reads of the lake fail: the query itself ends FAILED, with the engine's reason.
        (
            ["s3", "GetObject", "--error", "InternalError"],
            "States.TaskFailed",
            '"StateChangeReason":"HIVE_CURSOR_ERROR: Failed to read s3://meterpipe-lake/iot_electricity_metering/',
        ),
    ],
    ids=["refused", "failing"],
)
def test_an_athena_failure_fails_the_day_with_athenas_reason_and_a_redrive_completes_it(
    rehearsal: Rehearsal, fault: list[str], error: str, reason: str
) -> None:
    assert rehearsal.faults("add", *fault).exit_code == 0
    failed = rehearsal.cli("run", "--date", str(DAY), "--wait", "--json")
    assert failed.exit_code == 3, failed.output
    report = json.loads(failed.stdout)
    [day], [run] = report["days"], report["executions"]
    assert (day["status"], day["error"], run["error"]) == ("FAILED", error, error)
    assert reason in run["cause"]  # the execution's whole cause (the ledger keeps whole lines of it)
    assert rehearsal.table() == {}  # nothing written: the queries run before any write
    record = rehearsal.settled(DAY)  # FAILED, not INCOMPLETE: no write had begun
    assert (record["Status"], record["Error"], record["WritesStarted"]) == ("FAILED", error, False)

    assert rehearsal.faults("clear").exit_code == 0
    redriven = rehearsal.cli("redrive", "--failed", "--wait")
    assert redriven.exit_code == 0, redriven.output
    assert rehearsal.table() == rehearsal.expected([DAY])
    record = rehearsal.ledger_day(DAY)
    assert (record["Status"], record["Attempts"], "Error" in record) == ("SUCCEEDED", "2", False)
