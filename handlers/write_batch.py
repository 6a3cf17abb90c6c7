"""Lambda ``handlers.write_batch.handler``: one Distributed Map batch of query rows into DynamoDB.

Called by the daily_rollup state machine's EXPRESS child workflow with::

    {"Items": [<query result rows, strings keyed by the CSV header>],
     "BatchInput": {"granularity": "hour"|"day"|"month", "date": "YYYY-MM-DD",
                    "execution_arn": "<ARN>", "computed_at": "<query submission, ISO 8601 UTC ms>",
                    "query_execution_id": "<Athena id>"}}

Before writing, it checks in the ledger that ``execution_arn`` still owns the day (docs/ledger.md,
"Two runs of one day"). Returns ``{"written": n, "granularity": ..., "date": ..., "stored": s,
"kept_newer": k}``: ``written`` counts every row of the batch (``stored`` items now as the batch
has them, plus ``kept_newer`` month items left alone because the table holds one computed later).

Raises :class:`InvalidBatchError` (bad event or rows, nothing written: never retry),
:class:`SupersededError` (another execution owns the day, nothing written: never retry) and
:class:`TimeBudgetExhaustedError` (ran short of time: retry the batch); see ``handlers.errors``.
Environment: ``ROLLUP_TABLE_NAME`` and ``LEDGER_TABLE_NAME`` (required),
``WRITE_BATCH_TIME_RESERVE_MS`` (optional), and Powertools' ``POWERTOOLS_SERVICE_NAME`` /
``POWERTOOLS_METRICS_NAMESPACE``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from handlers import settings
from handlers.backoff import FullJitterBackoff, RemainingTime, TimeBudget
from handlers.batch_event import parse_event
from handlers.errors import InvalidBatchError, SupersededError, TimeBudgetExhaustedError
from handlers.rollup_writer import RollupWriter

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = Logger(service=settings.service_name())
tracer = Tracer(service=settings.service_name())
metrics = Metrics(namespace=settings.metrics_namespace(), service=settings.service_name())

# Metric names (namespace MeterPipe), all counts.
ITEMS_WRITTEN = "ItemsWritten"
MONTH_ITEMS_KEPT_NEWER = "MonthItemsKeptNewer"
UNPROCESSED_ITEM_RETRIES = "UnprocessedItemRetries"
BATCHES_REJECTED = "BatchesRejected"
BATCHES_SUPERSEDED = "BatchesSuperseded"
TIME_BUDGET_EXHAUSTED = "TimeBudgetExhausted"


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return write_batch(event, context)


def write_batch(
    event: Any,
    context: RemainingTime,
    *,
    table_name: str | None = None,
    ledger_table_name: str | None = None,
    boto3_client: DynamoDBClient | None = None,
    sleep: Callable[[float], None] = time.sleep,
    backoff: FullJitterBackoff | None = None,
    time_reserve_ms: int | None = None,
    concurrency: int | None = None,
) -> dict[str, Any]:
    """Validate the whole batch, then write it; explicit arguments win over the environment
    (``concurrency``: DynamoDB calls in flight, RollupWriter's default when None)."""
    try:
        batch = parse_event(event)
    except InvalidBatchError as exc:
        metrics.add_metric(name=BATCHES_REJECTED, unit=MetricUnit.Count, value=1)
        logger.error(
            "batch rejected", extra={"summary": exc.summary, "problems": [vars(p) for p in exc.problems]}
        )
        raise
    granularity, date = batch.input.granularity, batch.input.date.isoformat()
    logger.append_keys(granularity=granularity, date=date, execution=batch.input.execution)
    tracer.put_annotation(key="granularity", value=granularity)
    tracer.put_annotation(key="date", value=date)

    writer = RollupWriter(
        settings.rollup_table_name(table_name),
        TimeBudget.from_context(context, settings.time_reserve_ms(time_reserve_ms)),
        boto3_client=boto3_client,
        backoff=backoff,
        sleep=sleep,
        **({} if concurrency is None else {"concurrency": concurrency}),
    )
    owner = writer.owner_of(settings.ledger_table_name(ledger_table_name), batch.input.date)
    if owner != batch.input.execution_arn:
        metrics.add_metric(name=BATCHES_SUPERSEDED, unit=MetricUnit.Count, value=1)
        holder = f"is owned by {owner}" if owner else "has no record in the ledger"
        logger.warning("batch superseded", extra={"owner": owner})
        raise SupersededError(
            f"{date} {holder}, not by this execution ({batch.input.execution_arn}): a later run claimed "
            f"the day, so this {granularity} batch wrote nothing (a redrive of a superseded run never "
            "writes; run the day again instead)",
            owner=owner,
        )
    try:
        result = writer.write(batch.items, granularity)
    except TimeBudgetExhaustedError as exc:
        metrics.add_metric(name=TIME_BUDGET_EXHAUSTED, unit=MetricUnit.Count, value=1)
        metrics.add_metric(name=UNPROCESSED_ITEM_RETRIES, unit=MetricUnit.Count, value=exc.retried)
        logger.warning("time budget exhausted", extra={"written": exc.written, "pending": exc.pending})
        raise

    metrics.add_metric(name=ITEMS_WRITTEN, unit=MetricUnit.Count, value=result.stored)
    metrics.add_metric(name=MONTH_ITEMS_KEPT_NEWER, unit=MetricUnit.Count, value=result.kept_newer)
    metrics.add_metric(name=UNPROCESSED_ITEM_RETRIES, unit=MetricUnit.Count, value=result.retried)
    logger.info("batch written", extra=vars(result))
    return {
        "written": result.items,
        "granularity": granularity,
        "date": date,
        "stored": result.stored,
        "kept_newer": result.kept_newer,
    }
