"""The writer's retry, backoff and time-budget logic, against a scripted stand-in for the client."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from handlers.backoff import FullJitterBackoff, TimeBudget
from handlers.errors import TimeBudgetExhaustedError
from handlers.rollup_items import Computation, RollupItem
from handlers.rollup_writer import RollupWriter

TABLE = "Rollups"
COMPUTATION = Computation("2022-01-06T03:30:06.123Z", "q-1", "run-1")


class FakeClock:
    """A Lambda's remaining time that only the fake sleep (and each call's cost) uses up."""

    def __init__(self, remaining_ms: int, call_cost_ms: int = 0) -> None:
        self.remaining = remaining_ms
        self.call_cost_ms = call_cost_ms
        self.sleeps: list[float] = []

    def remaining_ms(self) -> int:
        return self.remaining

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.remaining -= round(seconds * 1000)


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "Operation")


def cancelled(reasons: list[str]) -> ClientError:
    """A cancelled transaction, with DynamoDB's reason for each item in order ("None": no error)."""
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": [{"Code": code} for code in reasons],
        },
        "TransactWriteItems",
    )


class ScriptedClient:
    """BatchWriteItem leaves the scripted number of items unprocessed (or raises the scripted error);
    TransactWriteItems fails in turn as scripted (an error code for the whole call, or a list of
    cancellation reasons, one an item), then succeeds."""

    def __init__(
        self,
        clock: FakeClock,
        unprocessed: list[int | str] | None = None,
        transact_errors: list[str | list[str]] | None = None,
    ) -> None:
        self.clock = clock
        self.unprocessed = list(unprocessed or [])
        self.transact_errors = list(transact_errors or [])
        self.batches: list[list[str]] = []
        self.transactions: list[list[dict[str, Any]]] = []

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        self.clock.remaining -= self.clock.call_cost_ms
        (requests,) = RequestItems.values()
        self.batches.append([r["PutRequest"]["Item"]["SensorID-Period"]["S"] for r in requests])
        outcome = self.unprocessed.pop(0) if self.unprocessed else 0
        if isinstance(outcome, str):
            raise client_error(outcome)
        left = requests[len(requests) - outcome :] if outcome else []
        return {"UnprocessedItems": {TABLE: left} if left else {}}

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self.clock.remaining -= self.clock.call_cost_ms
        self.transactions.append([action["Put"] for action in TransactItems])
        if self.transact_errors:
            error = self.transact_errors.pop(0)
            raise client_error(error) if isinstance(error, str) else cancelled(error)
        return {}


def keys(puts: list[dict[str, Any]]) -> list[str]:
    return [put["Item"]["SensorID-Period"]["S"] for put in puts]


def items(n: int, granularity: str = "hour") -> list[RollupItem]:
    suffix = {"hour": "2022-01-05T18", "day": "2022-01-05", "month": "2022-01"}[granularity]
    return [
        RollupItem(1, f"{s}#{suffix}", Decimal("1.5"), granularity, 4, COMPUTATION)  # type: ignore[arg-type]
        for s in range(n)
    ]


def writer(client: ScriptedClient, clock: FakeClock, reserve_ms: int = 0) -> RollupWriter:
    return RollupWriter(
        TABLE,
        TimeBudget(clock.remaining_ms, reserve_ms),
        boto3_client=client,  # type: ignore[arg-type]
        backoff=FullJitterBackoff(base_s=0.1, cap_s=1.0, uniform=lambda: 0.5),
        sleep=clock.sleep,
        concurrency=1,  # the scripted calls are answered in order
    )


def sent(batches: list[list[str]]) -> list[int]:
    return [len(b) for b in batches]


def test_hour_items_go_25_a_call() -> None:
    clock = FakeClock(60_000)
    client = ScriptedClient(clock)
    result = writer(client, clock).write(items(60), "hour")
    assert sent(client.batches) == [25, 25, 10]
    assert (result.items, result.stored, result.kept_newer, result.calls, result.retried) == (60, 60, 0, 3, 0)
    assert clock.sleeps == []


