"""`make scale`'s one argument (the number of customers, or a clear message), and how it runs the
demo: its output captured, and the backfill measured between the lines that start and end it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from bench.scale import customers_from, run_demo
from localcloud.launcher import RUNTIME_FILE


def test_no_argument_means_a_thousand_customers() -> None:
    assert customers_from([]) == 1000
    assert customers_from(["250"]) == 250


@pytest.mark.parametrize("argv", [["abc"], ["2.5"], ["0"], ["-3"], ["²"], ["10", "20"]])
def test_anything_but_one_whole_number_exits_with_a_message_naming_it(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        customers_from(argv)
    assert str(caught.value) == (
        f"make scale: CUSTOMERS must be one whole number of at least 1, got {' '.join(argv)!r} "
        "(for example: make scale CUSTOMERS=200)"
    )


def _fake_demo(lines: list[str]) -> list[str]:
    # A pause after each line: a backfill too short for the clock's ticks is not measured.
    printed = "".join(f"print({line!r}, flush=True)\ntime.sleep(0.3)\n" for line in lines)
    script = "import sys, time\n" + printed
    script += "print('a warning', file=sys.stderr)\n"
    return [sys.executable, "-c", script]


def _runtime_file(home: Path) -> None:
    # The demo's server is this test's own process here: any live pid with a /proc entry will do.
    runtime = {"pid": os.getpid(), "port": 1, "endpoint": "http://127.0.0.1:1", "home": str(home)}
    runtime["started_at"] = 0
    (home / RUNTIME_FILE).write_text(json.dumps(runtime))


def test_the_backfill_is_measured_between_the_demo_lines_that_start_and_end_it(tmp_path: Path) -> None:
    _runtime_file(tmp_path)
    lines = ["started backfill bf_x: 3 days, 8 at a time", "3 of 3 days succeeded, 0 failed; 9 items written"]
    demo, use = run_demo(_fake_demo(lines), tmp_path)
    assert demo.returncode == 0
    assert demo.stdout == "".join(f"{line}\n" for line in lines)
    assert demo.stderr == "a warning\n"
    if Path("/proc/stat").is_file():
        assert use is not None
        assert 0.0 <= use.idle_share <= 1.0
        assert use.process >= 0.0


def test_a_demo_that_never_starts_its_backfill_is_not_measured(tmp_path: Path) -> None:
    _runtime_file(tmp_path)
    demo, use = run_demo(_fake_demo(["the lake is empty", "3 of 3 days succeeded"]), tmp_path)
    assert demo.returncode == 0
    assert use is None
