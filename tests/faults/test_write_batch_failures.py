"""write_batch failing on some batches: Lambda answering ServiceException for a while is retried per
the state machine's Retry and the day completes; when the retries run out the day fails naming the
batch and its ledger record says INCOMPLETE (every item written so far individually correct), and
after `faults clear` a redrive completes it. Each ends with the whole table and the ledger record."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from tests.faults.rehearsal import SPEC, Rehearsal

DAY = dt.date(2024, 1, 5)


def _child_histories(rehearsal: Rehearsal, execution_arn: str) -> list[list[dict]]:
    sfn = rehearsal.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    map_runs = [e["mapRunStartedEventDetails"]["mapRunArn"] for e in events if e["type"] == "MapRunStarted"]
    histories = []
    for map_run in map_runs:
        for child in sfn.list_executions(mapRunArn=map_run)["executions"]:
            histories.append(sfn.get_execution_history(executionArn=child["executionArn"])["events"])
    return histories


def test_lambda_failing_for_a_while_is_retried_per_the_retry_and_the_day_completes(
    rehearsal: Rehearsal,
) -> None:
    added = rehearsal.faults("add", "lambda", "Invoke", "--error", "ServiceException", "--count", "2")
    assert added.exit_code == 0, added.output
    fault_id = added.stdout.strip()
    assert re.fullmatch(r"flt-[0-9a-f]{8}", fault_id)
    listed = json.loads(rehearsal.faults("list", "--json").stdout)
    assert [(f["id"], f["error"], f["status"], f["count"]) for f in listed] == [
        (fault_id, "ServiceException", 500, 2)
    ]

    result = rehearsal.cli("run", "--date", str(DAY), "--wait")
    assert result.exit_code == 0, result.output
    assert rehearsal.fault_hits() == {fault_id: 2}
    # Each failure is a TaskFailed of the batch's task, followed by the Retry's next attempt.
    failed_attempts = [
        e["taskFailedEventDetails"]["error"]
        for events in _child_histories(rehearsal, rehearsal.latest(SPEC.daily_rollup))
        for e in events
        if e["type"] == "TaskFailed"
    ]
    assert failed_attempts == ["Lambda.ServiceException", "Lambda.ServiceException"]
    assert rehearsal.table() == rehearsal.expected([DAY])
    assert (rehearsal.ledger_day(DAY)["Status"], rehearsal.ledger_day(DAY)["Attempts"]) == ("SUCCEEDED", "1")


@pytest.mark.slow
def test_when_the_retries_run_out_the_day_fails_naming_the_batch_then_a_redrive_completes_it(
    rehearsal: Rehearsal,
) -> None:
    fault_id = rehearsal.faults("add", "lambda", "Invoke", "--error", "ServiceException").stdout.strip()
    status = rehearsal.cli("local", "status")
    assert f"{fault_id}  lambda Invoke: error ServiceException (HTTP 500); every call" in status.stdout

    failed = rehearsal.cli("run", "--date", str(DAY), "--wait")
    assert failed.exit_code == 3, failed.output
    flat = " ".join(failed.output.split())
    assert re.search(
        rf"(hour|day|month) batch of {DAY}, \d+ rows: Lambda\.ServiceException: localcloud fault {fault_id}",
        flat,
    ), flat
    # Retry: MaxAttempts 6 on Lambda.ServiceException, so a failed batch met the fault 1 + 6 times.
    assert rehearsal.fault_hits()[fault_id] >= 7
    # Nothing partial looks finished: the writes had begun, so the record says INCOMPLETE, and
    # whatever was written is individually correct (some batches may have gone through).
    record = rehearsal.settled(DAY)
    assert (record["Status"], record["WritesStarted"]) == ("INCOMPLETE", True)
    expected = rehearsal.expected([DAY])
    assert {key: expected.get(key) for key in rehearsal.table()} == rehearsal.table()

    assert rehearsal.faults("clear").stdout.strip() == "cleared 1 fault"
    redriven = rehearsal.cli("redrive", "--failed", "--wait")
    assert redriven.exit_code == 0, redriven.output
    assert rehearsal.table() == expected
    assert (rehearsal.ledger_day(DAY)["Status"], rehearsal.ledger_day(DAY)["Attempts"]) == ("SUCCEEDED", "2")
