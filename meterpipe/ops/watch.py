"""Following work until it ends: the executions it started (runs, redriven runs, backfills) by
DescribeExecution, and the days it covers by the ledger, one Query per poll whatever the number
of days (a backfill's children are never listed or described one by one).

A day counts as done by the work once the ledger records a new attempt at it (its ``Attempts``
passed the number it had when the work began) and that attempt ended, or once the execution it
names, one the work follows, has ended. Whatever the ledger says meanwhile, the outcome is read
from the ledger again once every execution has ended.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from meterpipe.ops.dates import DateRange, iso_utc
from meterpipe.ops.ledger import DayRecord, day_records
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.runs import Run, describe_run

PENDING = "PENDING"  # not started (yet) by the work
NOT_SUCCEEDED = frozenset({"FAILED", "INCOMPLETE", "NO_DATA", "ABORTED"})


@dataclass(frozen=True)
class Tracked:
    """An execution the work started or redrove."""

    arn: str
    name: str
    # A redriven execution counts as ended only once DescribeExecution shows this redrive count.
    min_redrive_count: int = 0

    def ended(self, run: Run) -> bool:
        return run.done and run.redrive_count >= self.min_redrive_count


@dataclass
class Work:
    """Some work (runs, redrives, backfills) and where it stands: its executions as last described,
    its days as the ledger has them."""

    days: tuple[dt.date, ...]
    baseline: dict[dt.date, int]  # each day's ledger attempts when the work began
    tracked: list[Tracked] = field(default_factory=list)
    executions: dict[str, Run] = field(default_factory=dict)  # ARN -> last DescribeExecution
    records: dict[dt.date, DayRecord] = field(default_factory=dict)

    def track(self, *items: Tracked) -> Work:
        self.tracked.extend(items)
        return self

    def _running_here(self, arn: str) -> bool:
        run = self.executions.get(arn)
        mine = next((t for t in self.tracked if t.arn == arn), None)
        return run is not None and mine is not None and not mine.ended(run)

    def status(self, day: dt.date) -> str:
        """The day's status in this work: PENDING until a new attempt at it shows."""
        record = self.records.get(day)
        if record is None:
            return PENDING
        if self._running_here(record.execution_arn):
            return "RUNNING"  # a redrive the ledger has not recorded yet shows the old end
        tracked = any(t.arn == record.execution_arn for t in self.tracked)
        if record.attempts <= self.baseline.get(day, 0) and not tracked:
            return PENDING
        return record.status

    def count(self, *statuses: str) -> int:
        return sum(1 for day in self.days if self.status(day) in statuses)

    @property
    def succeeded(self) -> int:
        return self.count("SUCCEEDED")

    @property
    def failed(self) -> int:
        return self.count(*NOT_SUCCEEDED)

    @property
    def running(self) -> int:
        return self.count("RUNNING")

    @property
    def pending(self) -> int:
        return self.count(PENDING)

    @property
    def items_written(self) -> int:
        return sum(
            self.records[day].items_written or 0 for day in self.days if self.status(day) == "SUCCEEDED"
        )

    @property
    def done(self) -> bool:
        return all(t.arn in self.executions and t.ended(self.executions[t.arn]) for t in self.tracked)

    @property
    def not_completed(self) -> list[dt.date]:
        """Days without a success in this work (failed, no data, aborted, never started)."""
        return [day for day in self.days if self.status(day) != "SUCCEEDED"]

    @property
    def ok(self) -> bool:
        return self.done and not self.not_completed

    def still_running(self) -> list[Tracked]:
        """The executions not known to have ended."""
        return [t for t in self.tracked if not (t.arn in self.executions and t.ended(self.executions[t.arn]))]

    def day_json(self, day: dt.date, now: dt.datetime) -> dict[str, Any]:
        record = self.records.get(day)
        data: dict[str, Any] = {"date": day.isoformat(), "status": self.status(day)}
        if record is not None and data["status"] != PENDING:
            data.update(record.to_json(now), status=data["status"])
        return data

    def to_json(self, now: dt.datetime) -> dict[str, Any]:
        return {
            "executions": [
                {
                    "execution": t.name,
                    "executionArn": t.arn,
                    "status": self.executions[t.arn].status if t.arn in self.executions else None,
                    "error": self.executions[t.arn].error if t.arn in self.executions else None,
                    "cause": self.executions[t.arn].cause if t.arn in self.executions else None,
                    "stop": iso_utc(self.executions[t.arn].stop) if t.arn in self.executions else None,
                }
                for t in self.tracked
            ],
            "succeeded": self.succeeded,
            "failed": self.failed,
            "running": self.running,
            "pending": self.pending,
            "itemsWritten": self.items_written,
            "days": [self.day_json(day, now) for day in self.days],
        }


def span(days: Iterable[dt.date]) -> DateRange:
    ordered = sorted(days)
    return DateRange(ordered[0], ordered[-1])


def before_work(pipeline: Pipeline, days: Iterable[dt.date]) -> Work:
    """The days' attempts so far, read *before* anything starts (so that a new attempt shows);
    the work then adds what it starts with :meth:`Work.track`."""
    wanted = tuple(sorted(set(days)))
    before = day_records(pipeline, span(wanted), repair=False) if wanted else {}
    return Work(wanted, {day: before[day].attempts for day in wanted if day in before})


def poll(pipeline: Pipeline, work: Work) -> Work:
    """Describe the executions not yet ended, and read the days' records (one Query)."""
    for item in work.tracked:
        known = work.executions.get(item.arn)
        if known is None or not item.ended(known):
            work.executions[item.arn] = describe_run(pipeline, item.arn)
    if work.days:
        # The repair (a DescribeExecution per RUNNING record) only once the work has ended: while
        # it runs, a day's end shows when ledger_sync records it, a second or so later.
        records = day_records(pipeline, span(work.days), repair=work.done)
        work.records = {day: records[day] for day in work.days if day in records}
    return work


def watch(
    pipeline: Pipeline,
    work: Work,
    *,
    on_progress: Callable[[Work], None] | None = None,
    poll_seconds: float = 1.0,
) -> Work:
    """Poll until every tracked execution has ended; ``on_progress`` sees each poll."""
    while True:
        poll(pipeline, work)
        if on_progress is not None:
            on_progress(work)
        if work.done:
            return work
        time.sleep(poll_seconds)
