"""What a benchmark hands back, and how ``make bench`` prints and saves it.

A benchmark module's ``run()`` returns a ``Result``: its figures (name -> number or short text)
and its ``Ratio``s, each ours against the reference measured in the same run (the raw
BatchWriteItem ceiling, DuckDB on the same files, moto), with the target the issue set when there
is one. ``save`` writes ``bench/results/<name>.json`` with the figures, the ratios, the machine,
the versions of what was measured and the date; ``table`` prints every benchmark's ratios as one
table at the end of ``make bench``.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RESULTS = HERE / "results"
PACKAGES = (
    "boto3",
    "botocore",
    "ministack",
    "duckdb",
    "sqlglot",
    "moto",
    "hypercorn",
    "aws-lambda-powertools",
)


@dataclass(frozen=True)
class Ratio:
    what: str  # "write path, 2,000 customers: items/s"
    ours: float
    reference: float
    reference_is: str  # "raw BatchWriteItem, 4 threads"
    target: float | None = None  # the least ours/reference the issue accepts

    @property
    def ratio(self) -> float:
        return self.ours / self.reference if self.reference else float("nan")

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        return "meets" if self.ratio >= self.target else "BELOW"

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": round(self.ratio, 3), "verdict": self.verdict}


@dataclass(frozen=True)
class Limit:
    """A target that is a bound, not a ratio: "no request waits more than 250 ms"."""

    what: str
    value: float
    at_most: float
    unit: str

    @property
    def verdict(self) -> str:
        return "meets" if self.value <= self.at_most else "ABOVE"

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict}


@dataclass
class Result:
    figures: dict[str, Any] = field(default_factory=dict)
    ratios: list[Ratio] = field(default_factory=list)
    limits: list[Limit] = field(default_factory=list)


def full() -> bool:
    """``BENCH_FULL=1`` (``make bench FULL=1``): every benchmark at every size, past the 15 minutes."""
    return os.environ.get("BENCH_FULL", "") not in ("", "0")


def machine() -> dict[str, Any]:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if "model name" in line
            ),
            "",
        )
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split("MemTotal:", 1)[1].split()[0])
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "cpus": os.cpu_count() or 0,
        "cpu": cpu or platform.processor(),
        "memory": memory,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average_1min_at_start": round(load, 2) if load is not None else None,
    }


def versions() -> dict[str, str]:
    found = {}
    for package in ("meterpipe", *PACKAGES):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def save(name: str, result: Result, *, seconds: float, started: str) -> Path:
    """Print a benchmark's figures and ratios and write ``bench/results/<name>.json``."""
    for key, value in result.figures.items():
        print(f"  {key:<64} {value}")
    for ratio in result.ratios:
        print(f"  {ratio.what:<64} {ratio.ratio:.3f} of {ratio.reference_is} {ratio.verdict}")
    for limit in result.limits:
        print(f"  {limit.what:<64} {limit.value:g} {limit.unit} (at most {limit.at_most:g}) {limit.verdict}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}.json"
    document = {
        "benchmark": name,
        "date": started,
        "seconds": round(seconds, 1),
        "machine": machine(),
        "versions": versions(),
        "figures": result.figures,
        "ratios": [ratio.as_json() for ratio in result.ratios],
        "limits": [limit.as_json() for limit in result.limits],
    }
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"  -> {out.relative_to(HERE.parent)} ({seconds:.0f} s)")
    return out


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def table(rows: list[tuple[str, Ratio | Limit]]) -> str:
    """Every ratio and bound of the run, one line each."""
    header = ("benchmark", "measure", "ours", "reference", "ratio", "target", "")
    lines = [_row(name, entry) for name, entry in rows]
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(len(header))]
    rendered = [
        " | ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *lines]
    ]
    rendered.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in rendered)


def _row(name: str, entry: Ratio | Limit) -> tuple[str, ...]:
    if isinstance(entry, Limit):
        value = f"{entry.value:g} {entry.unit}"
        return (name, entry.what, value, "", "", f"<= {entry.at_most:g} {entry.unit}", entry.verdict)
    return (
        name,
        entry.what,
        _number(entry.ours),
        f"{_number(entry.reference)} ({entry.reference_is})",
        f"{entry.ratio:.2f}",
        f">= {entry.target:.2f}" if entry.target is not None else "",
        entry.verdict,
    )
