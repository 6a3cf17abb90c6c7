"""The pipeline on a localcloud of its own, for the pipeline benchmarks: deploy, generate and ingest
a day, run daily_rollup, read back what it did from its history, and the references measured on
the same localcloud right after (raw BatchWriteItem from 4 threads; one process with the upstream
sample's ``Table.batch_writer()``).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config

from localcloud import launcher
from meterpipe.aws import Clients, Target, clients_for
from meterpipe.datagen import GenerateOptions, generate, upload_lake
from meterpipe.local import server as local_server
from meterpipe.local.deploy import LocalDeployment, deploy
from meterpipe.tables import ROLLUPS

T = TypeVar("T")

THREADS = 4
ACCOUNT = "000000000000"
REGION = "us-east-1"


@dataclass
class Local:
    home: Path
    endpoint: str
    clients: Clients
    spec: LocalDeployment = field(default_factory=LocalDeployment)

    def client(self, service: str) -> Any:
        return self.clients.client(service)

    def machine_arn(self, name: str) -> str:
        return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"

    def server_pid(self) -> int:
        """The localcloud server's process id, as ``localcloud.launcher.status`` reads it."""
        server = launcher.status(self.home).server
        if server is None:
            raise RuntimeError(f"no localcloud is running for {self.home}")
        return server.pid


@contextmanager
def local_pipeline() -> Iterator[Local]:
    """localcloud in a scratch home with the project deployed; stopped and removed after."""
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        home = Path(tmp) / "home"
        server = local_server.up(home, port=0).server
        try:
            clients = clients_for(Target.local(home))
            local = Local(home, server.endpoint, clients)
            deploy(clients, home=home, spec=local.spec)
            yield local
        finally:
            local_server.down(home)


@dataclass(frozen=True)
class Lake:
    customers: int
    meters: int
    readings: int
    bytes: int
    seconds: float  # generating and uploading


def load_day(local: Local, *, meters: int, day: dt.date, interval: int = 60, seed: int = 1) -> Lake:
    """Generate one day for about ``meters`` meters (customers have 1.25 on average) and upload it."""
    customers = max(1, round(meters / 1.246))
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-lake-") as tmp:
        summary = generate(
            GenerateOptions(
                customers=customers, start=day, end=day, out=Path(tmp), interval=interval, seed=seed
            )
        )
        upload_lake(Path(tmp), local.client("s3"), local.spec.lake_bucket)
    return Lake(
        customers, summary.sensors, summary.readings, summary.bytes_written, time.perf_counter() - began
    )


@dataclass(frozen=True)
class StateSpan:
    name: str
    entered: float
    exited: float

    @property
    def seconds(self) -> float:
        return self.exited - self.entered


@dataclass
class Run:
    arn: str
    status: str
    seconds: float
    output: Any
    spans: list[StateSpan]
    events: list[dict[str, Any]]

    def span(self, name: str) -> StateSpan | None:
        return next((s for s in self.spans if s.name == name), None)

    @property
    def started_at(self) -> float:
        """When the execution started (``time.time()`` seconds): what its spans and map runs count from."""
        return float(self.events[0]["timestamp"].timestamp())


def run_day(local: Local, day: dt.date) -> Run:
    """daily_rollup for ``day``, waited for; its states' spans read from its history."""
    sfn = local.client("stepfunctions")
    began = time.perf_counter()
    arn = sfn.start_execution(
        stateMachineArn=local.machine_arn(local.spec.daily_rollup), input=f'{{"date": "{day}"}}'
    )["executionArn"]
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        time.sleep(0.05)
    seconds = time.perf_counter() - began
    events = history(sfn, arn)
    return Run(arn, described["status"], seconds, described.get("output"), spans(events), events)


def history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(
        executionArn=arn, includeExecutionData=False
    ):
        events += page["events"]
    return events


def spans(events: list[dict[str, Any]]) -> list[StateSpan]:
    """Each state entered and exited, by name, as the history times them (seconds from the start)."""
    start = events[0]["timestamp"].timestamp()
    opened: dict[str, float] = {}
    found = []
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            details = event["stateEnteredEventDetails"]
            opened[details["name"]] = event["timestamp"].timestamp() - start
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            if name in opened:
                found.append(StateSpan(name, opened.pop(name), event["timestamp"].timestamp() - start))
    return found


def client(endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(max_pool_connections=THREADS * 2, retries={"mode": "standard"}, read_timeout=300),
    )


