"""When a day page reloads after an action: while the execution it started runs, and after, until
the ledger records how it ended (ledger_sync writes that a moment after the execution ends)."""

from __future__ import annotations

import datetime as dt

import pytest

from meterpipe.console.views import FOLLOW_GRACE, awaits_ledger
from meterpipe.ops.ledger import DayRecord
from meterpipe.ops.runs import Run

DAY = dt.date(2023, 11, 15)
ARN = "arn:aws:states:us-east-1:000000000000:execution:meterpipe-daily-rollup:2023-11-15_run_x"
ENDED = dt.datetime(2026, 12, 3, 18, 30, 34, tzinfo=dt.UTC)


def run(status: str, *, redrives: int = 0) -> Run:
    return Run(
        arn=ARN,
        name=ARN.rsplit(":", 1)[-1],
        status=status,
        start=ENDED - dt.timedelta(seconds=30),
        stop=None if status == "RUNNING" else ENDED,
        date=DAY,
        origin="run",
        redrive_count=redrives,
    )


def attempt(number: int, status: str, *, redrives: int, recorded: str | None = None) -> DayRecord:
    return DayRecord(
        date=DAY,
        status=status,
        execution_arn=ARN,
        attempts=number,
        attempt=number,
        redrive_count=redrives,
        recorded_status=recorded,
    )


FIRST_INCOMPLETE = attempt(1, "INCOMPLETE", redrives=0)


def test_the_page_reloads_while_the_followed_execution_runs() -> None:
    assert awaits_ledger(run("RUNNING", redrives=1), [FIRST_INCOMPLETE], ENDED)


def test_a_redrive_that_ended_before_the_ledger_recorded_it_keeps_the_page_reloading() -> None:
    """The flake of the day page's Redrive: the redrive of a few rows ended before the page first
    showed, the day still read INCOMPLETE, and the page stopped reloading for good."""
    assert awaits_ledger(run("SUCCEEDED", redrives=1), [FIRST_INCOMPLETE], ENDED + dt.timedelta(seconds=1))


def test_the_page_stops_reloading_once_the_ledger_holds_the_end_of_that_redrive() -> None:
    recorded = [FIRST_INCOMPLETE, attempt(2, "SUCCEEDED", redrives=1)]
    assert not awaits_ledger(run("SUCCEEDED", redrives=1), recorded, ENDED + dt.timedelta(seconds=1))


@pytest.mark.parametrize(
    "attempts",
    [
        pytest.param([attempt(1, "RUNNING", redrives=0)], id="the ledger still says RUNNING"),
        pytest.param([attempt(1, "SUCCEEDED", redrives=0, recorded="RUNNING")], id="a reader's repair"),
    ],
)
def test_an_end_only_a_reader_inferred_is_not_the_ledgers_record(attempts: list[DayRecord]) -> None:
    assert awaits_ledger(run("SUCCEEDED"), attempts, ENDED + dt.timedelta(seconds=1))


def test_a_run_the_ledger_never_records_is_followed_only_for_a_grace_period() -> None:
    assert awaits_ledger(run("FAILED"), [], ENDED + FOLLOW_GRACE - dt.timedelta(seconds=1))
    assert not awaits_ledger(run("FAILED"), [], ENDED + FOLLOW_GRACE)


def test_no_followed_execution_means_no_reload() -> None:
    assert not awaits_ledger(None, [FIRST_INCOMPLETE], ENDED)
