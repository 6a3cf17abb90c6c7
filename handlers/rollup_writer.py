"""Writing rollup items into DynamoDB.

Hour and day items: BatchWriteItem, 25 items a call, ``UnprocessedItems`` (and whole calls
refused for throttling) sent again with backoff until all are written or the time budget runs out.

Month items are written by every day's run of their month, concurrently during a backfill: an item
is replaced by any result computed later (``ComputedAt``, the query's submission time; ties by
``QueryExecutionId``), up or down, never by one computed earlier, whatever order the runs finish
in (docs/ledger.md). BatchWriteItem cannot be conditional, so month items go 25 a call as the
conditional puts of a TransactWriteItems. A transaction is all or nothing: when a condition fails,
DynamoDB cancels it and gives a reason for each item, in order. An item whose condition failed is
not an error (the stored item is newer and stays); the others are sent again in the next call, and
items refused for a conflict with another transaction or for throttling are sent again after a
backoff. One transaction of 25 costs the endpoint a fifth and the Lambda a ninth of 25 PutItems
(measured on localcloud), for twice the write units on AWS (a transactional write costs two WRUs):
month items are one in 26 of a day's items. Hour and day items are written only by the run that
owns their day (checked in the ledger before each batch, :meth:`RollupWriter.owner_of`), so plain
batch writes keep them in order.

Every write is idempotent (a retried batch puts the same items with the same computation), so a
batch retried by the state machine after a TimeBudgetExhaustedError gives the same table.

A batch's items are split into ``concurrency`` parts written side by side, each part as above: a
call waits on DynamoDB far longer than it costs the Lambda, and items of one batch never share a key,
so their order does not matter. With 1,000 month items a batch, one PutItem after another took 8 s
on localcloud (and about as long on AWS at ~10 ms a call); eight at a time, about an eighth.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from handlers import ledger_format as ledger
from handlers.backoff import FullJitterBackoff, TimeBudget
from handlers.errors import TimeBudgetExhaustedError
from handlers.rollup_format import COMPUTED_AT, QUERY_EXECUTION_ID, Granularity
from handlers.rollup_items import RollupItem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import PutTypeDef, WriteRequestTypeDef

T = TypeVar("T")  # what _send_in_chunks sends: BatchWriteItem's requests, or month items

MAX_BATCH_WRITE: Final = 25  # BatchWriteItem's limit of requests per call
# Month items a TransactWriteItems (AWS takes up to 100): the larger the transaction, the more items
# one stale item or one conflict sends round again.
MAX_TRANSACTION: Final = 25
WRITE_CONCURRENCY: Final = 8  # DynamoDB calls one batch keeps in flight

# Whole-call refusals that mean "slow down", retried with the same backoff as UnprocessedItems.
THROTTLING_ERRORS: Final = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
TRANSACTION_CANCELED: Final = "TransactionCanceledException"
# A cancelled transaction's reason for one item (CancellationReasons, in the request's order).
REASON_NONE: Final = frozenset({"None", ""})  # nothing wrong with this item: send it again
REASON_CONDITION_FAILED: Final = "ConditionalCheckFailed"  # the stored item is newer: keep it
# Sent again after a backoff: another transaction held the item, or the table was throttled.
REASONS_SLOW_DOWN: Final = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)
# A call that got no answer in time, once botocore's own retries are spent (DynamoDB or the network
# slow for a while): retried with the same backoff, within the time budget.
TRANSIENT_CONNECTION_ERRORS: Final = (BotoConnectionError, HTTPClientError)

# Month items: written only over an item computed earlier (or none at all, or one from before items
# recorded their computation). The same computation again (a retried batch) lands too.
MONTH_CONDITION: Final = "attribute_not_exists(#at) OR #at < :at OR (#at = :at AND #query <= :query)"

# Short timeouts keep one stuck call from eating the Lambda's remaining time; botocore's standard
# retry mode still retries transient network and 5xx errors a few times. No client-side parameter
# validation: every request is built here from rows parse_event has checked, and DynamoDB checks it
# again (a malformed one fails as its ValidationException, which is never retried either); the
# check was the largest part of the Lambda's own CPU after the HTTP call itself.
_CLIENT_CONFIG: Final = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
    max_pool_connections=WRITE_CONCURRENCY,
    parameter_validation=False,
)


@cache
def default_client() -> DynamoDBClient:
    """The DynamoDB client used when none is given: built once per Lambda container, on first use."""
    return boto3.client("dynamodb", config=_CLIENT_CONFIG)


@dataclass(frozen=True)
class WriteResult:
    """What one batch's writes did."""

    items: int  # rows of the batch: stored + kept_newer
    stored: int  # items now in the table as the batch has them
    kept_newer: int  # month items left alone: the table holds a total computed later
    calls: int  # DynamoDB calls made
    retried: int  # items sent again (unprocessed or throttled)
    waited_s: float  # time spent in backoff