def item(n: int) -> dict[str, Any]:
    """An item shaped as daily_rollup writes its hour items: the same eight attributes (key, kWh,
    granularity, count, and the computation: when, which query, which execution), values of the
    same lengths."""
    customer, sensor = 10_000 + n % 1_000, 50_000_000 + n // 24
    return {
        "CustomerID": {"N": str(customer)},
        "SensorID-Period": {"S": f"{sensor}#2024-01-{1 + n // 24 // 50_000 % 28:02d}T{n % 24:02d}"},
        "kWh-Amount": {"N": f"{n % 9973 / 100:.2f}"},
        "Granularity": {"S": "hour"},
        "ReadingCount": {"N": "4"},
        "ComputedAt": {"S": "2024-02-01T03:30:00.000Z"},
        "QueryExecutionId": {"S": "5b0c7f4e-2d1a-4c3b-9e8f-0a1b2c3d4e5f"},
        "Execution": {"S": "daily-2024-01-05-3f9a1c2e-7b4d-4e8a-9c6f-1d2e3f4a5b6c"},
    }


class Writers:
    """Raw BatchWriteItem: THREADS threads, each with its own client, writing consecutive disjoint
    ranges of items into one table, 25 a call."""

    def __init__(self, endpoint: str, table: str) -> None:
        self.table = table
        self.clients = [client(endpoint) for _ in range(THREADS)]
        self.next = 0
        self.slowest = 0.0

    def write(self, count: int) -> float:
        """Write ``count`` new items; returns items/s."""
        start, self.next = self.next, self.next + count
        share = -(-count // THREADS)
        slowest = [0.0] * THREADS

        def work(index: int) -> None:
            ddb, first = self.clients[index], start + index * share
            for offset in range(first, min(first + share, start + count), 25):
                requests = [
                    {"PutRequest": {"Item": item(n)}} for n in range(offset, min(offset + 25, first + share))
                ]
                pending: dict[str, Any] = {self.table: requests}
                while pending:
                    began = time.perf_counter()
                    pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                    slowest[index] = max(slowest[index], time.perf_counter() - began)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.slowest = max(slowest)
        return count / (time.perf_counter() - began)


def raw_ceiling(local: Local, items: int, *, table: str = "bench-raw") -> float:
    """items/s: raw BatchWriteItem from THREADS threads into a new table on the same localcloud."""
    return raw_rate(local.endpoint, items, table=table)


def raw_rate(endpoint: str, items: int, *, table: str) -> float:
    """items/s: raw BatchWriteItem from THREADS threads into a new table (deleted after) at ``endpoint``."""
    ddb = client(endpoint)
    ddb.create_table(**ROLLUPS.create_table_params(table))
    rate = Writers(endpoint, table).write(items)
    ddb.delete_table(TableName=table)
    return rate


def bracketed(
    local: Local, items: int, work: Callable[[], T], *, windows: list[tuple[float, float]] | None = None
) -> tuple[T, float, float, float]:
    """``work()`` between two windows of :func:`raw_ceiling` of ``items / 2`` each, so that a machine
    whose load changes during the run moves ours and the reference alike.

    Returns what ``work`` returned, the reference (items/s over both windows: their items over their
    time), and each window's rate. ``windows`` (when given) gets each raw window's (start, end) in
    ``time.time()``, for ``bench.cpu_use``."""
    half = max(items // 2, 2_500)
    began = time.time()
    before = raw_ceiling(local, half, table="bench-raw-before")
    ended = time.time()
    done = work()
    resumed = time.time()
    after = raw_ceiling(local, half, table="bench-raw-after")
    if windows is not None:
        windows += [(began, ended), (resumed, time.time())]
    return done, 2 / (1 / before + 1 / after), before, after


def batch_writer_rate(local: Local, items: int, *, table: str = "bench-batch-writer") -> float:
    """items/s: the upstream sample's way, one process putting items through ``Table.batch_writer()``."""
    ddb = client(local.endpoint)
    ddb.create_table(**ROLLUPS.create_table_params(table))
    resource = boto3.resource(
        "dynamodb",
        endpoint_url=local.endpoint,
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    plain = TypeDeserializer()
    rows = [{k: plain.deserialize(v) for k, v in item(n).items()} for n in range(items)]
    began = time.perf_counter()
    with resource.Table(table).batch_writer() as writer:
        for row in rows:
            writer.put_item(Item=row)
    rate = items / (time.perf_counter() - began)
    ddb.delete_table(TableName=table)
    return rate
