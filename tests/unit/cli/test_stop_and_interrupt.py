"""``meterpipe stop`` and Ctrl-C during ``--wait``: what is stopped, what the ledger then shows,
and the messages and exit codes."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from meterpipe.ops.dates import DateRange
from meterpipe.ops.ledger import day_records
from meterpipe.ops.pipeline import Pipeline
from tests.unit.cli.conftest import Invoke, one_error_line
from tests.unit.ops.fake_sfn import DAILY_ROLLUP_ARN, FakeStepFunctions, succeeded

FIRST_WEEK = DateRange(dt.date(2024, 1, 1), dt.date(2024, 1, 7))


def stops(fake: FakeStepFunctions) -> list[str]:
    return [p["executionArn"].rsplit(":", 1)[-1] for op, p in fake.calls if op == "StopExecution"]


def ledger(pipeline: Pipeline, days: DateRange = FIRST_WEEK) -> dict[int, str]:
    return {day.day: record.status for day, record in day_records(pipeline, days).items()}


def test_stop_date_stops_the_run_that_owns_the_day_and_the_ledger_shows_it_aborted(
    pipeline: Pipeline, invoke: Invoke, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.polls_to_finish = 100
    started = invoke("run", "--date", "2024-01-05").stdout.split()[1]
    result = invoke("stop", "--date", "2024-01-05")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"stopped {started} (daily_rollup 2024-01-05)",
        "1 day(s) ABORTED: 2024-01-05; complete them with meterpipe redrive --failed --from 2024-01-05 "
        "--to 2024-01-05",
    ]
    assert stops(fake_sfn) == [started]
    assert ledger(pipeline) == {5: "ABORTED"}
    [day] = json.loads(invoke("history", "--from", "2024-01-05", "--to", "2024-01-05", "--json").stdout)
    assert (day["status"], day["execution"]) == ("ABORTED", started)


def test_a_stop_shows_aborted_before_ledger_sync_records_it(
    pipeline: Pipeline, invoke: Invoke, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.polls_to_finish = 100
    fake_sfn.ledger_sync_lag = True
    invoke("run", "--date", "2024-01-05")
    invoke("stop", "--date", "2024-01-05")
    assert ledger(pipeline) == {5: "ABORTED"}  # the repair: the record still says RUNNING
    records = day_records(pipeline, FIRST_WEEK, repair=False)
    assert records[dt.date(2024, 1, 5)].status == "RUNNING"
    calendar = json.loads(invoke("calendar", "--month", "2024-01", "--json").stdout)
    assert calendar["days"][4]["status"] == "aborted"


def test_stop_backfill_stops_it_and_its_days_still_running(
    pipeline: Pipeline, invoke: Invoke, fake_sfn: FakeStepFunctions
) -> None:
    fake_sfn.polls_to_finish = 100
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "other", {"date": "2024-01-08"}, succeeded())
    started = json.loads(invoke("backfill", "--from", "2024-01-01", "--to", "2024-01-07", "--json").stdout)[
        "started"
    ][0]["execution"]
    result = invoke("stop", "--backfill", started, "--json")
    assert result.exit_code == 0, result.output
    stopped = json.loads(result.stdout)["stopped"]
    assert [(s["stateMachine"], s["date"]) for s in stopped] == [("backfill", None)] + [
        ("daily_rollup", f"2024-01-0{n}") for n in range(1, 8)
    ]
    assert stops(fake_sfn)[0] == started  # the backfill first: it starts no more days
    assert set(ledger(pipeline).values()) == {"ABORTED"}
    assert ledger(pipeline, DateRange(dt.date(2024, 1, 8), dt.date(2024, 1, 8))) == {8: "SUCCEEDED"}
    again = invoke("stop", started)  # an EXECUTION of backfill stops as --backfill does
    assert again.exit_code == 1
    assert one_error_line(again) == (
        f"error: backfill {started} is ABORTED and none of its days is running: nothing to stop"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: name one EXECUTION, or give --date or --backfill (only one)"),
        (["x", "--date", "2024-01-05"], "error: name one EXECUTION, or give --date or --backfill (only one)"),
        (["--date", "2024-01-09"], "error: 2024-01-09 has never been run: nothing to stop"),
        (["--date", "2024-01-31"], "error: 2024-01-31 is not running: its latest run done is SUCCEEDED"),
        (["done"], "error: done is SUCCEEDED: only a running execution can be stopped"),
        (
            ["--backfill", "done"],
            "error: done is a daily_rollup execution, not a backfill: stop it without --backfill",
        ),
        (
            ["nope"],
            "error: unknown execution 'nope': no such execution of meterpipe-daily-rollup or "
            "meterpipe-backfill",
        ),
    ],
)
def test_stop_says_why_there_is_nothing_to_stop(
    pipeline: Pipeline, invoke: Invoke, fake_sfn: FakeStepFunctions, args: list[str], message: str
) -> None:
    fake_sfn.add_execution(DAILY_ROLLUP_ARN, "done", {"date": "2024-01-31"}, succeeded())
    result = invoke("stop", *args)
    assert result.exit_code == 1
    assert one_error_line(result) == message
    assert stops(fake_sfn) == []


def interrupt_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C arrives while the command waits between two polls."""

    def sleep(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("meterpipe.ops.watch.time.sleep", sleep)


@pytest.mark.parametrize(
    "command",
    [
        ["run", "--date", "2024-01-05", "--wait"],
        ["backfill", "--from", "2024-01-01", "--to", "2024-01-03", "--wait"],
        ["redrive", "--failed", "--from", "2024-01-05", "--to", "2024-01-05", "--wait"],
    ],
)
def test_ctrl_c_during_wait_stops_nothing_and_says_how_to_stop_it(
    pipeline: Pipeline,
    invoke: Invoke,
    fake_sfn: FakeStepFunctions,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
) -> None:
    fake_sfn.polls_to_finish = 100
    interrupt_the_wait(monkeypatch)
    result = invoke(*command, "--home", "/srv/meterpipe")
    assert result.exit_code == 130
    [started] = [p["name"] for op, p in fake_sfn.calls if op == "StartExecution"]
    assert result.stderr.strip().splitlines()[-1] == (
        f"still running: {started}; stop it with meterpipe stop {started} --home /srv/meterpipe"
    )
    assert stops(fake_sfn) == []
    assert all(e.status == "RUNNING" for e in fake_sfn.executions.values())
