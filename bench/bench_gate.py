"""What localcloud's request gate costs and saves: the server's peak memory (VmHWM) after one
200 MB request body of each kind, each on a fresh server, and DynamoDB BatchWriteItem throughput
(the write path ``write_batch`` uses) through the gate."""

from __future__ import annotations

import multiprocessing
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from bench.bench_endpoint import ATTRIBUTES, ITEMS, KEY_SCHEMA, _warm_up, _write, _write_process
from bench.cpu_use import process_cpu
from localcloud import launcher

BODY_MB = 200


def _client(endpoint: str, service: str, **config: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(max_pool_connections=8, retries={"mode": "standard", "max_attempts": 1}, **config),
    )


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _big_body() -> bytes:
    return b"x" * (BODY_MB * 1024 * 1024)


def _s3_put(endpoint: str) -> str:
    s3 = _client(endpoint, "s3", read_timeout=600)
    s3.create_bucket(Bucket="bench-big")
    s3.put_object(Bucket="bench-big", Key="big.bin", Body=_big_body())
    return "stored"


def _lambda_create(endpoint: str) -> str:
    lam = _client(endpoint, "lambda", read_timeout=600)
    try:
        lam.create_function(
            FunctionName="big",
            Runtime="python3.12",
            Role="arn:aws:iam::000000000000:role/bench",
            Handler="app.handler",
            Code={"ZipFile": _big_body()},
        )
    except lam.exceptions.ClientError as exc:
        return f"{exc.response['ResponseMetadata']['HTTPStatusCode']} {exc.response['Error']['Code']}"
    return "created"


def _unsigned_post(endpoint: str) -> str:
    request = urllib.request.Request(
        f"{endpoint}/2015-03-31/functions",
        data=_big_body(),
        method="POST",
        headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return str(response.status)
    except urllib.error.HTTPError as exc:
        return str(exc.code)
    except (urllib.error.URLError, OSError) as exc:
        return f"connection: {exc}"


def _memory_figures(home: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    cases: dict[str, Callable[[str], str]] = {
        "s3_put_object": _s3_put,
        "lambda_create_function_zip": _lambda_create,
        "unsigned_text_plain_post_from_a_web_page": _unsigned_post,
    }
    for name, send in cases.items():
        server = launcher.start(home / name, port=0)
        try:
            _client(server.endpoint, "s3").list_buckets()  # MiniStack's modules loaded before the baseline
            before = _memory_kb(server.pid, "VmRSS")
            outcome = send(server.endpoint)
            peak = _memory_kb(server.pid, "VmHWM")
            after = _memory_kb(server.pid, "VmRSS")
        finally:
            launcher.stop(home / name)
        figures[f"{name}_{BODY_MB}MB_answer"] = outcome
        figures[f"{name}_{BODY_MB}MB_rss_before_mb"] = round(before / 1024)
        figures[f"{name}_{BODY_MB}MB_peak_rss_mb"] = round(peak / 1024)
        figures[f"{name}_{BODY_MB}MB_rss_after_mb"] = round(after / 1024)
    return figures


def _throughput_figures(home: Path) -> dict[str, Any]:
    server = launcher.start(home / "throughput", port=0)
    try:
        ddb = _client(server.endpoint, "dynamodb")
        ddb.create_table(
            TableName="bench",
            KeySchema=KEY_SCHEMA,
            AttributeDefinitions=ATTRIBUTES,
            BillingMode="PAY_PER_REQUEST",
        )
        _write(ddb, 0, 500)  # connections and code paths warm
        half = ITEMS // 2
        began, cpu = time.perf_counter(), process_cpu(server.pid)
        _write(ddb, 1000, half)
        one = half / (time.perf_counter() - began)
        cpu_per_call_ms = (process_cpu(server.pid) - cpu) / (half / 25) * 1000
        share = half // 4
        with multiprocessing.get_context("spawn").Pool(4) as pool:
            pool.starmap(_warm_up, [()] * 4)
            began = time.perf_counter()
            pool.starmap(
                _write_process, [(server.endpoint, 1000 + half + i * share, share) for i in range(4)]
            )
            four = 4 * share / (time.perf_counter() - began)
    finally:
        launcher.stop(home / "throughput")
    return {
        "dynamodb_batch_write_items_per_s_1_connection": round(one),
        "server_cpu_ms_per_batch_write_item_of_25": round(cpu_per_call_ms, 2),
        "dynamodb_batch_write_items_per_s_4_client_processes": round(four),
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        home = Path(tmp)
        return {**_throughput_figures(home), **_memory_figures(home)}
