"""End-to-end: ``make demo``'s program, as the Makefile runs it, on a small month (3 customers,
February 2024, a leap month) so that a newcomer's first command is kept working by the suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import Cli, expected_items, lake_readings


def test_the_demo_backfills_a_month_whose_items_equal_the_totals_and_stops_localcloud(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    demo = subprocess.run(
        [
            sys.executable,
            "-m",
            "meterpipe.demo",
            "--customers",
            "3",
            "--month",
            "2024-02",
            "--home",
            str(home),
            "--keep",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
        timeout=600,
    )
    starting = Cli(home, "")
    try:
        assert demo.returncode == 0, demo.stdout + demo.stderr
        status = json.loads(starting("local", "status", "--json").stdout)
        cli = Cli(home, status["endpoint"])

        data = home / "data"
        expected = expected_items(data / "customer_meter_sensor", lake_readings(data))
        months = [key for key in expected if key[1].count("-") == 1]
        days_in_february = 29
        # Each day's run writes its hours and its day, and the month to date of every reading in the lake.
        written = len(expected) - len(months) + days_in_february * len(months)
        out = demo.stdout
        assert f"29 of 29 days succeeded, 0 failed; {written:,} items written" in out
        assert "✓ succeeded 29   ↻ stale 0   ✗ failed 0" in out
        assert "one execution's timeline: 2024-02-15" in out and "daily_rollup 2024-02-15_" in out
        assert "localcloud keeps running" in out
        assert cli.table() == expected
    finally:
        starting("local", "down")
    assert json.loads(starting("local", "status", "--json").stdout)["running"] is False
