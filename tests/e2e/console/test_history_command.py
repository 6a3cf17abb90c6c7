"""``meterpipe history <execution>``, the installed command, on the console's failed days: the
timeline grouped by branch, map-run counts whose parts add up to the total, a redriven map run
listed once with its redrive count, and a failed backfill that never reads as all succeeded."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from tests.e2e.console.conftest import BAD_DAY, DAYS, REFUSED, World

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
REDRIVEN_DAY = dt.date(2023, 11, 15)  # the browser test's day (run, redriven, stopped), or made here
PARTS = ("pending", "running", "succeeded", "failed", "timedOut", "aborted")


@pytest.fixture(scope="module")
def redriven(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A daily_rollup execution whose map runs failed and were redriven to success: the browser
    test's, when it ran first in the session; else one made here the same way."""
    sfn = world.cli.client("stepfunctions")
    for execution in world.executions("daily-rollup"):
        if execution["name"].startswith(str(REDRIVEN_DAY)):
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if described.get("redriveCount", 0) and described["status"] == "SUCCEEDED":
                return dict(described)
    data = tmp_path_factory.mktemp("redriven")
    day = str(REDRIVEN_DAY)
    made = world.cli(
        "generate", "--customers", "3", "--from", day, "--to", day, "--seed", "7", "--out", str(data)
    )
    assert made.returncode == 0 and world.cli("ingest", str(data)).returncode == 0
    assert (
        world.cli("local", "faults", "add", "dynamodb", "BatchWriteItem", "--error", REFUSED).returncode == 0
    )
    try:
        assert world.cli("run", "--date", day, "--wait").returncode == 3
    finally:
        assert world.cli("local", "faults", "clear").returncode == 0
    [failed] = [e for e in world.executions("daily-rollup", "FAILED") if e["name"].startswith(day)]
    done = world.cli("redrive", failed["name"], "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    return dict(sfn.describe_execution(executionArn=failed["executionArn"]))


def _adds_up(counts: dict[str, int]) -> bool:
    return sum(counts[part] for part in PARTS) == counts["total"]


def test_the_timeline_groups_each_parallels_branches_and_its_counts_add_up(world: World) -> None:
    timeline = world.cli.json("history", world.batch_run.rsplit(":", 1)[-1])
    states = timeline["states"]
    names = [s["state"] for s in states]
    # The queries' branches one after another under RunRollupQueries, then the writes' under WriteRollups.
    queries = names.index("RunRollupQueries")
    assert names[queries + 1 : queries + 4] == ["RunHourlyQuery", "RunDailyQuery", "RunMonthlyQuery"]
    assert [s["branch"] for s in states[queries + 1 : queries + 4]] == [
        ["RunRollupQueries", f"branch {n}"] for n in (1, 2, 3)
    ]
    writes = names.index("WriteRollups")
    branches = [s["branch"] for s in states[writes + 1 :] if s["branch"]]
    assert branches == sorted(branches, key=lambda path: path[1])  # branch 1's states, then 2's, then 3's
    sfn = world.cli.client("stepfunctions")
    for state in states:
        if state["itemCounts"] is not None:
            described = sfn.describe_map_run(mapRunArn=state["mapRunArn"])["itemCounts"]
            assert state["itemCounts"] == described and _adds_up(state["itemCounts"])

    text = world.cli("history", world.batch_run.rsplit(":", 1)[-1]).stdout
    assert "WriteRollups branch 1:" in text and "  WriteHourlyRollups" in text
    for line in re.findall(r"map run: (\d+) items: ([^\n]+)", text):
        total, parts = (
            int(line[0]),
            re.findall(r"(\d+) (?:succeeded|failed|aborted|pending|running|timed out)", line[1]),
        )
        assert sum(int(n) for n in parts) == total, line


def test_a_redriven_map_run_is_listed_once_with_its_redrive_count(
    world: World, redriven: dict[str, Any]
) -> None:
    timeline = world.cli.json("history", redriven["name"])
    with_counts = [s for s in timeline["states"] if s["itemCounts"] is not None]
    arns = [s["mapRunArn"] for s in with_counts]
    # Each map run once (a map the first attempt aborted starts a map run of its own on the redrive).
    assert len(arns) == len(set(arns)) >= 3
    sfn = world.cli.client("stepfunctions")
    redrives = {s["mapRunArn"]: s["mapRunRedriveCount"] for s in with_counts}
    assert redrives == {arn: sfn.describe_map_run(mapRunArn=arn).get("redriveCount", 0) for arn in arns}
    assert max(redrives.values()) >= 1
    text = world.cli("history", redriven["name"]).stdout
    assert "redriven 1 time(s)" in text
    assert text.count("map run: ") == sum(1 for s in timeline["states"] if s["mapRunArn"])


def test_a_failed_backfill_shows_each_days_outcome_never_all_succeeded(world: World) -> None:
    [backfill] = [e for e in world.executions("backfill") if e["name"].startswith("bf_20240101-20240104_")]
    assert backfill["status"] == "FAILED"
    done = world.cli("history", backfill["name"])
    assert done.returncode == 0, done.stderr
    flat = " ".join(done.stdout.split())
    assert (
        f"map run: {len(DAYS)} days; each day's own outcome (the ledger): 1 FAILED, {len(DAYS) - 1} SUCCEEDED"
        in flat
    )
    assert f"{len(DAYS)}/{len(DAYS)}" not in flat and "items succeeded" not in flat
    assert re.search(rf"{BAD_DAY}\W+FAILED", flat), flat
