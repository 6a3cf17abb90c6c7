"""What bounds a window of a benchmark: the machine's idle share and how busy localcloud's server
process was, read from ``/proc`` (Linux) every tenth of a second while a benchmark runs.

A write window whose machine still had idle CPU while the server process was busy nearly all of one
core is bound by that one process (its event loop and its GIL), not by the machine's cores: work
moved out of it, or taken off it, is what makes that window shorter. Elsewhere than Linux nothing
is sampled and every window reads "not measured".
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

PROC = Path("/proc")
INTERVAL = 0.1  # seconds between samples: a phase of a few seconds gets tens of them
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Sample:
    at: float  # time.time()
    machine_total: int  # jiffies of every CPU, all states
    machine_idle: int  # jiffies idle or waiting on I/O
    server_cpu: float  # seconds of CPU the server process has used (user + system)


@dataclass(frozen=True)
class Use:
    idle_share: float  # of the machine's CPU time in the window, the share left idle
    server_busy: float  # the server process's CPU seconds per second of the window (1.0: one core)

    def __str__(self) -> str:
        return f"machine {self.idle_share:.0%} idle, server process {self.server_busy:.0%} of a core"


def machine_times(root: Path = PROC) -> tuple[int, int]:
    """(total, idle + iowait) jiffies of all CPUs, from the first line of ``/proc/stat``."""
    fields = (root / "stat").read_text().split("\n", 1)[0].split()
    values = [int(v) for v in fields[1:]]
    return sum(values), values[3] + (values[4] if len(values) > 4 else 0)


def _stat_fields(pid: int, root: Path) -> list[str]:
    # The command name (2nd field) may hold spaces or parentheses: count fields after its last ')'.
    return (root / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()


def _seconds(fields: list[str], first: int) -> float:
    # utime and stime (or cutime and cstime) are fields 14 and 15 (16 and 17) of the stat line.
    return (int(fields[first]) + int(fields[first + 1])) / _TICK


def process_cpu(pid: int, root: Path = PROC) -> float:
    """Seconds of CPU (user + system) process ``pid`` has used, from ``/proc/<pid>/stat``."""
    return _seconds(_stat_fields(pid, root), 11)


@dataclass(frozen=True)
class TreeReading:
    """A process and its children at one instant: what :func:`tree_use` compares two of."""

    at: float  # time.time()
    machine_total: int
    machine_idle: int
    process: float  # CPU seconds of the process itself (all its threads)
    children: dict[int, float]  # CPU seconds of each live child, by pid
    reaped: float  # CPU seconds of its children that have exited and been waited for


@dataclass(frozen=True)
class TreeUse:
    """Cores used on average over a window (1.0: one core busy the whole window)."""

    idle_share: float  # of the machine's CPU time, the share left idle
    process: float
    children: float  # the children alive at the window's end (localcloud's Lambda workers)
    reaped: float  # children that came and went (localcloud's snapshot children)

    def __str__(self) -> str:
        return (
            f"machine {self.idle_share:.0%} idle; server process {self.process:.2f} cores, "
            f"Lambda workers {self.children:.2f}, snapshot children {self.reaped:.2f}"
        )


def read_tree(pid: int, root: Path = PROC, clock: Callable[[], float] = time.time) -> TreeReading:
    """The machine's CPU times, process ``pid``'s, and its children's (found by their parent pid)."""
    total, idle = machine_times(root)
    fields = _stat_fields(pid, root)
    children: dict[int, float] = {}
    for entry in root.iterdir():
        if not entry.name.isdigit() or entry.name == str(pid):
            continue
        try:
            child = _stat_fields(int(entry.name), root)
        except (OSError, IndexError):  # gone meanwhile, or not a process
            continue
        if child[1] == str(pid):
            children[int(entry.name)] = _seconds(child, 11)
    return TreeReading(
        at=clock(),
        machine_total=total,
        machine_idle=idle,
        process=_seconds(fields, 11),
        children=children,
        reaped=_seconds(fields, 13),
    )


def tree_use(first: TreeReading, last: TreeReading) -> TreeUse | None:
    """The use between two readings; None when no time passed. A child started between them counts
    from zero; one that exited counts in ``reaped`` once waited for."""
    seconds = last.at - first.at
    total = last.machine_total - first.machine_total
    if seconds <= 0 or total <= 0:
        return None
    children = sum(cpu - first.children.get(child, 0.0) for child, cpu in last.children.items())
    return TreeUse(
        idle_share=(last.machine_idle - first.machine_idle) / total,
        process=(last.process - first.process) / seconds,
        children=children / seconds,
        reaped=(last.reaped - first.reaped) / seconds,
    )


def use_between(samples: list[Sample], start: float, end: float) -> Use | None:
    """The use over [start, end] from the first and last samples inside it; None with fewer than two."""
    inside = [s for s in samples if start <= s.at <= end]
    if len(inside) < 2:
        return None
    first, last = inside[0], inside[-1]
    total = last.machine_total - first.machine_total
    seconds = last.at - first.at
    if total <= 0 or seconds <= 0:
        return None
    idle = (last.machine_idle - first.machine_idle) / total
    return Use(idle_share=idle, server_busy=(last.server_cpu - first.server_cpu) / seconds)


class Sampler:
    """Samples in a background thread while open: ``with Sampler(pid) as sampler: ...``, then
    ``sampler.use(start, end)`` for any window inside (``time.time()`` values)."""

    def __init__(self, pid: int, *, root: Path = PROC, clock: Callable[[], float] = time.time) -> None:
        self.pid = pid
        self.root = root
        self.clock = clock
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.available = (root / "stat").is_file() and (root / str(pid) / "stat").is_file()

    def sample(self) -> None:
        total, idle = machine_times(self.root)
        self.samples.append(Sample(self.clock(), total, idle, process_cpu(self.pid, self.root)))

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL):
            try:
                self.sample()
            except (OSError, ValueError, IndexError):  # the server went away: keep what was sampled
                return

    def __enter__(self) -> Sampler:
        if self.available:
            self.sample()
            self._thread = threading.Thread(target=self._run, name="bench-cpu-sampler", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def use(self, start: float, end: float) -> Use | None:
        return use_between(self.samples, start, end)

    def shown(self, start: float, end: float) -> str:
        """The window's use as a figure, or why there is none."""
        if not self.available:
            return "not measured (no /proc)"
        use = self.use(start, end)
        return str(use) if use is not None else f"not measured (shorter than {2 * INTERVAL:g} s)"