def test_unprocessed_items_are_sent_again_after_a_growing_jittered_wait() -> None:
    clock = FakeClock(60_000)
    client = ScriptedClient(clock, unprocessed=[5, 5, 0, 3])
    result = writer(client, clock).write(items(80), "day")
    # The unprocessed items lead the next call, topped up with fresh ones.
    assert sent(client.batches) == [25, 25, 25, 15, 3]
    assert client.batches[1][:5] == client.batches[0][20:]
    assert sorted({key for batch in client.batches for key in batch}) == sorted(
        i.sensor_period for i in items(80)
    )
    # Full jitter with the uniform draw pinned to 0.5: 0.5 * min(1.0, 0.1 * 2**attempt); a clean call resets.
    assert clock.sleeps == [0.05, 0.1, 0.05]
    assert (result.stored, result.retried, result.waited_s) == (80, 13, 0.2)


def test_a_batch_call_refused_for_throttling_is_sent_again_whole() -> None:
    clock = FakeClock(60_000)
    client = ScriptedClient(
        clock, unprocessed=["ProvisionedThroughputExceededException", "ThrottlingException"]
    )
    result = writer(client, clock).write(items(10), "hour")
    assert sent(client.batches) == [10, 10, 10]
    assert (result.stored, result.retried) == (10, 20)


def test_any_other_client_error_propagates() -> None:
    clock = FakeClock(60_000)
    client = ScriptedClient(clock, unprocessed=["ResourceNotFoundException"])
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        writer(client, clock).write(items(3), "hour")


def test_the_backoff_stops_at_its_cap() -> None:
    delays = [FullJitterBackoff(base_s=0.05, cap_s=5.0, uniform=lambda: 1.0).delay_s(a) for a in range(10)]
    assert delays == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]
    assert FullJitterBackoff(uniform=lambda: 1.0).delay_s(10_000) == 5.0


def test_full_jitter_draws_anywhere_from_zero_to_the_ceiling() -> None:
    assert FullJitterBackoff(base_s=0.2, uniform=lambda: 0.0).delay_s(3) == 0.0
    assert FullJitterBackoff(base_s=0.2, uniform=lambda: 0.25).delay_s(3) == pytest.approx(0.4)


def test_no_call_starts_once_only_the_reserve_is_left() -> None:
    clock = FakeClock(4_000)
    client = ScriptedClient(clock)
    with pytest.raises(TimeBudgetExhaustedError) as caught:
        writer(client, clock, reserve_ms=5_000).write(items(3), "hour")
    assert client.batches == []
    assert str(caught.value) == (
        "time budget exhausted: wrote 0 of 3 items, 3 not written; 4000 ms of the Lambda's time left, "
        "5000 ms kept in reserve; after 0 DynamoDB calls and 0 items retried. "
        "Every write is idempotent: retrying the batch is safe"
    )
    assert (caught.value.written, caught.value.pending) == (0, 3)


def test_the_budget_runs_out_between_calls() -> None:
    clock = FakeClock(5_250, call_cost_ms=100)
    client = ScriptedClient(clock)
    with pytest.raises(TimeBudgetExhaustedError) as caught:
        writer(client, clock, reserve_ms=5_000).write(items(100), "hour")
    # 250 ms spendable, 100 ms a call: three calls start, the fourth does not.
    assert sent(client.batches) == [25, 25, 25]
    assert (caught.value.written, caught.value.pending) == (75, 25)


def test_a_backoff_that_would_overrun_the_budget_ends_the_batch_instead() -> None:
    clock = FakeClock(5_120)
    client = ScriptedClient(clock, unprocessed=[5, 5, 5, 5])
    with pytest.raises(TimeBudgetExhaustedError) as caught:
        writer(client, clock, reserve_ms=5_000).write(items(25), "hour")
    # Waits of 50 and 100 ms: the first fits the 120 ms spendable, the second does not.
    assert clock.sleeps == [0.05]
    assert str(caught.value).startswith(
        "time budget exhausted before a backoff of 100 ms (retry 2): wrote 20 of 25 items, 5 not written; "
        "5070 ms of the Lambda's time left, 5000 ms kept in reserve; "
        "after 2 DynamoDB calls and 10 items retried."
    )
    assert (caught.value.written, caught.value.pending, caught.value.retried) == (20, 5, 10)


