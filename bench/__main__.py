"""`make bench`: run the benchmarks, print and save each one's figures, then print every ratio (ours
against the reference measured in the same run) as one table.

By default the ones the issue asks `make bench` for, at sizes that finish within 15 minutes on the
2-core machine: the Athena engine, the interpreter, one day through the pipeline (1,000 and 10,000
meters, and 10,000 at 15 minutes) and the write path (2,000 and 10,000 customers).
``BENCH_FULL=1`` (``make bench FULL=1``, about 35 minutes) runs every bench/bench_*.py module, the
store at 1 M items among them, and the pipeline at 100,000 meters too.

``run()`` returns a ``bench.report.Result`` (figures and ratios) or a plain mapping of figures.
``python -m bench NAME ...`` runs only the named modules; ``BENCH_SKIP=name,name`` leaves some out.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from typing import Any

from bench.report import HERE, Limit, Ratio, Result, full, save, stamp, table

DEFAULT = ("bench_engine", "bench_interpreter", "bench_pipeline", "bench_write_path")


def _modules(selected: list[str]) -> list[str]:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if not selected and not full():
        names = [n for n in names if n in DEFAULT]
    if selected:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in selected}
        unknown = wanted - set(names)
        if unknown:
            raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have: {', '.join(names)}")
        names = [n for n in names if n in wanted]
    skipped = {
        f"bench_{n.strip().removeprefix('bench_')}"
        for n in os.environ.get("BENCH_SKIP", "").split(",")
        if n.strip()
    }
    return [n for n in names if n not in skipped]


def _result(value: Result | dict[str, Any]) -> Result:
    return value if isinstance(value, Result) else Result(figures=dict(value))


def main(argv: list[str]) -> None:
    names = _modules(argv)
    if not names:
        print("no benchmarks selected (bench/bench_*.py)")
        return
    began = time.perf_counter()
    rows: list[tuple[str, Ratio | Limit]] = []
    for module_name in names:
        name = module_name.removeprefix("bench_")
        module = importlib.import_module(f"bench.{module_name}")
        print(f"== {name}", flush=True)
        started, clock = stamp(), time.perf_counter()
        result = _result(module.run())
        save(name, result, seconds=time.perf_counter() - clock, started=started)
        rows += [(name, ratio) for ratio in result.ratios] + [(name, limit) for limit in result.limits]
    elapsed = time.perf_counter() - began
    print(
        f"\n== ratios (ours against a reference measured in the same run) and bounds, {elapsed:.0f} s in all"
    )
    print(table(rows) if rows else "(none)")


if __name__ == "__main__":
    main(sys.argv[1:])
