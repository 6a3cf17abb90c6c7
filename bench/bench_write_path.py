"""The write path: items/s written by daily_rollup's Distributed Maps (the write phase: from the
first child of any Map to the end of the last) for a day of 2,000 and of 10,000 customers, against
raw BatchWriteItem from 4 threads into the same localcloud in the same run: half the reference's
items just before the day, half just after (a shared machine's load moves both alike).
Target: at least 80% of that ceiling. For reference, the upstream sample's way too: one process
putting items through ``Table.batch_writer()``.

What bounds each window (``bench.cpu_use``): the machine's idle share and how busy the localcloud
server process was, during the raw windows and during the write phase.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from bench.bench_pipeline import map_runs, phases, write_window
from bench.cpu_use import Sampler
from bench.localrun import batch_writer_rate, bracketed, load_day, local_pipeline, run_day
from bench.report import Ratio, Result

DAY = dt.date(2024, 1, 5)
TARGET = 0.8
REFERENCE_ITEMS = 40_000
BATCH_WRITER_ITEMS = 10_000
CUSTOMERS = [int(c) for c in os.environ.get("BENCH_WRITE_PATH_CUSTOMERS", "2000,10000").split(",")]


def run() -> Result:
    figures: dict[str, Any] = {}
    ratios = []
    for customers in CUSTOMERS:
        label = f"{customers:,} customers"
        windows: list[tuple[float, float]] = []
        with local_pipeline() as local:
            lake = load_day(local, meters=round(customers * 1.246), day=DAY)
            with Sampler(local.server_pid()) as sampler:
                day, raw, before, after = bracketed(
                    local,
                    min(REFERENCE_ITEMS, round(customers * 1.246 * 26)),
                    lambda: run_day(local, DAY),
                    windows=windows,
                )
            runs = map_runs(local, day)
            items = sum(r["items"] for r in runs)
            write = phases(day, runs)["write"]
            upstream = batch_writer_rate(local, BATCH_WRITER_ITEMS)
        ours = items / write if write else 0.0
        figures[f"{label}: meters, items, status"] = f"{lake.meters:,}, {items:,}, {day.status}"
        figures[f"{label}: whole run s, write phase s"] = f"{day.seconds:.1f}, {write:.1f}"
        figures[f"{label}: items/s (Distributed Map, raw 4 threads, batch_writer)"] = (
            f"{ours:,.0f}, {raw:,.0f}, {upstream:,.0f}"
        )
        figures[f"{label}: raw items/s before, after the run"] = f"{before:,.0f}, {after:,.0f}"
        window = write_window(runs)
        if window is not None:
            zero = day.started_at
            figures[f"{label}: CPU in the write phase"] = sampler.shown(zero + window[0], zero + window[1])
        figures[f"{label}: CPU in the raw windows (before, after)"] = ", ".join(
            sampler.shown(*span) for span in windows
        )
        ratios.append(
            Ratio(f"{label}: Distributed Map items/s", ours, raw, "raw BatchWriteItem, 4 threads", TARGET)
        )
        ratios.append(
            Ratio(f"{label}: batch_writer() items/s", upstream, raw, "raw BatchWriteItem, 4 threads")
        )
    return Result(figures=figures, ratios=ratios)