def test_month_items_are_conditional_puts_on_the_time_their_query_ran_25_a_transaction() -> None:
    clock = FakeClock(60_000)
    client = ScriptedClient(clock)
    month = items(60, "month")
    result = writer(client, clock).write(month, "month")
    assert client.batches == []
    assert [len(t) for t in client.transactions] == [25, 25, 10]
    assert client.transactions[0][0] == {
        "TableName": TABLE,
        "Item": month[0].dynamodb_item(),
        "ConditionExpression": ("attribute_not_exists(#at) OR #at < :at OR (#at = :at AND #query <= :query)"),
        "ExpressionAttributeNames": {"#at": "ComputedAt", "#query": "QueryExecutionId"},
        "ExpressionAttributeValues": {":at": {"S": "2022-01-06T03:30:06.123Z"}, ":query": {"S": "q-1"}},
    }
    assert (result.items, result.stored, result.kept_newer, result.calls) == (60, 60, 0, 3)


def test_a_cancelled_transaction_keeps_the_newer_items_and_sends_the_others_again_at_once() -> None:
    clock = FakeClock(60_000)
    failed = {2, 7, 24}  # the table holds a later computation of these three
    reasons = ["ConditionalCheckFailed" if i in failed else "None" for i in range(25)]
    client = ScriptedClient(clock, transact_errors=[reasons])
    month = items(30, "month")

    result = writer(client, clock).write(month, "month")

    # The 22 sent again lead the next transaction, topped up to 25 with items not yet sent.
    sent_again = [m.sensor_period for i, m in enumerate(month[:25]) if i not in failed]
    assert [keys(t) for t in client.transactions[1:]] == [
        [*sent_again, *(m.sensor_period for m in month[25:28])],
        [m.sensor_period for m in month[28:]],
    ]
    assert (result.items, result.stored, result.kept_newer, result.calls, result.retried) == (30, 27, 3, 3, 0)
    assert clock.sleeps == []


def test_items_refused_for_a_conflict_or_throttling_are_sent_again_after_a_backoff() -> None:
    clock = FakeClock(60_000)
    reasons = ["None", "TransactionConflict", "ConditionalCheckFailed", "ThrottlingError"]
    client = ScriptedClient(clock, transact_errors=[reasons, "ThrottlingException"])
    month = items(4, "month")

    result = writer(client, clock).write(month, "month")

    assert [keys(t) for t in client.transactions] == [keys([{"Item": m.dynamodb_item()} for m in month])] + [
        [month[0].sensor_period, month[1].sensor_period, month[3].sensor_period]
    ] * 2
    assert clock.sleeps == [0.05, 0.1]
    assert (result.stored, result.kept_newer, result.retried, result.calls) == (3, 1, 6, 3)


def test_a_transaction_cancelled_with_no_item_settled_is_sent_again_after_a_backoff() -> None:
    clock = FakeClock(60_000)
    client = ScriptedClient(clock, transact_errors=[["None", "None"]])
    result = writer(client, clock).write(items(2, "month"), "month")
    assert clock.sleeps == [0.05]
    assert (result.stored, result.kept_newer, result.retried, result.calls) == (2, 0, 2, 2)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (["None", "ValidationError"], "TransactionCanceledException"),
        ("ValidationException", "ValidationException"),
        (["ConditionalCheckFailed"], "TransactionCanceledException"),
    ],
    ids=["an item refused otherwise", "the whole call refused otherwise", "a reason missing"],
)
def test_a_month_transaction_failing_otherwise_propagates(error: str | list[str], code: str) -> None:
    clock = FakeClock(60_000)
    client = ScriptedClient(clock, transact_errors=[error])
    with pytest.raises(ClientError) as caught:
        writer(client, clock).write(items(2, "month"), "month")
    assert caught.value.response["Error"]["Code"] == code


def test_a_deadline_budget_counts_down_on_its_clock() -> None:
    ticks: Iterator[float] = iter([100.0, 101.5, 104.0])
    budget = TimeBudget.from_deadline(3.0, reserve_ms=500, clock=lambda: next(ticks))
    assert budget.spendable_ms() == 1000
    assert budget.spendable_ms() == -1500


