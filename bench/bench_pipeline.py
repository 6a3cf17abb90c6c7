"""One day through daily_rollup on localcloud at 1,000, 10,000 and 100,000 meters with hourly
readings, and 10,000 meters with 15-minute readings: readings/s, items/s and each phase's time,
against raw BatchWriteItem from 4 threads into the same localcloud, half of it just before the day
and half just after.

Phases, read off the execution's history (the states' names say which is which):
- validate: the validation query and the checks before any write;
- query: the three rollup queries (they run side by side: the longest);
- read results: each Distributed Map from its Map Run's start to its first child (the ItemReader
  reading the query's result CSV and batching it): the longest;
- write: from the first child of any Map to the end of the last Map;
- reconcile: Describe*MapRun, Get*QueryStatistics, Summarise*, Reconcile;
- ledger: the states that claim the day and record its outcome.

For each phase, what bounds it (``bench.cpu_use``): the machine's idle share and how busy the
localcloud server process was in the phase's window ("not measured" for a phase too short to
sample).

Also the counts per meter-day that ``bench/cost_model.py`` prices (written to
``bench/results/pipeline.json`` as ``counts_per_meter_day``). ``BENCH_PIPELINE_SIZES`` (comma
separated meters, ``m15`` for 15-minute readings): by default ``1000,10000,10000m15``, and
``1000,10000,100000,10000m15`` with ``BENCH_FULL=1`` (``make bench FULL=1``): the 100,000-meter day
(2.6 M items) alone takes about ten minutes here, more than ``make bench``'s budget leaves.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Any

from bench.cpu_use import Sampler
from bench.localrun import Lake, Local, Run, bracketed, load_day, local_pipeline, run_day
from bench.report import Ratio, Result, full

DAY = dt.date(2024, 1, 5)
MONTH_READER = "month_lines"  # queries/validation.sql's CTE of the month's reading lines
REFERENCE_ITEMS = 30_000  # raw BatchWriteItem windows, both together (a rate: a sample is enough)
# daily_rollup's states by phase (issue 10's definition); a state in none of them is not timed.
PHASE_PATTERNS = {
    # the day's objects listed (the input fingerprint), the validation query, its result judged
    "validate": re.compile(r"^(ListDayObjects|MoreObjects|ValidateReadings|ReadValidation|JudgeReadings)$"),
    "query": re.compile(r"^Run\w*Query$"),
    "reconcile": re.compile(r"MapRun$|QueryStatistics|StatisticsReady|Summarise|^Reconcile$"),
    # the day record read and claimed (waits for another owner included), validation, writes
    # started and the outcome recorded
    "ledger": re.compile(
        r"^(ReadDayRecord|WhoOwnsTheDay|DescribeOwner|OwnerStillRunning|WaitForOwner|ClaimDay"
        r"|PreviousOwnerDone|WaitForPreviousOwner|WaitOutPreviousOwner|DescribePreviousOwner"
        r"|RecordValidation|MarkWritesStarted|RecordSuccess|CutCause|RecordFailure)$"
    ),
}


def sizes() -> list[tuple[int, int]]:
    raw = os.environ.get("BENCH_PIPELINE_SIZES") or (
        "1000,10000,100000,10000m15" if full() else "1000,10000,10000m15"
    )
    found = []
    for token in raw.split(","):
        meters, _, minutes = token.strip().partition("m")
        found.append((int(meters), int(minutes or 60)))
    return found


def map_runs(local: Local, run: Run) -> list[dict[str, Any]]:
    """Each Map Run's start, first child start and end (seconds from the execution's start)."""
    sfn = local.client("stepfunctions")
    start = run.started_at
    found = []
    for event in run.events:
        if event["type"] != "MapRunStarted":
            continue
        arn = event["mapRunStartedEventDetails"]["mapRunArn"]
        described = sfn.describe_map_run(mapRunArn=arn)
        children = [e["startDate"].timestamp() for e in _children(sfn, arn)]
        found.append(
            {
                "started": described["startDate"].timestamp() - start,
                "first_child": (min(children) - start) if children else None,
                "stopped": described["stopDate"].timestamp() - start,
                "items": described["itemCounts"]["succeeded"],
                "children": len(children),
            }
        )
    return found


def _children(sfn: Any, map_run: str) -> list[dict[str, Any]]:
    executions: list[dict[str, Any]] = []
    for page in sfn.get_paginator("list_executions").paginate(mapRunArn=map_run):
        executions += page["executions"]
    return executions


def phases(run: Run, runs: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds of each phase (side-by-side states: the longest; sequential ones: summed)."""
    found: dict[str, float] = {}
    for phase, pattern in PHASE_PATTERNS.items():
        spans = [s for s in run.spans if pattern.search(s.name)]
        if phase == "query":
            found[phase] = max((s.seconds for s in spans), default=0.0)
        else:
            found[phase] = sum(s.seconds for s in spans)
    started = [r for r in runs if r["first_child"] is not None]
    found["read results"] = max((r["first_child"] - r["started"] for r in started), default=0.0)
    window = write_window(runs)
    found["write"] = window[1] - window[0] if window else 0.0
    return {k: round(v, 2) for k, v in found.items()}


