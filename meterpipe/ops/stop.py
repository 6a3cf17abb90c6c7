"""Stopping runs: StopExecution of a daily_rollup execution, of a day's running run, or of a
backfill and the daily_rollup executions it started that still run.

A stop does not touch the ledger: ledger_sync records the day ABORTED when the status event
arrives, and until then readers show it ABORTED through the ledger's one repair (a RUNNING
record whose execution ended).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from meterpipe.errors import MeterpipeError
from meterpipe.ops.history import backfill_child_name, backfill_range, find_execution, is_child_of
from meterpipe.ops.ledger import day_record, day_records
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.runs import Run, UnknownExecution, describe_run, run_from_description

STOP_ERROR = "MeterPipe.Stopped"
STOP_CAUSE = "stopped by an operator (meterpipe stop)"


class NothingToStop(MeterpipeError):
    """The execution, day or backfill named is not running."""


@dataclass(frozen=True)
class Stopped:
    machine: str  # daily_rollup | backfill
    execution: Run  # as it was before the stop
    date: dt.date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "stateMachine": self.machine,
            "execution": self.execution.name,
            "executionArn": self.execution.arn,
            "date": self.date.isoformat() if self.date else None,
        }


def _stop(pipeline: Pipeline, run: Run) -> None:
    pipeline.sfn.stop_execution(executionArn=run.arn, error=STOP_ERROR, cause=STOP_CAUSE)


def stop_execution(pipeline: Pipeline, reference: str) -> list[Stopped]:
    """Stop a daily_rollup execution, or a backfill with its running days (name or ARN)."""
    machine, described = find_execution(pipeline, reference)
    run = run_from_description(described, pipeline.timezone)
    if machine == "backfill":
        return _stop_backfill(pipeline, run)
    if run.done:
        raise NothingToStop(f"{run.name} is {run.status}: only a running execution can be stopped")
    _stop(pipeline, run)
    return [Stopped(machine, run, run.date)]


def stop_day(pipeline: Pipeline, day: dt.date) -> list[Stopped]:
    """Stop the run that owns ``day`` in the ledger, while it runs."""
    record = day_record(pipeline, day)
    if record is None:
        raise NothingToStop(f"{day} has never been run: nothing to stop")
    if not record.running:
        raise NothingToStop(
            f"{day} is not running: its latest run {record.execution_name} is {record.status}"
        )
    run = describe_run(pipeline, record.execution_arn)
    _stop(pipeline, run)
    return [Stopped("daily_rollup", run, day)]


def stop_backfill(pipeline: Pipeline, reference: str) -> list[Stopped]:
    """Stop a backfill (name or ARN) and its daily_rollup executions that still run."""
    machine, described = find_execution(pipeline, reference)
    run = run_from_description(described, pipeline.timezone)
    if machine != "backfill":
        raise MeterpipeError(
            f"{run.name} is a daily_rollup execution, not a backfill: stop it without --backfill"
        )
    return _stop_backfill(pipeline, run)


def _stop_backfill(pipeline: Pipeline, backfill: Run) -> list[Stopped]:
    """The backfill first (so it starts no more days), then each of its days still running: the
    ledger's owner when it is one of the backfill's executions, else the execution the backfill
    names for that day (one that waits to claim its day is not the owner yet). A day that ran
    when the backfill was stopped counts as stopped even if the backfill's stop ended it first
    (localcloud, like a .sync task on AWS, stops the child it waits for)."""
    days = backfill_range(backfill)
    records = day_records(pipeline, days, repair=False) if days is not None else {}
    running = {
        day: record.execution_arn
        for day, record in records.items()
        if record.running and is_child_of(backfill, day, record.execution_name)
    }
    stopped: list[Stopped] = []
    if not backfill.done:
        _stop(pipeline, backfill)
        stopped.append(Stopped("backfill", backfill))
    for day in days.days if days is not None else []:
        record = records.get(day)
        name = backfill_child_name(day, backfill.name, backfill.redrive_count)
        if day not in running and record is not None and record.execution_name == name:
            continue  # its execution of the day had ended
        arn = running.get(day) or pipeline.deployment.execution_arn(
            pipeline.deployment.daily_rollup_arn, name
        )
        try:
            child = describe_run(pipeline, arn)
        except UnknownExecution:
            continue  # never started
        if not child.done:
            _stop(pipeline, child)
        if not child.done or day in running:
            stopped.append(Stopped("daily_rollup", child, day))
    return _nothing_stopped(backfill, stopped)


def _nothing_stopped(backfill: Run, stopped: list[Stopped]) -> list[Stopped]:
    if not stopped:
        raise NothingToStop(
            f"backfill {backfill.name} is {backfill.status} and none of its days is running: nothing to stop"
        )
    return stopped