class MeetingClient(ScriptedClient):
    """Every call waits until ``parties`` calls are in flight at once (a barrier): a writer that
    sends one call after another never gets past the first."""

    def __init__(self, clock: FakeClock, parties: int, **script: Any) -> None:
        super().__init__(clock, **script)
        self.barrier = threading.Barrier(parties, timeout=30)
        self.lock = threading.Lock()

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        self.barrier.wait()
        with self.lock:
            return super().batch_write_item(RequestItems)

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self.barrier.wait()
        with self.lock:
            return super().transact_write_items(TransactItems)


def concurrent_writer(client: ScriptedClient, clock: FakeClock, concurrency: int) -> RollupWriter:
    return RollupWriter(
        TABLE,
        TimeBudget(clock.remaining_ms, 0),
        boto3_client=client,  # type: ignore[arg-type]
        backoff=FullJitterBackoff(base_s=0.1, cap_s=1.0, uniform=lambda: 0.5),
        sleep=clock.sleep,
        concurrency=concurrency,
    )


def test_a_batchs_hour_items_are_written_in_parts_side_by_side_25_a_call() -> None:
    clock = FakeClock(60_000)
    client = MeetingClient(clock, parties=4)

    result = concurrent_writer(client, clock, 4).write(items(400), "hour")

    assert sorted(sent(client.batches)) == [25] * 16
    written = sorted(key for batch in client.batches for key in batch)
    assert written == sorted(i.sensor_period for i in items(400))
    assert (result.items, result.stored, result.calls) == (400, 400, 16)


def test_a_batchs_month_transactions_are_sent_side_by_side_and_counted_whole() -> None:
    clock = FakeClock(60_000)
    one_kept = ["ConditionalCheckFailed"] + ["None"] * 24
    client = MeetingClient(clock, parties=4, transact_errors=[one_kept] * 4)

    result = concurrent_writer(client, clock, 4).write(items(400, "month"), "month")

    # Four parts of 100 at once; each part's first transaction keeps one newer item, and the part
    # sends its other 99 in four more.
    assert sorted(len(t) for t in client.transactions) == [24] * 4 + [25] * 16
    assert (result.items, result.stored, result.kept_newer, result.calls) == (400, 396, 4, 20)


def test_parts_that_run_out_of_time_report_the_whole_batchs_counts() -> None:
    clock = FakeClock(60_000)
    client = ScriptedClient(clock, unprocessed=["ThrottlingException"] * 1000)
    writer = concurrent_writer(client, clock, 2)
    writer.budget = TimeBudget(lambda: 150, 0)  # room for the first backoffs only

    with pytest.raises(TimeBudgetExhaustedError, match=r"wrote 0 of 50 items, 50 not written"):
        writer.write(items(50), "hour")


def test_a_part_failing_otherwise_fails_the_batch_with_its_error() -> None:
    clock = FakeClock(60_000)
    client = ScriptedClient(clock, transact_errors=["ValidationException"])

    with pytest.raises(ClientError, match="ValidationException"):
        concurrent_writer(client, clock, 4).write(items(100, "month"), "month")


class LedgerClient:
    """GetItem of the ledger: throttled as scripted, then the day record (or none)."""

    def __init__(self, clock: FakeClock, owner: str | None, errors: list[str] | None = None) -> None:
        self.clock = clock
        self.owner = owner
        self.errors = list(errors or [])
        self.gets: list[dict[str, Any]] = []

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.gets.append(kwargs)
        if self.errors:
            raise client_error(self.errors.pop(0))
        return {"Item": {"Execution": {"S": self.owner}}} if self.owner else {}


def test_the_owner_of_a_day_is_read_consistently_from_its_ledger_record_retrying_throttles() -> None:
    clock = FakeClock(60_000)
    client = LedgerClient(clock, "arn:owner", errors=["ProvisionedThroughputExceededException"])
    owner = writer(client, clock).owner_of("Ledger", dt.date(2022, 1, 5))  # type: ignore[arg-type]
    assert owner == "arn:owner"
    assert clock.sleeps == [0.05]
    assert client.gets[-1] == {
        "TableName": "Ledger",
        "Key": {"Pipeline": {"S": "daily_rollup"}, "Key": {"S": "2022-01-05"}},
        "ConsistentRead": True,
        "ProjectionExpression": "#execution",
        "ExpressionAttributeNames": {"#execution": "Execution"},
    }
    assert writer(LedgerClient(clock, None), clock).owner_of("Ledger", dt.date(2022, 1, 5)) is None  # type: ignore[arg-type]
