"""write_batch against moto's DynamoDB (in-process): validation and write throughput.

Figures: rows/s validated (parse_event), items/s written for hour batches (BatchWriteItem, 25 a
call) and for month batches (one conditional PutItem each), and the month rerun where every item is
left alone. moto's per-request overhead dominates; on AWS the month path is bound by PutItem
latency (one call per item), the hour/day path by BatchWriteItem latency (one call per 25).
"""

from __future__ import annotations

import os
import time
from typing import Any

BATCH = 1000
ROUNDS = 3


class _Context:
    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def _rows(granularity: str) -> list[dict[str, str]]:
    suffix = {"hour": "2022-01-05T{h:02d}", "month": "2022-01"}[granularity]
    rows = []
    for n in range(BATCH):
        sensor = 90_000_000 + (n if granularity == "month" else n // 24)
        rows.append(
            {
                "customerid": str(1000 + sensor % 97),
                "sensorid_period": f"{sensor}#" + suffix.format(h=n % 24),
                "total_kwh": repr(n * 7 % 100_000 / 100),
                "reading_count": "4",
            }
        )
    return rows


OWNER = "arn:aws:states:us-east-1:123456789012:execution:meterpipe-daily-rollup:bench"


def _event(
    rows: list[dict[str, str]], granularity: str, computed_at: str = "2022-01-06T03:30:00.000Z"
) -> dict[str, Any]:
    return {
        "Items": rows,
        "BatchInput": {
            "granularity": granularity,
            "date": "2022-01-05",
            "execution_arn": OWNER,
            "computed_at": computed_at,
            "query_execution_id": "bench",
        },
    }


def _best_rate(fn: Any, count: int) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return round(count / best)


def run() -> dict[str, Any]:
    # Fake credentials for moto; the handler's per-batch INFO log would drown the figures.
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }.items():
        os.environ.setdefault(name, value)
    import datetime as dt

    import boto3
    from moto import mock_aws

    from handlers import ledger_format
    from handlers.batch_event import parse_event
    from handlers.write_batch import metrics, write_batch
    from meterpipe.tables import LEDGER, ROLLUPS

    hour, month = _event(_rows("hour"), "hour"), _event(_rows("month"), "month")
    figures: dict[str, Any] = {"batch_rows": BATCH, "backend": "moto (in-process)"}
    figures["validate_rows_per_s"] = _best_rate(lambda: parse_event(hour), BATCH)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**ROLLUPS.create_table_params("bench"))
        client.create_table(**LEDGER.create_table_params("bench-ledger"))
        day = {**ledger_format.day_key(dt.date(2022, 1, 5)), ledger_format.EXECUTION: {"S": OWNER}}
        client.put_item(TableName="bench-ledger", Item=day)

        def write(event: dict[str, Any]) -> dict[str, Any]:
            return write_batch(
                event, _Context(), table_name="bench", ledger_table_name="bench-ledger", boto3_client=client
            )

        figures["hour_items_per_s"] = _best_rate(lambda: write(hour), BATCH)
        figures["month_items_per_s"] = _best_rate(lambda: write(month), BATCH)
        older = _event(month["Items"], "month", computed_at="2022-01-06T03:29:59.999Z")
        figures["month_items_left_alone_per_s"] = _best_rate(lambda: write(older), BATCH)
        assert write(older)["kept_newer"] == BATCH
    metrics.clear_metrics()
    return figures
