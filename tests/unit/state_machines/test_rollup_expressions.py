"""daily_rollup's JSONata of the queries and writes: query parameters, result location and
computation, batch input and check, the per-granularity summary, Reconcile and the output."""

from __future__ import annotations

from typing import Any

import pytest
from asl_support import evaluate, evaluate_with_reference, reference_available

RUN = {"problem": None, "source": "date", "date": "2024-01-05", "year": "2024", "month": "01", "day": "05"}
QUERY_ID = "5b7a1a2e-0c3b-4a43-9a43-1d2f1b5c9e10"


def query_execution(scanned: int | None = 1234, submitted: int | str = 1704425406123) -> dict[str, Any]:
    """startQueryExecution.sync's result: the GetQueryExecution response (its dates in epoch
    milliseconds, as the .sync integration returns them)."""
    statistics = {"EngineExecutionTimeInMillis": 900}
    if scanned is not None:
        statistics["DataScannedInBytes"] = scanned
    return {
        "QueryExecution": {
            "QueryExecutionId": QUERY_ID,
            "ResultConfiguration": {
                "OutputLocation": f"s3://meterpipe-results/athena-results/{QUERY_ID}.csv"
            },
            "Statistics": statistics,
            "Status": {"State": "SUCCEEDED", "SubmissionDateTime": submitted},
        }
    }


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("RunHourlyQuery", ["'2024'", "'01'", "'05'"]),
        ("RunDailyQuery", ["'2024'", "'01'", "'05'"]),
        ("RunMonthlyQuery", ["'2024'", "'01'"]),
    ],
)
def test_query_parameters_are_quoted_sql_string_literals_in_the_queries_order(
    daily_states: dict[str, dict[str, Any]], state: str, expected: list[str]
) -> None:
    parameters = evaluate(daily_states[state]["Arguments"]["ExecutionParameters"], variables={"run": RUN})

    assert parameters == expected


@pytest.mark.parametrize(
    "submitted", [1704425406123, "2024-01-05T03:30:06.123Z", "2024-01-05T03:30:06.123+00:00"]
)
def test_the_query_result_location_becomes_the_item_readers_bucket_and_key(
    daily_states: dict[str, dict[str, Any]], submitted: int | str
) -> None:
    query = evaluate(daily_states["RunHourlyQuery"]["Output"], result=query_execution(submitted=submitted))
    reader = daily_states["WriteHourlyRollups"]["ItemReader"]["Arguments"]

    # The submission time, whichever form it comes in, as the items' ComputedAt: ISO 8601 UTC, ms.
    assert query == {
        "id": QUERY_ID,
        "bytes_scanned": 1234,
        "bucket": "meterpipe-results",
        "key": f"athena-results/{QUERY_ID}.csv",
        "computed_at": "2024-01-05T03:30:06.123Z",
    }
    queries = {"hour": query}
    assert evaluate(reader["Bucket"], variables={"queries": queries}) == "meterpipe-results"
    assert evaluate(reader["Key"], variables={"queries": queries}) == f"athena-results/{QUERY_ID}.csv"


def test_a_query_without_scan_statistics_reports_zero_bytes_scanned(
    daily_states: dict[str, dict[str, Any]],
) -> None:
    query = evaluate(daily_states["RunDailyQuery"]["Output"], result=query_execution(scanned=None))

    assert query["bytes_scanned"] == 0


def test_each_batch_carries_what_write_batch_checks_and_records(
    daily_states: dict[str, dict[str, Any]],
) -> None:
    batch_input = daily_states["WriteMonthlyRollups"]["ItemBatcher"]["BatchInput"]
    context = {"Execution": {"Name": "daily-2024-01-05", "Id": "arn:exec"}}
    queries = {"month": {"id": QUERY_ID, "computed_at": "2024-01-05T03:30:06.123Z"}}

    values = {
        key: evaluate(value, variables={"run": RUN, "queries": queries}, context=context)
        if value.startswith("{%")
        else value
        for key, value in batch_input.items()
    }

    assert values == {
        "granularity": "month",
        "date": "2024-01-05",
        "execution": "daily-2024-01-05",
        "execution_arn": "arn:exec",
        "computed_at": "2024-01-05T03:30:06.123Z",
        "query_execution_id": QUERY_ID,
    }