class RollupWriter:
    """Writes one batch of rollup items into one table."""

    def __init__(
        self,
        table_name: str,
        budget: TimeBudget,
        *,
        boto3_client: DynamoDBClient | None = None,
        backoff: FullJitterBackoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        concurrency: int = WRITE_CONCURRENCY,
    ) -> None:
        self.table_name = table_name
        self.budget = budget
        self.client = boto3_client if boto3_client is not None else default_client()
        self.backoff = backoff or FullJitterBackoff()
        self.sleep = sleep
        self.concurrency = max(1, concurrency)

    def write(self, items: Sequence[RollupItem], granularity: Granularity) -> WriteResult:
        month = granularity == "month"
        write_part = self._put_if_not_older if month else self._batch_write
        parts = _parts(items, self.concurrency, MAX_TRANSACTION if month else MAX_BATCH_WRITE)
        progresses = [_Progress(total=len(part)) for part in parts]
        if len(parts) == 1:
            write_part(parts[0], progresses[0])
            return progresses[0].result()
        with ThreadPoolExecutor(max_workers=len(parts), thread_name_prefix="rollup-writer") as pool:
            futures = [pool.submit(write_part, *job) for job in zip(parts, progresses, strict=True)]
        errors = [error for future in futures if (error := future.exception()) is not None]
        progress = _Progress.merged(progresses)
        if not errors:
            return progress.result()
        other = next((e for e in errors if not isinstance(e, TimeBudgetExhaustedError)), None)
        if other is not None:
            raise other
        raise self._exhausted(progress, "") from errors[0]  # the whole batch's counts

    def _batch_write(self, items: Sequence[RollupItem], progress: _Progress) -> None:
        requests: list[WriteRequestTypeDef] = [
            {"PutRequest": {"Item": item.dynamodb_item()}} for item in items
        ]

        def send(chunk: list[WriteRequestTypeDef]) -> tuple[list[WriteRequestTypeDef], bool]:
            try:
                response = self.client.batch_write_item(RequestItems={self.table_name: chunk})
                # The response's types are the "output" twins of the request's: same shape.
                unprocessed = cast(
                    "list[WriteRequestTypeDef]",
                    response.get("UnprocessedItems", {}).get(self.table_name, []),
                )
            except (ClientError, *TRANSIENT_CONNECTION_ERRORS) as exc:
                if not _slow_down(exc):
                    raise
                unprocessed = chunk  # none written, or some: every write is idempotent
            progress.stored += len(chunk) - len(unprocessed)
            return unprocessed, bool(unprocessed)

        self._send_in_chunks(requests, MAX_BATCH_WRITE, send, progress)

    def _put_if_not_older(self, items: Sequence[RollupItem], progress: _Progress) -> None:
        def send(chunk: list[RollupItem]) -> tuple[list[RollupItem], bool]:
            try:
                self.client.transact_write_items(
                    TransactItems=[{"Put": self._conditional_put(item)} for item in chunk]
                )
            except (ClientError, *TRANSIENT_CONNECTION_ERRORS) as exc:
                if isinstance(exc, ClientError) and _error_code(exc) == TRANSACTION_CANCELED:
                    return self._cancelled(chunk, exc, progress)
                if _slow_down(exc):
                    return chunk, True  # nothing written: a transaction is all or nothing
                raise
            progress.stored += len(chunk)
            return [], False

        self._send_in_chunks(list(items), MAX_TRANSACTION, send, progress)

    def _send_in_chunks(
        self,
        pending: list[T],
        size: int,
        send: Callable[[list[T]], tuple[list[T], bool]],
        progress: _Progress,
    ) -> None:
        """``send`` the requests ``size`` at a time until none is left: it returns those to send
        again (first in the next call) and whether to back off before it; a call that needs none
        resets the backoff. Each call and backoff is within the time budget."""
        attempt = 0
        while pending:
            chunk, rest = pending[:size], pending[size:]
            self._check_budget(progress)
            progress.calls += 1
            again, slow = send(chunk)
            pending = [*again, *rest]
            if slow:
                progress.retried += len(again)
                self._wait(attempt, progress)
                attempt += 1
            else:
                attempt = 0

    def _conditional_put(self, item: RollupItem) -> PutTypeDef:
        return {
            "TableName": self.table_name,
            "Item": item.dynamodb_item(),
            "ConditionExpression": MONTH_CONDITION,
            "ExpressionAttributeNames": {"#at": COMPUTED_AT, "#query": QUERY_EXECUTION_ID},
            "ExpressionAttributeValues": {
                ":at": {"S": item.computation.computed_at},
                ":query": {"S": item.computation.query_execution_id},
            },
        }

    @staticmethod
    def _cancelled(
        chunk: list[RollupItem], exc: ClientError, progress: _Progress
    ) -> tuple[list[RollupItem], bool]:
        """A cancelled transaction, item by item: what to send again, and whether after a backoff.
        Items whose condition failed are counted as kept; any other reason fails the batch."""
        reasons = cast("list[dict[str, Any]]", exc.response.get("CancellationReasons") or [])
        if len(reasons) != len(chunk):
            raise exc  # no reason for each item: nothing tells which to keep
        again: list[RollupItem] = []
        slow = False
        for item, reason in zip(chunk, reasons, strict=True):
            code = str(reason.get("Code") or "")
            if code == REASON_CONDITION_FAILED:
                progress.kept_newer += 1
            elif code in REASON_NONE or code in REASONS_SLOW_DOWN:
                again.append(item)
                slow = slow or code in REASONS_SLOW_DOWN
            else:
                raise exc
        # Cancelled with no item settled and no reason to wait given: never resend the very same
        # transaction at once, in a loop.
        return again, slow or len(again) == len(chunk)

    def owner_of(self, ledger_table: str, day: dt.date) -> str | None:
        """The execution ARN that owns ``day`` in the ledger (its day record's ``Execution``), read
        consistently; None when the ledger has no record of the day. Throttling and calls that get
        no answer are retried with the same backoff as the writes, within the time budget."""
        progress = _Progress(total=0)
        attempt = 0
        while True:
            self._check_budget(progress)
            try:
                response = self.client.get_item(
                    TableName=ledger_table,
                    Key=ledger.day_key(day),
                    ConsistentRead=True,
                    ProjectionExpression="#execution",
                    ExpressionAttributeNames={"#execution": ledger.EXECUTION},
                )
            except (ClientError, *TRANSIENT_CONNECTION_ERRORS) as exc:
                if not _slow_down(exc):
                    raise
                self._wait(attempt, progress)
                attempt += 1
                continue
            owner = response.get("Item", {}).get(ledger.EXECUTION, {}).get("S")
            return str(owner) if owner is not None else None

    def _check_budget(self, progress: _Progress) -> None:
        if self.budget.spendable_ms() <= 0:
            raise self._exhausted(progress, "")

    def _wait(self, attempt: int, progress: _Progress) -> None:
        delay = self.backoff.delay_s(attempt)
        if delay * 1000 >= self.budget.spendable_ms():
            raise self._exhausted(
                progress, f" before a backoff of {delay * 1000:.0f} ms (retry {attempt + 1})"
            )
        progress.waited_s += delay
        self.sleep(delay)

    def _exhausted(self, progress: _Progress, when: str) -> TimeBudgetExhaustedError:
        done = progress.stored + progress.kept_newer
        pending = progress.total - done
        return TimeBudgetExhaustedError(
            f"time budget exhausted{when}: wrote {done} of {progress.total} items, {pending} not written; "
            f"{self.budget.remaining_ms()} ms of the Lambda's time left, {self.budget.reserve_ms} ms kept "
            f"in reserve; after {progress.calls} DynamoDB calls and {progress.retried} items retried. "
            "Every write is idempotent: retrying the batch is safe",
            written=done,
            pending=pending,
            retried=progress.retried,
        )


