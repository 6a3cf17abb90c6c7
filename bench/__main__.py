"""`make bench`: run every bench/bench_*.py module's `run()`, print and save its figures.

Each module's ``run()`` returns a mapping of figure name to value (numbers or short strings).
``python -m bench NAME ...`` runs only the named modules.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import platform
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def _modules(selected: list[str]) -> list[str]:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if selected:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in selected}
        unknown = wanted - set(names)
        if unknown:
            raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have: {', '.join(names)}")
        names = [n for n in names if n in wanted]
    return names


def main(argv: list[str]) -> None:
    stamp = _stamp()
    names = _modules(argv)
    if not names:
        print("no benchmarks yet (bench/bench_*.py)")
        return
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}")
        report(name.removeprefix("bench_"), module.run(), stamp=stamp)


def report(name: str, figures: dict[str, Any], *, stamp: str | None = None) -> Path:
    """Print a benchmark's figures and write them, with the machine, to bench/results/<name>-<stamp>.json."""
    stamp = stamp or _stamp()
    for key, value in figures.items():
        print(f"  {key:<56} {value}")
    machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": _cpus()}
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}-{stamp}.json"
    out.write_text(json.dumps({"when": stamp, "machine": machine, "figures": figures}, indent=2) + "\n")
    print(f"  -> {out.relative_to(HERE.parent)}")
    return out


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    main(sys.argv[1:])
