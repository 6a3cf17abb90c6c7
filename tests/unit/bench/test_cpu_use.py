"""What bounds a benchmark window: the machine's idle share and the server process's busy share,
read from a fake ``/proc``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.cpu_use import Sample, Sampler, TreeUse, Use, process_cpu, read_tree, tree_use, use_between

TICK = os.sysconf("SC_CLK_TCK")


def write_proc(
    root: Path, *, user: int, nice: int, system: int, idle: int, iowait: int, pid: int, cpu: int
) -> None:
    (root / "stat").write_text(
        f"cpu  {user} {nice} {system} {idle} {iowait} 0 0 0 0 0\ncpu0 1 2 3 4 5 0 0 0 0 0\n"
    )
    (root / str(pid)).mkdir(exist_ok=True)
    # utime and stime are fields 14 and 15; a command name with a space and a parenthesis.
    fields = ["S"] + ["0"] * 10 + [str(cpu), "0"] + ["0"] * 5
    (root / str(pid) / "stat").write_text(f"{pid} (python (x) y) " + " ".join(fields) + "\n")


def test_a_window_reports_the_idle_share_and_the_server_cores_between_its_first_and_last_samples() -> None:
    samples = [
        Sample(at=9.0, machine_total=0, machine_idle=0, server_cpu=0.0),  # before the window: ignored
        Sample(at=10.0, machine_total=1_000, machine_idle=300, server_cpu=5.0),
        Sample(at=11.0, machine_total=1_100, machine_idle=320, server_cpu=5.9),
        Sample(at=12.0, machine_total=1_200, machine_idle=340, server_cpu=6.9),
        Sample(at=13.0, machine_total=9_999, machine_idle=9_999, server_cpu=99.0),  # after: ignored
    ]
    use = use_between(samples, 10.0, 12.5)
    assert use == Use(idle_share=pytest.approx(40 / 200), server_busy=pytest.approx(1.9 / 2))
    assert str(use) == "machine 20% idle, server process 95% of a core"


def test_a_window_with_fewer_than_two_samples_is_not_measured() -> None:
    samples = [Sample(at=10.0, machine_total=1_000, machine_idle=300, server_cpu=5.0)]
    assert use_between(samples, 9.0, 11.0) is None
    assert use_between([], 0.0, 1.0) is None


def test_the_sampler_reads_proc_stat_and_the_process_stat(tmp_path: Path) -> None:
    write_proc(tmp_path, user=100, nice=0, system=50, idle=800, iowait=50, pid=42, cpu=3 * TICK)
    times = iter([100.0, 101.0])
    sampler = Sampler(42, root=tmp_path, clock=lambda: next(times))
    assert sampler.available
    sampler.sample()
    write_proc(tmp_path, user=250, nice=0, system=100, idle=840, iowait=10, pid=42, cpu=4 * TICK)
    sampler.sample()
    # 200 jiffies passed, of which idle + iowait went from 850 to 850: none idle; one CPU second.
    assert sampler.use(100.0, 101.0) == Use(idle_share=0.0, server_busy=1.0)
    assert sampler.shown(100.0, 101.0) == "machine 0% idle, server process 100% of a core"
    assert sampler.shown(100.5, 101.0) == "not measured (shorter than 0.2 s)"
    assert process_cpu(42, tmp_path) == 4.0


def test_without_proc_nothing_is_sampled_and_windows_read_unknown(tmp_path: Path) -> None:
    with Sampler(42, root=tmp_path / "absent") as sampler:
        pass
    assert not sampler.available
    assert sampler.samples == []
    assert sampler.use(0.0, 1e12) is None
    assert sampler.shown(0.0, 1e12) == "not measured (no /proc)"


def write_process(root: Path, pid: int, *, parent: int, cpu: int, reaped: int = 0) -> None:
    (root / str(pid)).mkdir(exist_ok=True)
    # After the command name: state, ppid, ..., utime (14th field), stime, cutime, cstime.
    fields = ["S", str(parent)] + ["0"] * 9 + [str(cpu), "0", str(reaped), "0"] + ["0"] * 3
    (root / str(pid) / "stat").write_text(f"{pid} (python -m x) " + " ".join(fields) + "\n")


def test_a_process_tree_reports_the_cores_of_the_process_its_live_children_and_those_reaped(
    tmp_path: Path,
) -> None:
    (tmp_path / "stat").write_text("cpu  100 0 50 800 50 0 0 0 0 0\n")
    write_process(tmp_path, 42, parent=1, cpu=10 * TICK, reaped=1 * TICK)
    write_process(tmp_path, 50, parent=42, cpu=2 * TICK)  # a Lambda worker
    write_process(tmp_path, 51, parent=42, cpu=1 * TICK)  # exits before the end
    write_process(tmp_path, 60, parent=7, cpu=99 * TICK)  # not the server's
    (tmp_path / "self").mkdir()  # not a pid: skipped
    first = read_tree(42, tmp_path, clock=lambda: 100.0)
    assert first.children == {50: 2.0, 51: 1.0}

    (tmp_path / "stat").write_text("cpu  300 0 150 900 50 0 0 0 0 0\n")  # 400 jiffies, 100 idle
    write_process(tmp_path, 42, parent=1, cpu=28 * TICK, reaped=3 * TICK)
    write_process(tmp_path, 50, parent=42, cpu=8 * TICK)
    (tmp_path / "51" / "stat").unlink()
    (tmp_path / "51").rmdir()
    write_process(tmp_path, 52, parent=42, cpu=4 * TICK)  # started during the window
    last = read_tree(42, tmp_path, clock=lambda: 120.0)

    use = tree_use(first, last)
    # Over 20 s: the server 18 CPU s, workers 6 + 4, snapshot children 2.
    assert use == TreeUse(idle_share=0.25, process=0.9, children=0.5, reaped=0.1)
    assert str(use) == (
        "machine 25% idle; server process 0.90 cores, Lambda workers 0.50, snapshot children 0.10"
    )
    assert tree_use(last, last) is None
