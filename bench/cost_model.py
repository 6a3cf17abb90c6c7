"""What one day of meterpipe costs on AWS, and how long it takes, at 10 thousand, 1 million and 10
million meters: from the counts a local run measures (per meter-day) and AWS list prices kept here
as dated constants. docs/cost-and-scale.md is this script's output with the reasoning around it.

    python -m bench.cost_model                      # counts from bench/results/pipeline.json
    python -m bench.cost_model --counts FILE.json   # another run's
    python -m bench.cost_model --batch 2000 --concurrency 50 --skip-unchanged 0.9   # the levers

Counts come from the pipeline benchmark's run (``bench_pipeline``: items per granularity, bytes
each query scanned, batches, state transitions, objects read, log bytes), divided by the meters of
that run: everything here grows linearly with meters, except the month query's scan, which grows
with the day of the month (the average over a month is used: (days + 1) / 2 days of readings).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"

# -- AWS list prices, us-east-1, as read on the date given (USD) ----------------------------------


@dataclass(frozen=True)
class Price:
    usd: float
    per: str
    source: str
    read: str = "2026-12-03"


PRICES = {
    "athena_tb": Price(
        5.00,
        "TB scanned (rounded up to the MB, 10 MB minimum a query)",
        "https://aws.amazon.com/athena/pricing/ (as quoted by https://athena.guide/articles/athena-basics-pricing-model)",
    ),
    "dynamodb_wru": Price(
        0.625 / 1e6,
        "write request unit, on-demand (1 KB)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/ (the 50% cut of 2024-11-01)",
    ),
    "dynamodb_rru": Price(
        0.125 / 1e6,
        "read request unit, on-demand (4 KB, strongly consistent)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "sfn_transition": Price(
        0.025 / 1000,
        "Standard state transition (each Distributed Map child counts one)",
        "https://aws.amazon.com/step-functions/pricing/ ; https://docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html",
    ),
    "express_request": Price(
        1.00 / 1e6, "Express workflow request", "https://aws.amazon.com/step-functions/pricing/"
    ),
    "express_gb_second": Price(
        0.00001667,
        "Express GB-second (64 MB chunks, 100 ms rounding)",
        "https://aws.amazon.com/step-functions/pricing/",
    ),
    "lambda_request": Price(0.20 / 1e6, "Lambda request", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_second": Price(
        0.0000166667,
        "Lambda GB-second, x86_64 (first 6 billion a month)",
        "https://aws.amazon.com/lambda/pricing/",
    ),
    "s3_get": Price(0.0004 / 1000, "S3 GET", "https://aws.amazon.com/s3/pricing/"),
    "s3_put": Price(0.005 / 1000, "S3 PUT, COPY, POST or LIST", "https://aws.amazon.com/s3/pricing/"),
    "logs_gb": Price(0.50, "CloudWatch Logs GB ingested", "https://aws.amazon.com/cloudwatch/pricing/"),
}

# -- default quotas and settings that bound the wall time ----------------------------------------

QUOTAS = {
    "dynamodb_table_wru_per_s": (
        40_000,
        "on-demand table write throughput, default quota (raisable)",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html",
    ),
    "lambda_concurrency": (
        1_000,
        "concurrent executions per account and Region, default",
        "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    ),
    "map_children": (
        10_000,
        "Distributed Map child executions in parallel, most it allows",
        "https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html",
    ),
}

# AWS-side assumptions (not measurable here; stated so they can be changed): a BatchWriteItem of 25
# small items answers in about 15 ms from a Lambda in the same Region; write_batch keeps
# WRITE_CONCURRENCY calls in flight (handlers/rollup_writer.py); an Express child lives as long as its
# Lambda plus 100 ms.
BATCH_WRITE_CALL_SECONDS = 0.015
WRITE_CONCURRENCY = 8
EXPRESS_OVERHEAD_SECONDS = 0.1
LAMBDA_MEMORY_GB = 0.5  # DEFAULT_LAMBDA_MEMORY_MB
MONTH_DAYS = 31


@dataclass(frozen=True)
class Counts:
    """One meter's day, as a local run measured it (hourly readings unless said)."""

    readings: float = 24.0
    lake_bytes: float = 650.0  # its readings' share of the lake (27 bytes a reading)
    items: float = 26.0  # 24 hour items, 1 day, 1 month
    item_wru: float = 1.0  # items under 1 KB
    # month items: conditional puts in TransactWriteItems, which cost twice the WRUs of a plain write
    transact_items: float = 1.0
    day_queries_scan_bytes: float = 3 * 650.0  # queries reading one day (validation, hourly, daily)
    month_query_scan_bytes: float = 650.0  # the month query's, per day of readings it reads
    queries: int = 4  # Athena queries a day (fixed, whatever the size)
    objects_per_day: float = 1 / 1000  # lake files a meter's day adds (1,000 sensors a file)
    transitions_fixed: int = 60  # daily_rollup's own transitions
    # the ledger's WRUs a day (fixed): claim, validation, writes started, success: four transactions
    # of three items (day, attempt, execution record), two WRUs an item in a transaction
    ledger_writes: int = 24
    log_bytes_per_batch: float = 1200.0
    handler_seconds_per_item: float = 0.0002  # write_batch's own CPU per item, measured locally

    @classmethod
    def from_run(cls, path: Path) -> Counts:
        document = json.loads(path.read_text())
        measured: dict[str, Any] = document.get("figures", document).get("counts_per_meter_day", {})
        return replace(cls(), **{k: v for k, v in measured.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Settings:
    batch: int = 1000  # MaxItemsPerBatch
    concurrency: int = 20  # MaxConcurrency of each of the three Distributed Maps
    table_wru_per_s: int = 40_000
    write_concurrency: int = WRITE_CONCURRENCY  # DynamoDB calls a Lambda keeps in flight
    skip_unchanged: float = 0.0  # share of items whose value did not change since the last run (not written)
    compression: float = (
        1.0  # lake bytes scanned / CSV bytes (gzip about 0.3; Parquet, reading 3 of 6 columns, about 0.15)
    )


def estimate(meters: int, counts: Counts, settings: Settings) -> dict[str, Any]:
    written = meters * counts.items * (1 - settings.skip_unchanged)
    # WRUs an item on average: the month items' transactions take two WRUs an item
    item_wrus = counts.item_wru * (counts.items + counts.transact_items) / counts.items
    batches = math.ceil(meters * counts.items / settings.batch)
    calls_per_batch = math.ceil(settings.batch * (1 - settings.skip_unchanged) / 25)
    lambda_seconds = (
        math.ceil(calls_per_batch / settings.write_concurrency) * BATCH_WRITE_CALL_SECONDS
        + settings.batch * counts.handler_seconds_per_item
    )
    month_days = (MONTH_DAYS + 1) / 2
    scanned = (
        meters
        * settings.compression
        * (counts.day_queries_scan_bytes + month_days * counts.month_query_scan_bytes)
    )
    per_query_floor = counts.queries * 10 * 1024**2
    express_gb_s = batches * math.ceil((lambda_seconds + EXPRESS_OVERHEAD_SECONDS) * 10) / 10 * 0.0625
    objects = meters * counts.objects_per_day
    cost = {
        "Athena (bytes scanned)": max(scanned, per_query_floor) / 1024**4 * PRICES["athena_tb"].usd,
        "DynamoDB writes (WRU)": (written * item_wrus + counts.ledger_writes) * PRICES["dynamodb_wru"].usd
        # write_batch reads the day record before each batch (day ownership): one RRU
        + batches * PRICES["dynamodb_rru"].usd,
        "Step Functions (transitions, one per Map child)": (counts.transitions_fixed + batches)
        * PRICES["sfn_transition"].usd,
        "Express children (requests, GB-s)": batches * PRICES["express_request"].usd
        + express_gb_s * PRICES["express_gb_second"].usd,
        "Lambda (requests, GB-s)": batches
        * (PRICES["lambda_request"].usd + lambda_seconds * LAMBDA_MEMORY_GB * PRICES["lambda_gb_second"].usd),
        "S3 requests": (objects * (3 + month_days) + 4 * counts.queries) * PRICES["s3_get"].usd
        + 3 * counts.queries * PRICES["s3_put"].usd,
        "CloudWatch Logs": batches * counts.log_bytes_per_batch / 1024**3 * PRICES["logs_gb"].usd,
    }
    # Wall time of the writes: the hour items dominate (24 of 26); their Map runs `concurrency`
    # Lambdas at once, each with write_concurrency calls of 25 items in flight; the day and month
    # Maps run beside it.
    per_lambda = settings.write_concurrency * 25 / BATCH_WRITE_CALL_SECONDS
    limits = {
        "Distributed Map MaxConcurrency": settings.concurrency * per_lambda,
        "DynamoDB table write quota": settings.table_wru_per_s / item_wrus,
        "Lambda concurrency": QUOTAS["lambda_concurrency"][0] * per_lambda,
    }
    binding = min(limits, key=lambda name: limits[name])
    rate = limits[binding]
    hour_items = written * 24 / 26
    return {
        "meters": meters,
        "items written": written,
        "batches": batches,
        "scanned GB": scanned / 1024**3,
        "cost": cost,
        "total": sum(cost.values()),
        "write seconds": hour_items / rate,
        "write items/s": rate,
        "binds first": binding,
    }


def render(rows: list[dict[str, Any]]) -> str:
    names = list(rows[0]["cost"])
    lines = [
        "| | " + " | ".join(f"{r['meters']:,} meters" for r in rows) + " |",
        "|---|" + "---:|" * len(rows),
    ]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(f"${r['cost'][name]:,.2f}" for r in rows) + " |")
    lines.append("| **total a day** | " + " | ".join(f"**${r['total']:,.2f}**" for r in rows) + " |")
    lines.append("| per meter-day | " + " | ".join(f"${r['total'] / r['meters']:.6f}" for r in rows) + " |")
    lines.append("| items written | " + " | ".join(f"{r['items written']:,.0f}" for r in rows) + " |")
    lines.append("| Athena GiB scanned | " + " | ".join(f"{r['scanned GB']:,.1f}" for r in rows) + " |")
    lines.append(
        "| writes' wall time | " + " | ".join(f"{r['write seconds'] / 60:,.1f} min" for r in rows) + " |"
    )
    lines.append("| what binds first | " + " | ".join(r["binds first"] for r in rows) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cost_model", description=__doc__)
    parser.add_argument("--counts", type=Path, default=RESULTS / "pipeline.json")
    parser.add_argument("--meters", type=int, nargs="*", default=[10_000, 1_000_000, 10_000_000])
    for name, value in Settings().__dict__.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = parser.parse_args(argv)
    counts = Counts.from_run(args.counts) if args.counts.exists() else Counts()
    settings = Settings(**{name: getattr(args, name) for name in Settings().__dict__})
    print(f"counts per meter-day: {counts}\nsettings: {settings}\n")
    print(render([estimate(m, counts, settings) for m in args.meters]))


if __name__ == "__main__":
    main()
