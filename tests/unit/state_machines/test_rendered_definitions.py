"""The rendered definitions: valid JSON, nothing left to fill, accepted by an independent validator,
and shaped as issue 4 describes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from asl_support import DAILY_ARN, FUNCTION_ARN, rendered, sample_values, states_of

from meterpipe.definitions import REPO_ROOT, render_state_machines, walk_states

VALIDATOR = REPO_ROOT / "node_modules" / ".bin" / "asl-validator"
LAMBDA_TRANSIENT = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return render_state_machines(sample_values())


def test_every_rendered_definition_is_json_with_no_placeholder_left(texts: dict[str, str]) -> None:
    assert set(texts) == {"daily_rollup", "backfill", "ledger_sync"}
    for name, text in texts.items():
        document = json.loads(text)
        assert document["QueryLanguage"] == "JSONata", name
        assert not re.search(r"\$\{[A-Za-z]", text), name


@pytest.mark.skipif(not VALIDATOR.exists(), reason="asl-validator is installed by `make setup`")
def test_every_rendered_definition_passes_asl_validator(texts: dict[str, str], tmp_path: Path) -> None:
    paths = []
    for name, text in texts.items():
        path = tmp_path / f"{name}.asl.json"
        path.write_text(text, encoding="utf-8")
        paths += ["--json-path", str(path)]
    assert shutil.which("node"), "asl-validator needs Node.js"

    completed = subprocess.run(
        [str(VALIDATOR), *paths], capture_output=True, text=True, timeout=60, check=False
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.count("is valid") == 3


def test_the_parallel_runs_three_athena_sync_queries_on_the_workgroup() -> None:
    rollup = rendered()["daily_rollup"]["States"]["RunRollupQueries"]
    assert rollup["Type"] == "Parallel"
    first_states = [branch["States"][branch["StartAt"]] for branch in rollup["Branches"]]

    assert [s["Resource"] for s in first_states] == ["arn:aws:states:::athena:startQueryExecution.sync"] * 3
    assert {s["Arguments"]["WorkGroup"] for s in first_states} == {"meterpipe"}
    assert {s["Arguments"]["QueryExecutionContext"]["Database"] for s in first_states} == {"iotanalyticsdb"}
    queries = [s["Arguments"]["QueryString"] for s in first_states]
    assert ["T', v.hourcollected" in queries[0], "v.day) AS sensorid_period" in queries[1]] == [True, True]
    assert "concat(cast(v.sensorid AS varchar), '#', v.year, '-', v.month)" in queries[2]


def test_each_distributed_map_reads_the_query_csv_in_batches_into_express_children(
    daily_states: dict[str, dict[str, Any]],
) -> None:
    maps = {name: state for name, state in daily_states.items() if state["Type"] == "Map"}
    assert sorted(maps) == ["WriteDailyRollups", "WriteHourlyRollups", "WriteMonthlyRollups"]

    for name, state in maps.items():
        assert state["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject", name
        assert state["ItemReader"]["ReaderConfig"] == {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}
        batcher = state["ItemBatcher"]
        assert batcher["MaxItemsPerBatch"] == 500
        assert batcher["MaxInputBytesPerBatch"] <= 256 * 1024 - 4096
        assert set(batcher["BatchInput"]) == {
            "granularity",
            "date",
            "execution",
            "execution_arn",
            "computed_at",
            "query_execution_id",
        }
        assert batcher["BatchInput"]["execution"] == "{% $states.context.Execution.Name %}"
        assert state["MaxConcurrency"] == 25
        assert state["ItemProcessor"]["ProcessorConfig"] == {
            "Mode": "DISTRIBUTED",
            "ExecutionType": "EXPRESS",
        }
        assert state["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
        assert state["ResultWriter"]["Arguments"]["Bucket"] == "meterpipe-results"
    assert [m["ItemBatcher"]["BatchInput"]["granularity"] for m in maps.values()] == ["hour", "day", "month"]


def test_write_batch_is_retried_on_lambda_and_time_budget_errors_with_jitter_never_on_invalid_batches(
    daily_states: dict[str, dict[str, Any]],
) -> None:
    invokes = [s for s in daily_states.values() if s.get("Resource") == "arn:aws:states:::lambda:invoke"]
    assert len(invokes) == 3

    for task in invokes:
        assert task["Arguments"]["FunctionName"] == FUNCTION_ARN
        retried = {error for retrier in task["Retry"] for error in retrier["ErrorEquals"]}
        assert retried == LAMBDA_TRANSIENT | {"TimeBudgetExhaustedError"}
        assert all(r["JitterStrategy"] == "FULL" and r["BackoffRate"] > 1 for r in task["Retry"])
        assert "Catch" not in task


def test_every_state_name_is_unique_across_the_whole_machine() -> None:
    for definition in rendered().values():
        names = [name for name, _ in walk_states(definition)]
        assert len(names) == len(set(names))


def test_backfill_maps_dates_to_standard_children_that_start_daily_rollup_synchronously(
    backfill_states: dict[str, dict[str, Any]],
) -> None:
    run_days = backfill_states["RunDays"]
    task = backfill_states["RunDailyRollup"]

    assert run_days["ToleratedFailurePercentage"] == 100
    assert run_days["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "STANDARD",
    }
    assert task["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert task["Arguments"]["StateMachineArn"] == DAILY_ARN
    assert [c["ErrorEquals"] for c in task["Catch"]] == [["States.ALL"]]
    assert backfill_states["DaysFailed"]["Error"] == "MeterPipe.DaysFailed"
    assert "redrive-map-run.html" in backfill_states["DaysFailed"]["Comment"]


def test_custom_errors_are_named_as_the_issue_specifies() -> None:
    errors = {
        state["Error"]
        for definition in rendered().values()
        for state in states_of(definition).values()
        if state["Type"] == "Fail"
    }

    assert errors == {
        "MeterPipe.InvalidInput",
        "MeterPipe.NoReadings",
        "MeterPipe.BadReadings",
        "MeterPipe.BadCustomers",
        "MeterPipe.IncompleteReadings",
        "MeterPipe.Superseded",
        "MeterPipe.ReconcileFailed",
        "MeterPipe.BatchNotWritten",
        "MeterPipe.DaysFailed",
    }


def test_nothing_is_written_before_validation_and_all_three_queries_are_done() -> None:
    # The path a day takes from its start to its first item write, state by state.
    states = rendered()["daily_rollup"]["States"]
    path, name = [], rendered()["daily_rollup"]["StartAt"]
    while name != "WriteRollups":
        path.append(name)
        state = states[name]
        name = state.get("Next") or state.get("Default")
    assert path == [
        "ResolveDate",
        "ResolveOptions",
        "CheckInput",
        "ReadDayRecord",
        "WhoOwnsTheDay",
        "DescribeOwner",
        "OwnerStillRunning",
        "ClaimDay",
        "PreviousOwnerDone",
        "ListDayObjects",
        "MoreObjects",
        "ValidateReadings",
        "ReadValidation",
        "JudgeReadings",
        "RecordValidation",
        "RunRollupQueries",
        "MarkWritesStarted",
    ]


def test_no_catch_after_the_writes_began_routes_a_failure_to_a_fail_state_but_superseded() -> None:
    # A redrive re-runs only the failed states: a catch-all ending in a Fail state would make a
    # redriven day fail there again without retrying its writes.
    states = rendered()["daily_rollup"]["States"]
    after = ["MarkWritesStarted", "WriteRollups", "Reconcile", "RecordSuccess"]
    for name in after:
        for catcher in states[name].get("Catch", []):
            assert catcher["ErrorEquals"] == ["DynamoDb.TransactionCanceledException"], name
            assert catcher["Next"] == "Superseded", name