@dataclass
class _Progress:
    total: int
    stored: int = 0
    kept_newer: int = 0
    calls: int = 0
    retried: int = 0
    waited_s: float = 0.0

    @classmethod
    def merged(cls, parts: Sequence[_Progress]) -> _Progress:
        return cls(
            total=sum(p.total for p in parts),
            stored=sum(p.stored for p in parts),
            kept_newer=sum(p.kept_newer for p in parts),
            calls=sum(p.calls for p in parts),
            retried=sum(p.retried for p in parts),
            waited_s=sum(p.waited_s for p in parts),
        )

    def result(self) -> WriteResult:
        return WriteResult(
            items=self.total,
            stored=self.stored,
            kept_newer=self.kept_newer,
            calls=self.calls,
            retried=self.retried,
            waited_s=round(self.waited_s, 3),
        )


def _parts(items: Sequence[RollupItem], count: int, unit: int) -> list[Sequence[RollupItem]]:
    """At most ``count`` consecutive parts, each a whole number of ``unit`` items (but the last)."""
    units = -(-len(items) // unit)
    per = max(1, -(-units // count)) * unit
    return [items[start : start + per] for start in range(0, len(items), per)] or [items]


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _slow_down(exc: Exception) -> bool:
    """Whether a failed call means "slow down and try again": a throttling refusal, or no answer."""
    if isinstance(exc, ClientError):
        return _error_code(exc) in THROTTLING_ERRORS
    return isinstance(exc, TRANSIENT_CONNECTION_ERRORS)