def phase_windows(run: Run, runs: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """Each phase's window (seconds from the execution's start): from its first state's entry to
    its last one's exit (read results: from the first Map Run's start to the last first child)."""
    found: dict[str, tuple[float, float]] = {}
    for phase, pattern in PHASE_PATTERNS.items():
        spans = [s for s in run.spans if pattern.search(s.name)]
        if spans:
            found[phase] = (min(s.entered for s in spans), max(s.exited for s in spans))
    started = [r for r in runs if r["first_child"] is not None]
    if started:
        found["read results"] = (min(r["started"] for r in started), max(r["first_child"] for r in started))
    window = write_window(runs)
    if window is not None:
        found["write"] = window
    return found


def write_window(runs: list[dict[str, Any]]) -> tuple[float, float] | None:
    """The write phase (seconds from the execution's start): from the first child of any Map to the
    end of the last Map that had one; None when no Map started a child."""
    started = [r for r in runs if r["first_child"] is not None]
    if not started:
        return None
    return min(r["first_child"] for r in started), max(r["stopped"] for r in started)


def queries(local: Local) -> list[dict[str, Any]]:
    """Every Athena query the run made (this localcloud ran no others): parameters, bytes scanned."""
    athena = local.client("athena")
    ids: list[str] = []
    for page in athena.get_paginator("list_query_executions").paginate(WorkGroup=local.spec.workgroup):
        ids += page["QueryExecutionIds"]
    found = []
    for start in range(0, len(ids), 50):
        for execution in athena.batch_get_query_execution(QueryExecutionIds=ids[start : start + 50])[
            "QueryExecutions"
        ]:
            parameters = execution.get("ExecutionParameters", [])
            found.append(
                {
                    "parameters": parameters,
                    "bytes": execution.get("Statistics", {}).get("DataScannedInBytes", 0),
                    # the month query (year, month) and the validation query (year, month, day:
                    # it reads the month so far for the month items' bad readings) read the month
                    "reads_month": len(parameters) == 2 or MONTH_READER in execution.get("Query", ""),
                }
            )
    return found


def meter_day_counts(
    lake: Lake, day: Run, runs: list[dict[str, Any]], made: list[dict[str, Any]]
) -> dict[str, Any]:
    """What bench/cost_model.py prices, per meter-day (the lake holds this one day)."""
    items = sum(r["items"] for r in runs)
    month = [q for q in made if q["reads_month"]]  # the month so far (this lake: one day of it)
    return {
        "meters": lake.meters,
        "readings": lake.readings / lake.meters,
        "lake_bytes": lake.bytes / lake.meters,
        "items": items / lake.meters,
        "day_queries_scan_bytes": sum(q["bytes"] for q in made if q not in month) / lake.meters,
        "month_query_scan_bytes": sum(q["bytes"] for q in month) / lake.meters,
        "queries": len(made),
        "transitions_fixed": sum(1 for e in day.events if e["type"].endswith("StateEntered")),
        "children_per_item": sum(r["children"] for r in runs) / items,
    }


def run() -> Result:
    figures: dict[str, Any] = {}
    ratios = []
    counts: dict[str, Any] = {}
    for meters, interval in sizes():
        label = f"{meters:,} meters" + (f", {interval}-minute readings" if interval != 60 else "")
        with local_pipeline() as local:
            lake = load_day(local, meters=meters, day=DAY, interval=interval)
            with Sampler(local.server_pid()) as sampler:
                day, reference, before, after = bracketed(
                    local, min(REFERENCE_ITEMS, max(meters * 26, 5_000)), lambda: run_day(local, DAY)
                )
            runs = map_runs(local, day)
            items = sum(r["items"] for r in runs)
            phase = phases(day, runs)
            made = queries(local)
        write_rate = items / phase["write"] if phase["write"] else 0.0
        figures[f"{label}: status, seconds"] = f"{day.status}, {day.seconds:.1f}"
        figures[f"{label}: readings, items"] = f"{lake.readings:,}, {items:,}"
        figures[f"{label}: readings/s, items/s (whole run)"] = (
            f"{lake.readings / day.seconds:,.0f}, {items / day.seconds:,.0f}"
        )
        figures[f"{label}: phases (s)"] = phase
        zero = day.started_at
        figures[f"{label}: CPU by phase"] = {
            name: sampler.shown(zero + start, zero + end)
            for name, (start, end) in phase_windows(day, runs).items()
        }
        figures[f"{label}: raw BatchWriteItem items/s (before, after the run)"] = (
            f"{reference:,.0f} ({before:,.0f}, {after:,.0f})"
        )
        ratios.append(
            Ratio(f"{label}: write phase items/s", write_rate, reference, "raw BatchWriteItem, 4 threads")
        )
        if interval == 60:  # the largest hourly size's counts
            counts = meter_day_counts(lake, day, runs, made)
    return Result(figures={**figures, "counts_per_meter_day": counts}, ratios=ratios)