@pytest.mark.parametrize(("written", "ok"), [(3, True), (2, False), (None, False)])
def test_a_batch_counts_as_written_only_when_write_batch_accounts_for_every_row(
    daily_states: dict[str, dict[str, Any]], written: int | None, ok: bool
) -> None:
    items = [
        {"customerid": "1", "sensorid_period": f"5#2024-01-05T0{h}", "total_kwh": "1.5", "reading_count": "2"}
        for h in range(3)
    ]
    task = daily_states["WriteHourlyBatch"]
    payload = {"granularity": "hour", "date": "2024-01-05"} | (
        {} if written is None else {"written": written}
    )
    batch_size = evaluate(task["Assign"]["batchSize"], input={"Items": items, "BatchInput": {}})
    output = evaluate(task["Output"], result={"StatusCode": 200, "Payload": payload})

    condition = evaluate(
        daily_states["CheckHourlyBatchWritten"]["Choices"][0]["Condition"],
        input=output,
        variables={"batchSize": batch_size},
    )

    assert batch_size == 3
    assert condition is ok
    if not ok:
        cause = evaluate(
            daily_states["HourlyBatchNotWritten"]["Cause"], input=output, variables={"batchSize": 3}
        )
        assert cause.startswith("write_batch reported ") and cause.endswith(
            " items written for a batch of 3 rows"
        )


def test_map_run_counts_come_from_describe_map_run(daily_states: dict[str, dict[str, Any]]) -> None:
    map_state = daily_states["WriteDailyRollups"]
    arn = "arn:aws:states:eu-west-1:123456789012:mapRun:meterpipe-daily-rollup/daily:1:2"
    result = {"MapRunArn": arn, "ResultWriterDetails": {"Bucket": "b", "Key": "k/manifest.json"}}
    described = {"MapRunArn": arn, "ItemCounts": {"Succeeded": 41, "Failed": 0, "Total": 41, "Pending": 0}}

    assert evaluate(map_state["Assign"]["dayMapRunArn"], result=result) == arn
    assert map_state["Assign"]["dayStatisticsAttempts"] == 0
    assert (
        evaluate(
            daily_states["DescribeDailyMapRun"]["Arguments"]["MapRunArn"], variables={"dayMapRunArn": arn}
        )
        == arn
    )
    assert evaluate(daily_states["DescribeDailyMapRun"]["Assign"]["dayItems"], result=described) == {
        "written": 41,
        "read": 41,
    }


def test_rows_come_from_athenas_runtime_statistics_and_are_polled_while_missing(
    daily_states: dict[str, dict[str, Any]],
) -> None:
    assign = daily_states["GetHourlyQueryStatistics"]["Assign"]
    ready = daily_states["HourlyStatisticsReady"]["Choices"][0]["Condition"]
    published = {"QueryRuntimeStatistics": {"Rows": {"InputRows": 900, "OutputRows": 41}, "Timeline": {}}}
    pending = {"QueryRuntimeStatistics": {"Timeline": {"QueryQueueTimeInMillis": 5}}}

    assert evaluate(assign["hourQueryRows"], result=published) == 41
    assert evaluate(assign["hourQueryRows"], result=pending) is None
    assert evaluate(assign["hourStatisticsAttempts"], variables={"hourStatisticsAttempts": 2}) == 3
    keep_waiting = [
        evaluate(ready, variables={"hourQueryRows": None, "hourStatisticsAttempts": n}) for n in (1, 5, 6)
    ]
    assert keep_waiting == [True, True, False]
    assert evaluate(ready, variables={"hourQueryRows": 41, "hourStatisticsAttempts": 1}) is False


def summary(states: dict[str, dict[str, Any]], rows: int | None, written: int, read: int) -> dict[str, Any]:
    result: dict[str, Any] = evaluate(
        states["SummariseHourly"]["Output"],
        variables={
            "queries": {"hour": {"id": QUERY_ID, "bytes_scanned": 1234, "bucket": "b", "key": "k"}},
            "hourQueryRows": rows,
            "hourItems": {"written": written, "read": read},
            "hourMapRunArn": "arn:maprun",
        },
    )
    return result


def test_a_granularity_summary_reports_query_scan_rows_items_and_map_run(
    daily_states: dict[str, dict[str, Any]],
) -> None:
    assert summary(daily_states, rows=41, written=41, read=41) == {
        "granularity": "hour",
        "query_execution_id": QUERY_ID,
        "bytes_scanned": 1234,
        "rows": 41,
        "rows_source": "athena",
        "items_written": 41,
        "map_run_arn": "arn:maprun",
    }


