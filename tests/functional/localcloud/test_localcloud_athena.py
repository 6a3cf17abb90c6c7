"""Athena on the endpoint: plain boto3 against a running localcloud, tables from its Glue catalog,
objects in its S3; the same query run on the engine directly (over the same catalog and bucket)
is the reference."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.athena import AthenaEngine, GlueCatalog
from meterpipe.datagen import GenerateOptions, generate, upload_lake
from meterpipe.definitions import DEFAULT_MAX_KWH_PER_READING, rollup_query
from meterpipe.tables import GLUE_DATABASE, LAKE_TABLES

LAKE = "athena-lake"
RESULTS = "athena-out"
DAY = dt.date(2024, 1, 5)


def hourly_sql() -> str:
    """The hourly rollup query as daily_rollup runs it (its valid readings filled in)."""
    return rollup_query("hourly", DEFAULT_MAX_KWH_PER_READING)


@pytest.fixture(scope="module")
def lake(client, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("athena-lake")
    generate(GenerateOptions(customers=4, start=DAY, end=DAY, out=folder, interval=60, seed=3))
    s3, glue = client("s3"), client("glue")
    for bucket in (LAKE, RESULTS):
        s3.create_bucket(Bucket=bucket)
    upload_lake(folder, s3, LAKE)
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(DatabaseInput={"Name": GLUE_DATABASE})
    for spec in LAKE_TABLES:
        with contextlib.suppress(glue.exceptions.EntityNotFoundException):
            glue.delete_table(DatabaseName=GLUE_DATABASE, Name=spec.name)
        glue.create_table(DatabaseName=GLUE_DATABASE, TableInput=spec.glue_table_input(LAKE))
    return {"s3": s3, "engine": AthenaEngine(GlueCatalog(glue), s3_client=s3)}


def wait(athena: Any, query_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        execution: dict[str, Any] = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        if execution["Status"]["State"] not in ("QUEUED", "RUNNING") or time.monotonic() > deadline:
            return execution
        time.sleep(0.05)


def start(athena: Any, sql: str, params: list[str] | None = None, **extra: Any) -> str:
    request: dict[str, Any] = {
        "QueryString": sql,
        "QueryExecutionContext": {"Database": GLUE_DATABASE},
        "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/adhoc/"},
        **extra,
    }
    if params:
        request["ExecutionParameters"] = params
    return str(athena.start_query_execution(**request)["QueryExecutionId"])


def test_a_parameterised_query_over_glue_tables_returns_what_duckdb_returns(client, lake) -> None:  # type: ignore[no-untyped-def]
    athena = client("athena")
    params = [f"'{DAY:%Y}'", f"'{DAY:%m}'", f"'{DAY:%d}'"]
    query_id = start(athena, hourly_sql(), params)
    execution = wait(athena, query_id)
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert execution["ExecutionParameters"] == params
    location = f"s3://{RESULTS}/adhoc/{query_id}.csv"
    assert execution["ResultConfiguration"]["OutputLocation"] == location

    direct = lake["engine"].execute(hourly_sql(), params, database=GLUE_DATABASE)
    expected = [[c.name for c in direct.columns], *direct.text_rows()]
    got: list[list[str | None]] = []
    token = None
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = athena.get_query_results(QueryExecutionId=query_id, MaxResults=25, **kwargs)
        got.extend([cell.get("VarCharValue") for cell in row["Data"]] for row in page["ResultSet"]["Rows"])
        token = page.get("NextToken")
        if not token:
            break
    assert got == expected and len(expected) > 25  # header first, then every row, over pages
    columns = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    assert [(c["Name"], c["Type"]) for c in columns] == [
        ("customerid", "bigint"),
        ("sensorid_period", "varchar"),
        ("total_kwh", "double"),
        ("reading_count", "bigint"),
    ]

    # Athena's files, at Athena's keys: the CSV and its .metadata beside it.
    s3 = lake["s3"]
    body = s3.get_object(Bucket=RESULTS, Key=f"adhoc/{query_id}.csv")["Body"].read()
    assert list(csv.reader(io.StringIO(body.decode()))) == [[v or "" for v in row] for row in expected]
    assert s3.head_object(Bucket=RESULTS, Key=f"adhoc/{query_id}.csv.metadata")["ContentLength"] > 0

    stats = execution["Statistics"]
    assert stats["DataScannedInBytes"] == direct.data_scanned_bytes > 0
    assert stats["TotalExecutionTimeInMillis"] >= stats["EngineExecutionTimeInMillis"] >= 0
    runtime = athena.get_query_runtime_statistics(QueryExecutionId=query_id)["QueryRuntimeStatistics"]
    assert runtime["Rows"]["OutputRows"] == len(expected) - 1
    assert runtime["Rows"]["OutputBytes"] == len(body)


def test_the_workgroups_enforced_location_wins_and_a_cutoff_cancels(client, lake) -> None:  # type: ignore[no-untyped-def]
    athena = client("athena")
    athena.create_work_group(
        Name="enforced",
        Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/enforced/"},
            "EnforceWorkGroupConfiguration": True,
        },
    )
    query_id = start(athena, "SELECT 1 AS one", WorkGroup="enforced")
    execution = wait(athena, query_id)
    assert execution["ResultConfiguration"]["OutputLocation"] == f"s3://{RESULTS}/enforced/{query_id}.csv"
    assert query_id in athena.list_query_executions(WorkGroup="enforced")["QueryExecutionIds"]

    athena.update_work_group(
        WorkGroup="enforced", ConfigurationUpdates={"BytesScannedCutoffPerQuery": 10_000_000}
    )
    group = athena.get_work_group(WorkGroup="enforced")["WorkGroup"]
    assert group["Configuration"]["BytesScannedCutoffPerQuery"] == 10_000_000
    # Athena's smallest cutoff is 10 MB, more than this lake: a query reading less runs as usual
    # (the cancellation itself is tested in test_athena_cutoff.py with a smaller limit).
    params = [f"'{DAY:%Y}'", f"'{DAY:%m}'", f"'{DAY:%d}'"]
    small = wait(athena, start(athena, hourly_sql(), params, WorkGroup="enforced"))
    assert small["Status"]["State"] == "SUCCEEDED"


def test_a_failing_query_ends_failed_with_athenas_reason(client, lake) -> None:  # type: ignore[no-untyped-def]
    athena = client("athena")
    execution = wait(athena, start(athena, "SELECT * FROM no_such_table"))
    status = execution["Status"]
    assert status["State"] == "FAILED"
    assert status["StateChangeReason"].startswith("TABLE_NOT_FOUND: line 1:15:")
    assert status["AthenaError"]["ErrorCategory"] == 2
    with pytest.raises(ClientError) as raised:
        athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    assert raised.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "Final query state: FAILED" in raised.value.response["Error"]["Message"]


def test_unknown_queries_and_missing_locations_are_invalid_requests(client) -> None:  # type: ignore[no-untyped-def]
    athena = client("athena")
    with pytest.raises(ClientError, match="QueryExecution nope was not found"):
        athena.get_query_execution(QueryExecutionId="nope")
    with pytest.raises(ClientError, match="No output location provided"):
        athena.start_query_execution(QueryString="SELECT 1")
    batch = athena.batch_get_query_execution(QueryExecutionIds=["nope"])
    assert batch["UnprocessedQueryExecutionIds"][0]["QueryExecutionId"] == "nope"


def test_every_athena_operation_accepts_the_aws_cli_request_shapes(client, lake) -> None:  # type: ignore[no-untyped-def]
    athena = client("athena")
    athena.create_work_group(
        Name="shapes",
        Description="d",
        Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/s/"}},
        Tags=[{"Key": "team", "Value": "meters"}],
    )
    names = [g["Name"] for g in athena.list_work_groups(MaxResults=50)["WorkGroups"]]
    assert {"primary", "shapes"} <= set(names)
    athena.update_work_group(WorkGroup="shapes", Description="e", State="ENABLED")
    assert athena.get_work_group(WorkGroup="shapes")["WorkGroup"]["Description"] == "e"
    first = athena.start_query_execution(
        QueryString="SELECT 1", WorkGroup="shapes", ClientRequestToken="t" * 32
    )["QueryExecutionId"]
    again = athena.start_query_execution(
        QueryString="SELECT 1", WorkGroup="shapes", ClientRequestToken="t" * 32
    )["QueryExecutionId"]
    assert first == again  # idempotent on ClientRequestToken
    wait(athena, first)
    batch = athena.batch_get_query_execution(QueryExecutionIds=[first])["QueryExecutions"]
    assert batch[0]["Status"]["State"] == "SUCCEEDED"
    athena.stop_query_execution(QueryExecutionId=first)  # already finished: nothing changes
    assert (
        athena.get_query_execution(QueryExecutionId=first)["QueryExecution"]["Status"]["State"] == "SUCCEEDED"
    )
    assert athena.list_query_executions(WorkGroup="shapes", MaxResults=1)["QueryExecutionIds"] == [first]
    athena.get_query_runtime_statistics(QueryExecutionId=first)
    athena.delete_work_group(WorkGroup="shapes", RecursiveDeleteOption=True)
    with pytest.raises(ClientError, match="WorkGroup shapes is not found"):
        athena.get_work_group(WorkGroup="shapes")
