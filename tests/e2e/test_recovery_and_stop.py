"""Recovery, stopping and the latest run, end to end: the installed ``meterpipe`` against a
localcloud of its own (these tests kill it), each ending with the whole rollup table compared
with Decimal totals computed here from the generated files.

- localcloud killed (SIGKILL) mid-backfill, ``local up`` at once, then one ``redrive --failed
  --from --to --wait`` completes every day;
- ``stop --date``, ``stop --backfill`` and Ctrl-C (SIGINT to the CLI) during ``--wait``, with the
  ledger showing ABORTED;
- ``schedule fire --at`` a time before an existing run does not reorder a day's runs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from localcloud import control
from tests.e2e.conftest import METERPIPE, Cli, expected_items, lake_readings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MARCH = [dt.date(2024, 3, 1) + dt.timedelta(days=n) for n in range(10)]
FIRST, LAST = str(MARCH[0]), str(MARCH[-1])
DEADLINE_SECONDS = 600


class Localcloud:
    """The CLI against a localcloud whose endpoint changes when it is started again."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.cli = Cli(home, "")

    def up(self) -> subprocess.CompletedProcess[str]:
        done = self.cli("local", "up", "--port", "0")
        if done.returncode == 0:
            status = json.loads(self.cli("local", "status", "--json").stdout)
            self.cli = Cli(self.home, status["endpoint"])
        return done

    def pid(self) -> int:
        return int(json.loads(self.cli("local", "status", "--json").stdout)["pid"])


