"""The store as it grows: localcloud's DynamoDB write ceiling with 0, 10k, 100k and 1 M items held,
and how long a request waits while a checkpoint makes 1 M items durable.

The ceiling is raw BatchWriteItem (25 items a call) from 4 threads, each with its own boto3
client, into localcloud started with a home folder (persistence on, as ``meterpipe local up``
runs it). Items look like daily_rollup's (customer, sensor#period, kWh, granularity, count,
computed at). The reference is a second localcloud whose store stays empty: at each level, a
window into a new table there, then a window into the growing table, back to back, five times;
each side's rate is over all its windows (a machine busy with other work skews both alike).

While 1 M items are held, one probe thread writes and reads single items in a loop while the
server checkpoints (``/_localcloud/storage/flush``, what a Step Functions checkpoint does first)
right after a change that needs DynamoDB snapshotted whole (the table's tags): the heaviest
checkpoint there is. The probe's latencies meanwhile give p50, p99 and the longest wait. Then the
server is stopped gracefully and started again, and the item count read back.

    python -m bench store            # about 4 minutes on a 2-core machine
    BENCH_STORE_ITEMS=200000 python -m bench store   # a smaller top level, for a quick look
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.localrun import THREADS, Writers, client, item
from bench.report import Limit, Ratio, Result
from localcloud import control, launcher
from meterpipe.tables import ROLLUPS

WINDOW = 8_000  # items timed in each window (short: the pairs alternate often, so load elsewhere skews both)
ROUNDS = 5  # pairs of windows (reference, then ours) at each level
LEVELS = (10_000, 100_000)
TOP = int(os.environ.get("BENCH_STORE_ITEMS", "1000000"))
TARGET = 0.8  # the ceiling with 1 M items held within 20% of an empty store's


def create(ddb: Any, name: str) -> None:
    ddb.create_table(**ROLLUPS.create_table_params(name))


def probe_during(endpoint: str, table: str, action: Callable[[], Any]) -> tuple[list[float], Any]:
    """Latencies (s) of single-item writes and reads made one after another while ``action`` runs."""
    ddb, done, latencies = client(endpoint), threading.Event(), []

    def loop() -> None:
        n = 0
        while not done.is_set():
            n += 1
            began = time.perf_counter()
            ddb.put_item(TableName=table, Item=item(10_000_000 + n))
            ddb.get_item(
                TableName=table,
                Key={k: v for k, v in item(n).items() if k in ("CustomerID", "SensorID-Period")},
            )
            latencies.append((time.perf_counter() - began) / 2)

    thread = threading.Thread(target=loop)
    thread.start()
    time.sleep(0.5)  # the probe is running before the checkpoint starts
    try:
        result = action()
    finally:
        done.set()
        thread.join()
    return latencies, result


def snapshot(endpoint: str, ddb: Any) -> dict[str, Any]:
    """The heaviest checkpoint: one that must snapshot DynamoDB whole (a table's tags changed: a
    change the journal does not hold), made while the table holds every item."""
    arn = ddb.describe_table(TableName="growing")["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "bench", "Value": str(time.time())}])
    return control.flush_storage(endpoint)


def longest_stall(endpoint: str, since: float) -> float:
    """The server's longest event-loop stall that ended after ``since`` (its own measure)."""
    stalls = control.health(endpoint).get("event_loop", {}).get("stalls", [])
    return max((stall["seconds"] for stall in stalls if stall["ended"] >= since), default=0.0)


def stall_counts(endpoint: str) -> str:
    loop = control.health(endpoint).get("event_loop", {"stalls": [], "gc_collections": []})
    return f"{len(loop['stalls'])} / {len(loop['gc_collections'])}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def paired_windows(reference: str, growing: Writers, ddb_reference: Any) -> tuple[float, float, float]:
    """ROUNDS pairs of windows, back to back: WINDOW items into a new table of the reference
    server (dropped after: its store stays empty), then WINDOW more into the growing table.
    Returns each side's rate over all its windows (items / seconds) and the slowest call seen."""
    ours = theirs = slowest = 0.0
    for n in range(ROUNDS):
        name = f"empty{n}"
        create(ddb_reference, name)
        theirs += WINDOW / Writers(reference, name).write(WINDOW)
        ddb_reference.delete_table(TableName=name)
        ours += WINDOW / growing.write(WINDOW)
        slowest = max(slowest, growing.slowest)
    return ROUNDS * WINDOW / ours, ROUNDS * WINDOW / theirs, slowest


