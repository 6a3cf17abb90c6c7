"""localcloud's endpoint: start-up, Lambda cold/warm invoke latency, DynamoDB writes through it,
what MiniStack's periodic snapshot costs once the table holds them, Athena's query latency through
the API, and the whole pipeline deployed by the local deploy: one day of daily_rollup and a 31-day
backfill of a 50-customer month (the operator demo's size)."""

from __future__ import annotations

import io
import json
import multiprocessing
import statistics
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from localcloud import launcher

ROLE = "arn:aws:iam::000000000000:role/bench"
ITEMS = 20_000
PIPELINE_CUSTOMERS = 50
KEY_SCHEMA = [
    {"AttributeName": "CustomerID", "KeyType": "HASH"},
    {"AttributeName": "SensorID-Period", "KeyType": "RANGE"},
]
ATTRIBUTES = [
    {"AttributeName": "CustomerID", "AttributeType": "N"},
    {"AttributeName": "SensorID-Period", "AttributeType": "S"},
]


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(max_pool_connections=8, retries={"mode": "standard"}),
    )


def _package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "import boto3\n\ndef handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _item(i: int) -> dict[str, Any]:
    return {
        "CustomerID": {"N": str(i % 500)},
        "SensorID-Period": {"S": f"{i}#2022-01-05T18"},
        "kWh-Amount": {"N": "1.25"},
    }


def _write(ddb: Any, start: int, count: int) -> None:
    for offset in range(start, start + count, 25):
        batch = [{"PutRequest": {"Item": _item(i)}} for i in range(offset, min(offset + 25, start + count))]
        pending: dict[str, Any] = {"bench": batch}
        while pending:
            pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def _warm_up() -> None:
    import botocore.session  # noqa: F401 - import cost paid before the clock starts


def _write_process(endpoint: str, start: int, count: int) -> None:
    _write(_client(endpoint, "dynamodb"), start, count)


def _lambda_figures(endpoint: str) -> dict[str, Any]:
    lam = _client(endpoint, "lambda")
    colds = []
    for n in range(5):
        name = f"cold{n}"
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": _package()},
        )
        began = time.perf_counter()
        lam.invoke(FunctionName=name, Payload=b"{}")
        colds.append((time.perf_counter() - began) * 1000)
    warms = []
    for _ in range(300):
        began = time.perf_counter()
        lam.invoke(FunctionName="cold0", Payload=json.dumps({"x": 1}).encode())
        warms.append((time.perf_counter() - began) * 1000)
    warms.sort()
    return {
        "lambda_cold_invoke_ms_median (function imports boto3)": round(statistics.median(colds), 1),
        "lambda_warm_invoke_ms_p50": round(warms[len(warms) // 2], 2),
        "lambda_warm_invoke_ms_p95": round(warms[int(len(warms) * 0.95)], 2),
    }


def _dynamodb_figures(endpoint: str) -> dict[str, Any]:
    ddb = _client(endpoint, "dynamodb")
    ddb.create_table(
        TableName="bench",
        KeySchema=KEY_SCHEMA,
        AttributeDefinitions=ATTRIBUTES,
        BillingMode="PAY_PER_REQUEST",
    )
    half = ITEMS // 2
    began = time.perf_counter()
    _write(ddb, 0, half)
    one = half / (time.perf_counter() - began)
    share = half // 4
    # Four client processes: threads in one process would measure boto3's GIL, not the server.
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.starmap(_warm_up, [()] * 4)
        began = time.perf_counter()
        pool.starmap(_write_process, [(endpoint, half + i * share, share) for i in range(4)])
        four = 4 * share / (time.perf_counter() - began)
    time.sleep(2.5)  # let a periodic save run with the table full
    health = launcher.health(endpoint) or {}
    return {
        "dynamodb_batch_write_items_per_s_1_connection": round(one),
        "dynamodb_batch_write_items_per_s_4_client_processes": round(four),
        f"ministack_snapshot_seconds_with_{ITEMS}_items": health.get("ministack_last_save_seconds"),
    }


def _wait_execution(sfn: Any, arn: str) -> dict[str, Any]:
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)


def _pipeline_figures(home: Path) -> dict[str, Any]:
    import datetime as dt

    from meterpipe.aws import Target, clients_for
    from meterpipe.datagen import GenerateOptions, generate, upload_lake
    from meterpipe.definitions import DEFAULT_MAX_KWH_PER_READING, rollup_query
    from meterpipe.local import server as local_server
    from meterpipe.local.deploy import LocalDeployment, deploy
    from meterpipe.tables import GLUE_DATABASE

    spec = LocalDeployment()
    lake = home / "lake"
    generate(
        GenerateOptions(
            customers=PIPELINE_CUSTOMERS,
            start=dt.date(2024, 1, 1),
            end=dt.date(2024, 1, 31),
            out=lake,
            seed=1,
        )
    )
    local_server.up(home / "meterpipe", port=0)
    try:
        clients = clients_for(Target.local(home / "meterpipe"))
        deploy(clients, home=home / "meterpipe", spec=spec)
        upload_lake(lake, clients.client("s3"), spec.lake_bucket)
        account = "arn:aws:states:us-east-1:000000000000:stateMachine:"
        sfn = clients.client("stepfunctions")
        athena = clients.client("athena")
        sql = rollup_query("hourly", DEFAULT_MAX_KWH_PER_READING)
        latencies = []
        for day in range(1, 8):
            began = time.perf_counter()
            query = athena.start_query_execution(
                QueryString=sql,
                QueryExecutionContext={"Database": GLUE_DATABASE},
                ExecutionParameters=["'2024'", "'01'", f"'{day:02d}'"],
                WorkGroup=spec.workgroup,
            )["QueryExecutionId"]
            while athena.get_query_execution(QueryExecutionId=query)["QueryExecution"]["Status"]["State"] in (
                "QUEUED",
                "RUNNING",
            ):
                time.sleep(0.01)
            latencies.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        one = sfn.start_execution(stateMachineArn=account + spec.daily_rollup, input='{"date": "2024-01-05"}')
        day_status = _wait_execution(sfn, one["executionArn"])["status"]
        day_seconds = time.perf_counter() - began
        began = time.perf_counter()
        month = sfn.start_execution(
            stateMachineArn=account + spec.backfill, input='{"from": "2024-01-01", "to": "2024-01-31"}'
        )
        month_status = _wait_execution(sfn, month["executionArn"])["status"]
        month_seconds = time.perf_counter() - began
    finally:
        local_server.down(home / "meterpipe")
    return {
        "athena_hourly_query_ms_median_start_to_succeeded (50 customers, one day)": round(
            statistics.median(latencies), 1
        ),
        f"daily_rollup_one_day_seconds ({PIPELINE_CUSTOMERS} customers, {day_status})": round(day_seconds, 2),
        f"backfill_31_days_seconds ({PIPELINE_CUSTOMERS} customers, {month_status})": round(month_seconds, 2),
    }


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-localcloud-") as tmp:
        home = Path(tmp)
        starts = []
        for _ in range(3):
            began = time.perf_counter()
            launcher.start(home, port=0)
            starts.append(time.perf_counter() - began)
            launcher.stop(home)
        figures["startup_seconds_median_of_3"] = round(statistics.median(starts), 3)
        server = launcher.start(home, port=0)
        try:
            figures.update(_lambda_figures(server.endpoint))
            figures.update(_dynamodb_figures(server.endpoint))
        finally:
            launcher.stop(home)
        figures.update(_pipeline_figures(home))
    return figures
