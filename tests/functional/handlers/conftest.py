"""Fixtures for the write_batch handler against moto's DynamoDB."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from handlers import ledger_format, rollup_writer, write_batch
from meterpipe.tables import LEDGER, ROLLUPS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

EVENTS = Path(__file__).resolve().parents[2] / "events"
TABLE = "ElectricityMeteredByPeriod-test"
LEDGER_TABLE = "MeterPipeLedger-test"
# The execution the test events come from, which owns their day (2022-01-05) in the ledger.
OWNER = "arn:aws:states:us-east-1:123456789012:execution:meterpipe-daily-rollup:daily-2022-01-05-a1b2"


class FakeLambdaContext:
    """What Powertools and the handler read from a Lambda context; the remaining time is settable."""

    function_name = "write_batch"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:write_batch"
    aws_request_id = "6f1d3a0e-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/write_batch"
    log_stream_name = "2022/01/06/[$LATEST]0"

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture(autouse=True)
def _one_moto_transaction_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto copies a whole table for a transaction's rollback while other threads write it, with
    no lock ("dictionary changed size during iteration"): the writer sends a batch's month
    transactions from several threads, which DynamoDB (and localcloud) serialise, and so does this."""
    lock = threading.Lock()
    unlocked = DynamoDBBackend.transact_write_items

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        with lock:
            unlocked(self, transact_items)

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", transact_write_items)


@pytest.fixture
def dynamodb() -> Iterator[DynamoDBClient]:
    """moto's DynamoDB holding an empty rollup table named TABLE (the project's table spec) and a
    ledger whose day record of 2022-01-05 says OWNER owns the day."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**ROLLUPS.create_table_params(TABLE))
        client.create_table(**LEDGER.create_table_params(LEDGER_TABLE))
        set_owner(client, OWNER)
        # The handler's default client is built once per container; build it inside this mock.
        rollup_writer.default_client.cache_clear()
        yield client
        rollup_writer.default_client.cache_clear()


def set_owner(client: DynamoDBClient, owner: str, day: str = "2022-01-05") -> None:
    """The ledger's day record, as daily_rollup's claim leaves it."""
    client.put_item(
        TableName=LEDGER_TABLE,
        Item={
            **ledger_format.day_key(dt.date.fromisoformat(day)),
            ledger_format.STATUS: {"S": "RUNNING"},
            ledger_format.EXECUTION: {"S": owner},
        },
    )


@pytest.fixture(autouse=True)
def _ledger_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """LEDGER_TABLE_NAME set to the moto ledger, as the deployment sets it for the Lambda."""
    monkeypatch.setenv("LEDGER_TABLE_NAME", LEDGER_TABLE)


@pytest.fixture(autouse=True)
def _no_metrics_leak_between_tests() -> Iterator[None]:
    # Powertools keeps metrics in a module-level set until a decorated handler flushes them.
    write_batch.metrics.clear_metrics()
    yield
    write_batch.metrics.clear_metrics()


@pytest.fixture
def table_env(dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch) -> str:
    """ROLLUP_TABLE_NAME set to the moto table, as the deployment sets it for the Lambda."""
    monkeypatch.setenv("ROLLUP_TABLE_NAME", TABLE)
    return TABLE


@pytest.fixture
def context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def make_context() -> Callable[[int], FakeLambdaContext]:
    return FakeLambdaContext


@pytest.fixture
def load_event() -> Callable[[str], dict[str, Any]]:
    def load(name: str) -> dict[str, Any]:
        event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
        return event

    return load


@pytest.fixture
def table_items(dynamodb: DynamoDBClient) -> Callable[[], dict[tuple[str, str], dict[str, Any]]]:
    """Every item of the table by (CustomerID, SensorID-Period), as the low-level client returns it."""

    def scan() -> dict[tuple[str, str], dict[str, Any]]:
        items: dict[tuple[str, str], dict[str, Any]] = {}
        for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE):
            for item in page["Items"]:
                items[(item["CustomerID"]["N"], item["SensorID-Period"]["S"])] = item
        return items

    return scan
