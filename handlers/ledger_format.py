"""The per-day ledger's data contract: table name, key layout, attribute names and statuses.

docs/ledger.md describes the ledger; this module holds its names in one place. It is part of the
Lambda asset (``handlers/``: write_batch checks that its execution still owns the day) and imports
nothing beyond the standard library, so ``meterpipe`` (table specs, CLI, console) imports it too.
"""

from __future__ import annotations

import datetime as dt
from typing import Final, Literal, get_args

LEDGER_TABLE_NAME: Final = "MeterPipeLedger"

# Keys: every record kind of one pipeline shares the partition key's prefix.
PIPELINE: Final = "Pipeline"  # S, partition key
KEY: Final = "Key"  # S, sort key

DAY_PIPELINE: Final = "daily_rollup"  # day records: Key = "YYYY-MM-DD"
ATTEMPT_PIPELINE: Final = "daily_rollup#attempts"  # attempt records: Key = "YYYY-MM-DD#000003"
EXECUTION_PIPELINE: Final = "daily_rollup#executions"  # execution records: Key = execution ARN
ATTEMPT_DIGITS: Final = 6

# Attributes of day and attempt records (docs/ledger.md lists what each means).
STATUS: Final = "Status"
EXECUTION: Final = "Execution"
ATTEMPTS: Final = "Attempts"
ATTEMPT: Final = "Attempt"
ORIGIN: Final = "Origin"
REDRIVE_COUNT: Final = "RedriveCount"
STARTED_AT: Final = "StartedAt"
ENDED_AT: Final = "EndedAt"
UPDATED_AT: Final = "UpdatedAt"
WRITES_STARTED: Final = "WritesStarted"
READINGS: Final = "Readings"
BAD_READINGS: Final = "BadReadings"
BAD_READINGS_SKIPPED: Final = "BadReadingsSkipped"
MAX_BAD_READINGS: Final = "MaxBadReadings"
MONTH_BAD_READINGS_EXCLUDED: Final = "MonthBadReadingsExcluded"
SENSORS_REPORTING: Final = "SensorsReporting"
SENSORS_KNOWN: Final = "SensorsKnown"
READINGS_EXPECTED: Final = "ReadingsExpected"
ITEMS_HOUR: Final = "ItemsHour"
ITEMS_DAY: Final = "ItemsDay"
ITEMS_MONTH: Final = "ItemsMonth"
FINGERPRINT: Final = "Fingerprint"
INPUT_OBJECTS: Final = "InputObjects"
INPUT_BYTES: Final = "InputBytes"
ERROR: Final = "Error"
CAUSE: Final = "Cause"
DATE: Final = "Date"  # execution records: the processing date

Status = Literal["RUNNING", "SUCCEEDED", "FAILED", "NO_DATA", "INCOMPLETE", "ABORTED"]
STATUSES: Final[tuple[Status, ...]] = get_args(Status)
FINAL_STATUSES: Final = frozenset(s for s in STATUSES if s != "RUNNING")

# The longest Cause a record keeps (cut at a line boundary).
CAUSE_LIMIT: Final = 4000


def day_key(day: dt.date) -> dict[str, dict[str, str]]:
    """The DynamoDB key of a day record."""
    return {PIPELINE: {"S": DAY_PIPELINE}, KEY: {"S": day.isoformat()}}


def attempt_key(day: dt.date, attempt: int) -> dict[str, dict[str, str]]:
    """The DynamoDB key of an attempt record."""
    return {PIPELINE: {"S": ATTEMPT_PIPELINE}, KEY: {"S": f"{day.isoformat()}#{attempt:0{ATTEMPT_DIGITS}d}"}}


def execution_key(execution_arn: str) -> dict[str, dict[str, str]]:
    """The DynamoDB key of an execution record."""
    return {PIPELINE: {"S": EXECUTION_PIPELINE}, KEY: {"S": execution_arn}}