def run() -> Result:
    figures: dict[str, Any] = {
        "writers": f"{THREADS} threads, BatchWriteItem of 25, {ROUNDS} pairs of {WINDOW:,}-item windows"
    }
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        home, reference_home = Path(tmp) / "growing", Path(tmp) / "reference"
        reference = launcher.start(reference_home, port=0).endpoint
        endpoint = launcher.start(home, port=0).endpoint
        try:
            ddb, ddb_reference = client(endpoint), client(reference)
            began, rates = time.perf_counter(), {}
            for level in sorted({0, TOP, *(level for level in LEVELS if level < TOP)}):
                table = "growing" if level else "level0"
                if table not in ddb.list_tables()["TableNames"]:
                    create(ddb, table)
                    writers = Writers(endpoint, table)
                writers.write(level - writers.next)
                window = time.time()
                ours, theirs, slowest = paired_windows(reference, writers, ddb_reference)
                if not level:
                    ddb.delete_table(TableName=table)
                at = f"at {level:,} items"
                figures[f"ceiling_items_per_s {at} (empty store: reference)"] = f"{ours:.0f} ({theirs:.0f})"
                figures[f"ceiling ratio {at} / empty store"] = round(ours / theirs, 3)
                rates[level] = (ours, theirs)
                figures[f"slowest_batch_write_s {at}"] = round(slowest, 3)
                figures[f"server's longest stall_s {at}"] = longest_stall(endpoint, window)
            figures["fill_seconds (0 to the top level, with the windows)"] = round(
                time.perf_counter() - began, 1
            )
            figures["server stalls / GC collections over 0.1 s, whole fill"] = stall_counts(endpoint)
            held, window = writers.next, time.time()
            latencies, flushed = probe_during(endpoint, "growing", lambda: snapshot(endpoint, ddb))
            figures[f"checkpoint_seconds with {held:,} items (a full DynamoDB snapshot)"] = flushed["seconds"]
            storage = control.health(endpoint).get("ministack_storage", {"last_snapshot_pause_seconds": -1})
            figures["event loop paused for the snapshot's fork_s"] = round(
                storage["last_snapshot_pause_seconds"], 3
            )
            figures["server's longest stall_s during the checkpoint"] = longest_stall(endpoint, window)
            figures["probe requests during the checkpoint"] = len(latencies)
            for name, value in (
                ("p50", statistics.median(latencies)),
                ("p99", percentile(latencies, 0.99)),
                ("max", max(latencies)),
            ):
                figures[f"probe_latency_ms {name} during the checkpoint"] = round(value * 1000, 1)
        finally:
            launcher.stop(reference_home)
            began = time.perf_counter()
            launcher.stop(home)
            figures["graceful_stop_seconds"] = round(time.perf_counter() - began, 1)
        began = time.perf_counter()
        server = launcher.start(home, port=0, timeout=600)
        figures["restart_seconds (until it answers)"] = round(time.perf_counter() - began, 1)
        try:
            count = client(server.endpoint).describe_table(TableName="growing")["Table"]["ItemCount"]
            figures["items after the restart / written"] = f"{count:,} / {held + len(latencies):,}"
        finally:
            launcher.stop(home)
        size = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
        figures["state_mb_on_disk"] = round(size / 1e6, 1)
    ratios = [
        Ratio(f"write ceiling with {level:,} items held: items/s", *rates[level], "an empty store", TARGET)
        for level in sorted(rates)
        if level
    ]
    limits = [
        Limit(
            f"longest wait during a checkpoint, {held:,} items held",
            figures["probe_latency_ms max during the checkpoint"],
            250,
            "ms",
        )
    ]
    return Result(figures=figures, ratios=ratios, limits=limits)