def wait_for(what: str, check: Callable[[], Any]) -> Any:
    """Poll ``check`` until it returns something true (no fixed sleeps: the state decides)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def statuses(cli: Cli, first: str = FIRST, last: str = LAST) -> dict[str, str]:
    return {d["date"]: d["status"] for d in cli.json("history", "--from", first, "--to", last)}


@contextmanager
def held(cli: Cli) -> Iterator[None]:
    """While inside, daily_rollup runs stay RUNNING before any write, long enough to be stopped:
    Athena refuses every query start as throttled (a localcloud fault, cleared on the way out), so
    each run sits in its validation's Retry (5 attempts, backing off up to a minute). A run is
    otherwise done in seconds, before a stop could reach it. A Retry's wait has no call in flight:
    the stop ends the run cleanly, and its redrive completes it."""
    added = cli(
        "local", "faults", "add", "athena", "StartQueryExecution", "--error", "TooManyRequestsException"
    )
    assert added.returncode == 0, added.stderr
    try:
        yield
    finally:
        assert cli("local", "faults", "clear").returncode == 0


def run_claiming(cli: Cli, day: dt.date) -> str:
    """``run --date`` (no wait), once the run has claimed its day in the ledger (as it starts)."""
    execution = str(cli.json("run", "--date", str(day))["execution"])

    def claimed() -> bool:
        [line] = cli.json("history", "--from", str(day), "--to", str(day))
        return bool(line["status"] == "RUNNING" and line["execution"] == execution)

    wait_for(f"{execution} to claim {day}", claimed)
    return execution


@pytest.fixture(scope="module")
def march(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Localcloud, Path]]:
    home = tmp_path_factory.mktemp("recovery-home")
    local = Localcloud(home)
    up = local.up()
    assert up.returncode == 0, up.stdout + up.stderr
    data = tmp_path_factory.mktemp("march")
    made = local.cli(
        "generate", "--customers", "3", "--from", FIRST, "--to", LAST, "--seed", "5", "--out", str(data)
    )
    assert made.returncode == 0, made.stderr
    assert local.cli("ingest", str(data)).returncode == 0
    try:
        yield local, data
    finally:
        local.cli("local", "down")


def completed(local: Localcloud, data: Path) -> None:
    """One ``redrive --failed`` over the month's range completes every day: the whole table then
    holds exactly the totals of the readings."""
    done = local.cli("redrive", "--failed", "--from", FIRST, "--to", LAST, "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(statuses(local.cli).values()) == {"SUCCEEDED"}
    assert local.cli.table() == expected_items(data / "customer_meter_sensor", lake_readings(data))


def test_one_redrive_completes_a_backfill_killed_midway_after_local_up_at_once(
    march: tuple[Localcloud, Path],
) -> None:
    local, data = march
    # Each Athena query start held 3 s, so the backfill is still far from its last days when the
    # kill comes, however slowly this machine polls (the fault dies with the killed server).
    slow = local.cli("local", "faults", "add", "athena", "StartQueryExecution", "--delay", "3")
    assert slow.returncode == 0, slow.stdout + slow.stderr
    started = local.cli.json("backfill", "--from", FIRST, "--to", LAST, "--concurrency", "2")["started"]
    assert len(started) == 1

    def some_done_some_running() -> bool:
        days = local.cli.json("history", "--from", FIRST, "--to", LAST)
        # Done as the ledger itself records it, not as `history` shows a RUNNING record whose
        # execution has ended (its `recordedStatus`): ledger_sync records the end only once a
        # checkpoint has saved it, and an end the kill comes before is lost, as documented.
        done = sum(1 for d in days if d["status"] == "SUCCEEDED" and "recordedStatus" not in d)
        return done >= 2 and any(d["status"] == "RUNNING" for d in days)

    wait_for("a few days done and some running", some_done_some_running)
    # A kill keeps what the last checkpoint saved, and the ledger's own SUCCEEDED is a DynamoDB
    # write the next flush makes durable (about a second later): a day seen done just before the
    # kill was lost, as documented, and read INCOMPLETE after it (it failed so on a clean clone).
    # The checkpoint makes the days seen done durable; the days still running are killed midway.
    control.checkpoint(local.cli.endpoint)
    os.kill(local.pid(), signal.SIGKILL)

    up = local.up()  # at once: nothing answers on the port any more, whatever the pid file says
    assert up.returncode == 0, up.stdout + up.stderr
    assert "localcloud started at http://127.0.0.1:" in up.stdout
    before = statuses(local.cli)
    # Done before the kill, interrupted by it (failed since), and never started (no record).
    assert {"SUCCEEDED", "NEVER"} <= set(before.values()), before
    assert set(before.values()) & {"FAILED", "INCOMPLETE"}, before

    completed(local, data)  # redriving the interrupted days, backfilling the ones never started
    calendar = local.cli.json("calendar", "--month", "2024-03")
    assert (calendar["counts"]["succeeded"], calendar["counts"]["never"]) == (len(MARCH), 31 - len(MARCH))


def test_stop_date_and_stop_backfill_leave_the_days_aborted_until_redriven(
    march: tuple[Localcloud, Path],
) -> None:
    local, data = march
    day = MARCH[2]
    with held(local.cli):
        started = run_claiming(local.cli, day)
        stopped = local.cli("stop", "--date", str(day))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert stopped.stdout.splitlines()[0] == f"stopped {started} (daily_rollup {day})"
    wait_for(
        "the day ABORTED in the ledger",
        lambda: statuses(local.cli, str(day), str(day))[str(day)] == "ABORTED",
    )

    with held(local.cli):
        backfill = local.cli.json("backfill", "--from", str(MARCH[5]), "--to", LAST)["started"][0][
            "execution"
        ]
        wait_for(
            "a day of the backfill running",
            lambda: "RUNNING" in statuses(local.cli, str(MARCH[5]), LAST).values(),
        )
        halted = local.cli("stop", "--backfill", backfill, "--json")
    assert halted.returncode == 0, halted.stdout + halted.stderr
    names = [s["execution"] for s in json.loads(halted.stdout)["stopped"]]
    assert names[0] == backfill and len(names) >= 2
    described = local.cli.client("stepfunctions").describe_execution(
        executionArn=json.loads(halted.stdout)["stopped"][0]["executionArn"]
    )
    assert described["status"] == "ABORTED"
    stopped_days = [s["date"] for s in json.loads(halted.stdout)["stopped"][1:]]
    wait_for(
        "the stopped days ABORTED in the ledger",
        lambda: all(statuses(local.cli, str(MARCH[5]), LAST)[d] == "ABORTED" for d in stopped_days),
    )
    assert local.cli.json("calendar", "--month", "2024-03")["counts"]["aborted"] >= 2

    # `meterpipe redrive <backfill>` completes that backfill's range: the stopped days and any the
    # stop kept from starting.
    redone = local.cli("redrive", backfill, "--wait")
    assert redone.returncode == 0, redone.stdout + redone.stderr
    assert set(statuses(local.cli, str(MARCH[5]), LAST).values()) == {"SUCCEEDED"}
    assert statuses(local.cli, str(day), str(day))[str(day)] == "ABORTED"  # outside its range

    completed(local, data)


@contextmanager
def _sigint_as_in_a_terminal() -> Iterator[None]:
    """SIGINT caught while a child starts, so the child gets it back at its default, as in a
    terminal: a suite started in the background of a shell without job control (``make test &``
    in a script) ignores SIGINT, and a child inherits that and would never see the Ctrl-C sent."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_during_backfill_wait_stops_nothing_and_prints_the_stop_command(
    march: tuple[Localcloud, Path],
) -> None:
    local, data = march
    with held(local.cli):
        environment = {**os.environ, "METERPIPE_HOME": str(local.home), "COLUMNS": "200"}
        with _sigint_as_in_a_terminal():
            waiting = subprocess.Popen(
                [str(METERPIPE), "backfill", "--from", FIRST, "--to", str(MARCH[3]), "--wait"],
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        assert waiting.stderr is not None
        announced = waiting.stderr.readline()  # "backfill <name>: <range> (<n> days)", once it started
        name = announced.split()[1].rstrip(":")
        assert name.startswith("bf_"), announced
        wait_for(
            "a day of it running", lambda: "RUNNING" in statuses(local.cli, FIRST, str(MARCH[3])).values()
        )
        waiting.send_signal(signal.SIGINT)
        _, rest = waiting.communicate(timeout=60)

        assert waiting.returncode == 130, rest
        assert rest.strip().splitlines()[-1] == f"still running: {name}; stop it with meterpipe stop {name}"
        account = local.cli.client("sts").get_caller_identity()["Account"]
        arn = f"arn:aws:states:us-east-1:{account}:execution:meterpipe-backfill:{name}"
        sfn = local.cli.client("stepfunctions")
        assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"  # nothing was stopped

        stop = local.cli("stop", name)
        assert stop.returncode == 0, stop.stdout + stop.stderr
        assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    completed(local, data)


def test_a_schedule_fired_at_an_earlier_time_does_not_reorder_a_days_runs(
    march: tuple[Localcloud, Path],
) -> None:
    local, data = march
    day = MARCH[7]
    [before] = local.cli.json("history", "--from", str(day), "--to", str(day))
    with held(local.cli):
        first = run_claiming(local.cli, day)
        assert local.cli("stop", first).returncode == 0
    [stopped] = local.cli.json("history", "--from", str(day), "--to", str(day))
    first_start = stopped["start"]
    # Fire the schedule as of the morning after the day: localcloud's clock goes back years,
    # so the scheduled run and the run after it start "before" the first run.
    at = f"{day + dt.timedelta(days=1)}T03:30:00Z"
    fired = local.cli("schedule", "fire", "--at", at, "--wait")
    assert fired.returncode == 0, fired.stdout + fired.stderr
    last = local.cli("run", "--date", str(day), "--wait", "--json")
    assert last.returncode == 0, last.stdout + last.stderr
    [outcome] = json.loads(last.stdout)["days"]
    [line] = local.cli.json("history", "--from", str(day), "--to", str(day))
    assert (line["status"], line["execution"]) == ("SUCCEEDED", outcome["execution"])
    assert line["attempts"] == before["attempts"] + 3  # the stopped run, the scheduled one, the last
    assert line["start"] < first_start  # started "before" the first run, and still the latest
    assert line["execution"] != first
    assert local.cli.json("calendar", "--month", "2024-03")["days"][day.day - 1]["status"] == "succeeded"
    assert local.cli.table() == expected_items(data / "customer_meter_sensor", lake_readings(data))


def test_two_runs_of_one_day_at_once_through_the_cli_are_serialised_and_the_table_is_whole(
    march: tuple[Localcloud, Path],
) -> None:
    """Two operators run the same day at the same moment: one owns the day, the other waits for it
    and runs after it (docs/ledger.md, "Two runs of one day"); both succeed and the items are the
    totals of the readings, never a mix or a sum of the two runs."""
    local, data = march
    day = MARCH[8]
    [before] = local.cli.json("history", "--from", str(day), "--to", str(day))
    environment = {**os.environ, "METERPIPE_HOME": str(local.home), "COLUMNS": "200"}
    command = [str(METERPIPE), "run", "--date", str(day), "--wait", "--json"]
    runs = [subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=DEADLINE_SECONDS)[0] for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    executions = {json.loads(output)["days"][0]["execution"] for output in outputs}
    assert len(executions) == 2
    [line] = local.cli.json("history", "--from", str(day), "--to", str(day))
    assert line["status"] == "SUCCEEDED" and line["execution"] in executions
    assert line["attempts"] == before["attempts"] + 2
    assert local.cli.table() == expected_items(data / "customer_meter_sensor", lake_readings(data))
