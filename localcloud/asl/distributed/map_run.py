"""Map Runs: the record a Distributed Map keeps of its child workflow executions.

What DescribeMapRun, ListMapRuns and UpdateMapRun answer from (API Reference, "DescribeMapRun"):
status, dates, the runtime settings (``maxConcurrency``, ``toleratedFailurePercentage``,
``toleratedFailureCount``, which UpdateMapRun may change while it runs) and two sets of counters,
one for items and one for child executions. A record is live while its Map state runs (the
processor reads the settings each time it schedules a child) and plain JSON once saved.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any

from localcloud.asl.history import iso, parse_iso

RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
ABORTED = "ABORTED"

# Child execution status -> the counter it is counted under (MapRunItemCounts / MapRunExecutionCounts).
COUNTER_OF_STATUS = {
    "PENDING": "pending",
    "RUNNING": "running",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "TIMED_OUT": "timedOut",
    "ABORTED": "aborted",
}
COUNTERS = (
    "pending",
    "running",
    "succeeded",
    "failed",
    "timedOut",
    "aborted",
    "total",
    "resultsWritten",
    "failuresNotRedrivable",
    "pendingRedrive",
)


def _zero_counts() -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0)


class MapRunNotFound(LookupError):
    """No Map Run has this ARN (the API's ResourceNotFound)."""


@dataclass
class MapRun:
    """One Map Run. ``tolerated_*`` are None when the definition did not set them (reported as 0)."""

    map_run_arn: str
    execution_arn: str
    state_machine_arn: str  # the labelled ARN of the child workflows: stateMachine:<name>/<label>
    label: str
    start_date: dt.datetime
    max_concurrency: int = 0
    tolerated_failure_percentage: float | None = None
    tolerated_failure_count: int | None = None
    status: str = RUNNING
    stop_date: dt.datetime | None = None
    redrive_count: int = 0
    redrive_date: dt.datetime | None = None
    item_counts: dict[str, int] = field(default_factory=_zero_counts)
    execution_counts: dict[str, int] = field(default_factory=_zero_counts)
    # Set when UpdateMapRun changed a setting, so a waiting scheduler looks again (not persisted).
    changed: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)

    @property
    def uuid(self) -> str:
        """The last part of the ARN: ResultWriter's folder name."""
        return self.map_run_arn.rsplit(":", 1)[-1]

    # ---- counting ------------------------------------------------------------------------------

    def reset_counts(self, item_counts: list[int], statuses: list[str]) -> None:
        """Count every child from scratch: ``item_counts[i]`` items, in ``statuses[i]``."""
        self.item_counts = _zero_counts()
        self.execution_counts = _zero_counts()
        for items, status in zip(item_counts, statuses, strict=True):
            key = COUNTER_OF_STATUS[status]
            self.item_counts[key] += items
            self.execution_counts[key] += 1
        self.item_counts["total"] = sum(item_counts)
        self.execution_counts["total"] = len(item_counts)

    def move(self, items: int, old: str, new: str) -> None:
        """A child of ``items`` items went from status ``old`` to ``new``."""
        before, after = COUNTER_OF_STATUS[old], COUNTER_OF_STATUS[new]
        self.item_counts[before] -= items
        self.item_counts[after] += items
        self.execution_counts[before] -= 1
        self.execution_counts[after] += 1

    def failed_items(self) -> int:
        """Items whose child failed, timed out or was aborted: what the thresholds count."""
        counts = self.item_counts
        return counts["failed"] + counts["timedOut"] + counts["aborted"]

    def threshold_exceeded(self) -> bool:
        """The guide's "Setting failure thresholds": the Map Run fails once failed items exceed
        ToleratedFailureCount or their share of all items exceeds ToleratedFailurePercentage; with
        neither set, no failure is tolerated."""
        failed = self.failed_items()
        if failed == 0:
            return False
        count, percentage = self.tolerated_failure_count, self.tolerated_failure_percentage
        if count is None and percentage is None:
            return True
        if count is not None and failed > count:
            return True
        total = self.item_counts["total"]
        return percentage is not None and total > 0 and failed * 100.0 / total > percentage

    # ---- ending -----------------------------------------------------------------------------------

    def stop(self, status: str, when: dt.datetime) -> None:
        self.status = status
        self.stop_date = when
        # "When a Map Run has completed its execution or is aborted, the count of child workflow
        # executions in the Pending redrive state is reset to 0" (Redriving Map Runs).
        self.item_counts["pendingRedrive"] = 0
        self.execution_counts["pendingRedrive"] = 0

    def update(
        self,
        *,
        max_concurrency: int | None = None,
        tolerated_failure_percentage: float | None = None,
        tolerated_failure_count: int | None = None,
    ) -> None:
        """UpdateMapRun: the running scheduler picks the new values up at its next decision."""
        if max_concurrency is not None:
            if (
                isinstance(max_concurrency, bool)
                or not isinstance(max_concurrency, int)
                or max_concurrency < 0
            ):
                raise ValueError("maxConcurrency must be a non-negative integer")
            self.max_concurrency = max_concurrency
        if tolerated_failure_percentage is not None:
            value = tolerated_failure_percentage
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
                raise ValueError("toleratedFailurePercentage must be a number from 0 to 100")
            self.tolerated_failure_percentage = float(value)
        if tolerated_failure_count is not None:
            value = tolerated_failure_count
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError("toleratedFailureCount must be a non-negative integer")
            self.tolerated_failure_count = value
        self.changed.set()

    # ---- API shapes -------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """DescribeMapRun's response (botocore's shape: camelCase, datetimes)."""
        out: dict[str, Any] = {
            "mapRunArn": self.map_run_arn,
            "executionArn": self.execution_arn,
            "status": self.status,
            "startDate": self.start_date,
            "maxConcurrency": self.max_concurrency,
            "toleratedFailurePercentage": float(self.tolerated_failure_percentage or 0.0),
            "toleratedFailureCount": int(self.tolerated_failure_count or 0),
            "itemCounts": dict(self.item_counts),
            "executionCounts": dict(self.execution_counts),
            "redriveCount": self.redrive_count,
        }
        if self.stop_date is not None:
            out["stopDate"] = self.stop_date
        if self.redrive_date is not None:
            out["redriveDate"] = self.redrive_date
        return out

    def list_item(self) -> dict[str, Any]:
        """One entry of ListMapRuns' ``mapRuns``."""
        out: dict[str, Any] = {
            "executionArn": self.execution_arn,
            "mapRunArn": self.map_run_arn,
            "stateMachineArn": self.state_machine_arn,
            "startDate": self.start_date,
        }
        if self.stop_date is not None:
            out["stopDate"] = self.stop_date
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "map_run_arn": self.map_run_arn,
            "execution_arn": self.execution_arn,
            "state_machine_arn": self.state_machine_arn,
            "label": self.label,
            "start_date": iso(self.start_date),
            "max_concurrency": self.max_concurrency,
            "tolerated_failure_percentage": self.tolerated_failure_percentage,
            "tolerated_failure_count": self.tolerated_failure_count,
            "status": self.status,
            "stop_date": iso(self.stop_date) if self.stop_date else None,
            "redrive_count": self.redrive_count,
            "redrive_date": iso(self.redrive_date) if self.redrive_date else None,
            "item_counts": dict(self.item_counts),
            "execution_counts": dict(self.execution_counts),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MapRun:
        values = dict(data)
        for key in ("start_date", "stop_date", "redrive_date"):
            if values.get(key):
                values[key] = parse_iso(values[key])
        return cls(**values)
