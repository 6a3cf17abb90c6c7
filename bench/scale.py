"""`make scale`: the demo at a larger size, checked item by item (not part of `make bench`: about
five to six minutes for 1,000 customers on a 2-core machine, four of them the backfill).

Runs ``make demo``'s program for CUSTOMERS customers (January 2024) in a scratch home, leaves
localcloud running, reads the whole rollup table back (a Query per customer, and the table's
ItemCount for items of anyone else) and compares every item with totals computed here from the
generated CSV files (Decimal sums, half up), then stops localcloud. Prints the figures
and writes them to ``bench/results/scale.json``.

The reference, on the same localcloud right after the read-back (its table then holding the month):
raw BatchWriteItem from 4 threads (``bench.localrun``) writing REFERENCE_ITEMS items into a table of
its own. The month's items at that rate give a rough time for the store itself, nothing else
running, at this hour (the backfill's time moves with the machine's speed as much as with the code).
Rough: one short window, and it swings with the machine from run to run; raw writes filling one
table to a million items have gone faster (docs/cost-and-scale.md, "2026-12-04, evening").

Also what bounds the backfill: the CPU localcloud's server process, its Lambda workers and its
snapshot children used over it, on average, and the share of the machine left idle.

    python -m bench.scale [CUSTOMERS]
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.cpu_use import TreeReading, TreeUse, read_tree, tree_use
from bench.localrun import raw_rate
from bench.report import Result, save, stamp
from localcloud import launcher

# tests/e2e/conftest.py imports its neighbours (cdk_support) as pytest's rootdir puts tests/ on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from tests.e2e.conftest import Cli, expected_items, lake_readings

REFERENCE_ITEMS = 60_000  # about ten seconds here: a rate, not the month again
# The demo's lines when its backfill starts and once every day has ended (meterpipe/demo.py).
BACKFILL_STARTED = "started backfill "
BACKFILL_ENDED = re.compile(r"\d+ of \d+ days succeeded")


def run(customers: int) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="meterpipe-scale-")) / "home"
    meterpipe = Path(sys.executable).with_name("meterpipe")
    began = time.perf_counter()
    command = [sys.executable, "-m", "meterpipe.demo", "--keep", "--customers", str(customers)]
    demo, backfill_use = run_demo([*command, "--home", str(home)], home)
    demo_seconds = time.perf_counter() - began
    cli = Cli(home, "")
    try:
        if demo.returncode != 0:
            raise SystemExit(f"the demo failed:\n{demo.stdout[-2000:]}\n{demo.stderr[-2000:]}")
        status = json.loads(cli("local", "status", "--json").stdout)
        data = home / "data"
        expected = expected_items(data / "customer_meter_sensor", lake_readings(data))
        began = time.perf_counter()
        reader = Cli(home, status["endpoint"])
        table = reader.customers_items({customer for customer, _ in expected})
        item_count = reader.item_count()  # items of any other customer would show here
        scan_seconds = time.perf_counter() - began
        try:
            raw: float | None = raw_rate(status["endpoint"], REFERENCE_ITEMS, table="scale-raw-reference")
        except Exception as exc:  # the reference is a figure: its failure must not cost the item check
            print(f"make scale: the raw BatchWriteItem reference failed: {exc}", file=sys.stderr)
            raw = None
    finally:
        began = time.perf_counter()
        down = [str(meterpipe), "local", "down", "--home", str(home)]
        subprocess.run(down, capture_output=True, check=False)
        stop_seconds = time.perf_counter() - began
    wrong = sum(1 for key, value in expected.items() if table.get(key) != value)
    backfill = re.search(r"(\d+) of (\d+) days succeeded, (\d+) failed; ([\d,]+) items written", demo.stdout)
    backfill_time = re.search(r"backfill \S+: ([\d.]+) s", demo.stdout)
    written = int(backfill[4].replace(",", "")) if backfill else 0
    backfill_seconds = float(backfill_time[1]) if backfill_time else None
    store_seconds = written / raw if raw else None
    figures = {
        "customers": customers,
        "days succeeded / days": f"{backfill[1]} / {backfill[2]}" if backfill else "?",
        "items written by the runs": backfill[4] if backfill else "?",
        "backfill_seconds": backfill_seconds,
        f"raw BatchWriteItem items/s after the month ({REFERENCE_ITEMS:,} items, 4 threads)": (
            round(raw) if raw else None
        ),
        "the runs' items at that rate, s (the store alone)": (
            round(store_seconds, 1) if store_seconds else None
        ),
        "backfill / the store alone": (
            round(backfill_seconds / store_seconds, 2) if backfill_seconds and store_seconds else None
        ),
        "CPU over the backfill (cores, averaged)": str(backfill_use) if backfill_use else "not measured",
        "demo_seconds (start, generate, ingest, backfill, prints)": round(demo_seconds, 1),
        "items in the table / expected": f"{len(table)} / {len(expected)}",
        "items not equal to the Decimal totals": wrong,
        "items not expected": len(table.keys() - expected.keys()) + (item_count - len(table)),
        "table read back (a Query per customer, and ItemCount) seconds": round(scan_seconds, 1),
        "graceful_stop_seconds": round(stop_seconds, 1),
    }
    shutil.rmtree(home.parent, ignore_errors=True)
    return figures


def run_demo(command: list[str], home: Path) -> tuple[subprocess.CompletedProcess[str], TreeUse | None]:
    """Run the demo, its output captured, and read the CPU of localcloud's process tree when the
    backfill starts and when it has finished (the lines the demo prints then): what bounds it."""
    readings: list[TreeReading] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as demo:
        assert demo.stdout is not None and demo.stderr is not None
        stderr, err = demo.stderr, list[str]()
        drain = threading.Thread(target=lambda: err.extend(stderr), daemon=True)  # a full pipe would stall it
        drain.start()
        out: list[str] = []
        for line in demo.stdout:
            out.append(line)
            if line.startswith(BACKFILL_STARTED) or (readings and BACKFILL_ENDED.search(line)):
                server = launcher.status(home).server
                with contextlib.suppress(OSError, ValueError, IndexError):  # the server gone meanwhile
                    if server is not None:
                        readings.append(read_tree(server.pid))
        code = demo.wait()
        drain.join()
    use = tree_use(readings[0], readings[1]) if len(readings) == 2 else None
    return subprocess.CompletedProcess(command, code, "".join(out), "".join(err)), use


def customers_from(argv: list[str]) -> int:
    """The customers asked for (1,000 by default); a clear exit, not a traceback, for anything else."""
    if not argv:
        return 1000
    if len(argv) > 1 or not argv[0].isdecimal() or int(argv[0]) < 1:
        raise SystemExit(
            f"make scale: CUSTOMERS must be one whole number of at least 1, got {' '.join(argv)!r} "
            "(for example: make scale CUSTOMERS=200)"
        )
    return int(argv[0])


def main(argv: list[str]) -> None:
    customers = customers_from(argv)
    started, clock = stamp(), time.perf_counter()
    figures = run(customers)
    save("scale", Result(figures=figures), seconds=time.perf_counter() - clock, started=started)
    if figures["items not equal to the Decimal totals"] or figures["items not expected"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