def test_without_athena_statistics_rows_fall_back_to_the_rows_read_from_the_result_file(
    daily_states: dict[str, dict[str, Any]],
) -> None:
    fallback = summary(daily_states, rows=None, written=40, read=41)

    assert (fallback["rows"], fallback["rows_source"], fallback["items_written"]) == (41, "result_file", 40)


def branch_results(
    hour: tuple[int, int], day: tuple[int, int], month: tuple[int, int]
) -> list[dict[str, Any]]:
    return [
        {
            "granularity": name,
            "query_execution_id": f"q-{name}",
            "bytes_scanned": 10,
            "rows": rows,
            "rows_source": "athena",
            "items_written": written,
            "map_run_arn": f"arn:{name}",
        }
        for name, (rows, written) in (("hour", hour), ("day", day), ("month", month))
    ]


def test_the_output_holds_each_granularity_under_its_name_and_what_the_validation_found(
    daily_states: dict[str, dict[str, Any]],
) -> None:
    results = branch_results((960, 960), (40, 40), (40, 40))
    checked = {
        "readings": 1000,
        "badReadings": 2,
        "monthBadReadings": 1,
        "sensorsReporting": 40,
        "sensorsKnown": 42,
        "readingsExpected": 1008,
    }
    listing = {"fingerprint": "sha256:ab", "objects": 2, "bytes": 4096}
    validation = {"query_execution_id": "v", "bytes_scanned": 5, "engine_ms": 7}

    grouped = evaluate(daily_states["WriteRollups"]["Assign"]["results"], result=results)
    output = evaluate(
        daily_states["RecordSuccess"]["Output"],
        variables={
            "run": {**RUN, "maxBadReadings": 5},
            "results": grouped,
            "checked": checked,
            "listing": listing,
            "validation": validation,
        },
    )

    assert output == {
        "date": "2024-01-05",
        "readings": 1000,
        "bad_readings_skipped": 2,
        "max_bad_readings": 5,
        "month_bad_readings_excluded": 1,
        "sensors_reporting": 40,
        "sensors_known": 42,
        "readings_expected": 1008,
        "fingerprint": "sha256:ab",
        "input_objects": 2,
        "input_bytes": 4096,
        "validation": validation,
        "hour": results[0],
        "day": results[1],
        "month": results[2],
    }


def test_reconcile_passes_when_every_granularity_wrote_every_row(
    daily_states: dict[str, dict[str, Any]],
) -> None:
    mismatches = evaluate(
        daily_states["WriteRollups"]["Assign"]["mismatches"],
        result=branch_results((960, 960), (40, 40), (40, 40)),
    )

    assert mismatches == []
    assert (
        evaluate(daily_states["Reconcile"]["Choices"][0]["Condition"], variables={"mismatches": mismatches})
        is False
    )


def test_reconcile_fails_naming_each_granularity_and_both_counts(
    daily_states: dict[str, dict[str, Any]],
) -> None:
    mismatches = evaluate(
        daily_states["WriteRollups"]["Assign"]["mismatches"],
        result=branch_results((960, 958), (40, 40), (41, 40)),
    )

    failed = evaluate(
        daily_states["Reconcile"]["Choices"][0]["Condition"], variables={"mismatches": mismatches}
    )
    cause = evaluate(
        daily_states["ReconcileFailed"]["Cause"], variables={"mismatches": mismatches, "run": RUN}
    )

    assert failed is True
    assert daily_states["ReconcileFailed"]["Error"] == "MeterPipe.ReconcileFailed"
    assert cause == (
        "hour: the query returned 960 rows but 958 items were written; "
        "month: the query returned 41 rows but 40 items were written (date 2024-01-05)"
    )


@pytest.mark.skipif(
    not reference_available(), reason="the JSONata reference implementation comes with `make setup`"
)
def test_the_reference_jsonata_implementation_agrees_on_reconcile(
    daily_states: dict[str, dict[str, Any]],
) -> None:
    cases = [branch_results((960, 958), (40, 40), (41, 40)), branch_results((1, 1), (1, 1), (1, 1))]
    expression = daily_states["WriteRollups"]["Assign"]["mismatches"]

    reference = evaluate_with_reference(expression, [{"states": {"result": c}} for c in cases])
    cause = evaluate_with_reference(
        daily_states["ReconcileFailed"]["Cause"], [{"mismatches": reference[0]["value"], "run": RUN}]
    )

    assert reference == [{"value": evaluate(expression, result=c)} for c in cases]
    assert cause[0]["value"] == evaluate(
        daily_states["ReconcileFailed"]["Cause"], variables={"mismatches": reference[0]["value"], "run": RUN}
    )
