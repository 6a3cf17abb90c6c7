"""The per-day ledger, read: the contract between the state machines and everyone downstream
(docs/ledger.md; its names are ``handlers.ledger_format``'s).

Day records answer "how did this processing date go": one key-condition Query per range
(``Pipeline = daily_rollup AND Key BETWEEN first AND last``), so a month is one Query page, two at
most. A day's attempts are one Query too. The latest run of a day is its record's ``Execution``
(attempt order), never a start time: no clock, moved or not, can reorder it.

Readers trust the record, with the one repair docs/ledger.md allows: a ``RUNNING`` record whose
execution has ended (ledger_sync has not processed its status event yet) is shown with the
status ledger_sync will record, from DescribeExecution of that execution only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from handlers import ledger_format as lf
from meterpipe.aws import error_code
from meterpipe.ops.dates import DateRange, iso_utc
from meterpipe.ops.pipeline import Pipeline

# Execution statuses (DescribeExecution) and the day status ledger_sync records for each end.
_ENDED_AS = {"ABORTED": "ABORTED", "SUCCEEDED": "SUCCEEDED"}
_FAILURES = frozenset({"FAILED", "TIMED_OUT"})
LOST_EXECUTION = "MeterPipe.ExecutionLost"


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name, {}).get("S")
    return None if value is None else str(value)


def _number(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name, {}).get("N")
    return None if value is None else int(value)


def _time(item: dict[str, Any], name: str) -> dt.datetime | None:
    text = _text(item, name)
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class DayRecord:
    """A day record, or (``attempt`` set) an attempt record, as a reader sees it."""

    date: dt.date
    status: str  # shown: the recorded status, or the repaired one
    execution_arn: str
    attempts: int  # day record: attempts so far; attempt record: its number
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    writes_started: bool = False
    readings: int | None = None
    bad_readings: int | None = None
    bad_readings_skipped: int | None = None
    max_bad_readings: int | None = None
    month_bad_readings_excluded: int | None = None
    sensors_reporting: int | None = None
    sensors_known: int | None = None
    readings_expected: int | None = None
    items_hour: int | None = None
    items_day: int | None = None
    items_month: int | None = None
    fingerprint: str | None = None
    input_objects: int | None = None
    input_bytes: int | None = None
    error: str | None = None
    cause: str | None = None
    attempt: int | None = None  # attempt records
    origin: str | None = None  # attempt records: run | schedule | backfill | redrive | other
    redrive_count: int | None = None  # attempt records
    recorded_status: str | None = None  # set when the shown status is a repair of RUNNING

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> DayRecord:
        key = str(item[lf.KEY]["S"])
        day, _, attempt = key.partition("#")
        return cls(
            date=dt.date.fromisoformat(day),
            status=_text(item, lf.STATUS) or "RUNNING",
            execution_arn=_text(item, lf.EXECUTION) or "",
            attempts=_number(item, lf.ATTEMPTS) or _number(item, lf.ATTEMPT) or (int(attempt or 0)),
            started_at=_time(item, lf.STARTED_AT),
            ended_at=_time(item, lf.ENDED_AT),
            updated_at=_time(item, lf.UPDATED_AT),
            writes_started=bool(item.get(lf.WRITES_STARTED, {}).get("BOOL", False)),
            readings=_number(item, lf.READINGS),
            bad_readings=_number(item, lf.BAD_READINGS),
            bad_readings_skipped=_number(item, lf.BAD_READINGS_SKIPPED),
            max_bad_readings=_number(item, lf.MAX_BAD_READINGS),
            month_bad_readings_excluded=_number(item, lf.MONTH_BAD_READINGS_EXCLUDED),
            sensors_reporting=_number(item, lf.SENSORS_REPORTING),
            sensors_known=_number(item, lf.SENSORS_KNOWN),
            readings_expected=_number(item, lf.READINGS_EXPECTED),
            items_hour=_number(item, lf.ITEMS_HOUR),
            items_day=_number(item, lf.ITEMS_DAY),
            items_month=_number(item, lf.ITEMS_MONTH),
            fingerprint=_text(item, lf.FINGERPRINT),
            input_objects=_number(item, lf.INPUT_OBJECTS),
            input_bytes=_number(item, lf.INPUT_BYTES),
            error=_text(item, lf.ERROR),
            cause=_text(item, lf.CAUSE),
            attempt=int(attempt) if attempt else None,
            origin=_text(item, lf.ORIGIN),
            redrive_count=_number(item, lf.REDRIVE_COUNT),
        )

    @property
    def execution_name(self) -> str:
        return self.execution_arn.rsplit(":", 1)[-1]

    @property
    def running(self) -> bool:
        return self.status == "RUNNING"

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    @property
    def items_written(self) -> int | None:
        """Items the attempt wrote (hour + day + month), once recorded."""
        counts = [n for n in (self.items_hour, self.items_day, self.items_month) if n is not None]
        return sum(counts) if counts else None

    def duration(self, now: dt.datetime) -> float | None:
        """Seconds from the attempt's start to its end, or to ``now`` while it runs."""
        if self.started_at is None:
            return None
        end = self.ended_at if self.ended_at is not None and not self.running else now
        return max(0.0, (end - self.started_at).total_seconds())

    def to_json(self, now: dt.datetime) -> dict[str, Any]:
        duration = self.duration(now)
        data: dict[str, Any] = {
            "date": self.date.isoformat(),
            "status": self.status,
            "attempts": self.attempts,
            "execution": self.execution_name,
            "executionArn": self.execution_arn,
            "start": iso_utc(self.started_at),
            "end": iso_utc(self.ended_at),
            "durationSeconds": None if duration is None else round(duration, 3),
            "itemsWritten": self.items_written,
            "items": {"hour": self.items_hour, "day": self.items_day, "month": self.items_month},
            "readings": self.readings,
            "readingsExpected": self.readings_expected,
            "badReadings": self.bad_readings,
            "badReadingsSkipped": self.bad_readings_skipped,
            "maxBadReadings": self.max_bad_readings,
            "monthBadReadingsExcluded": self.month_bad_readings_excluded,
            "sensorsReporting": self.sensors_reporting,
            "sensorsKnown": self.sensors_known,
            "fingerprint": self.fingerprint,
            "inputObjects": self.input_objects,
            "inputBytes": self.input_bytes,
            "writesStarted": self.writes_started,
            "error": self.error,
            "cause": self.cause,
        }
        if self.attempt is not None:
            data.update(attempt=self.attempt, origin=self.origin, redriveCount=self.redrive_count)
        if self.recorded_status is not None:
            data["recordedStatus"] = self.recorded_status
        return data


# -- reading -----------------------------------------------------------------------------------------


def _query(pipeline: Pipeline, partition: str, low: str | None, high: str | None) -> Iterator[dict[str, Any]]:
    """Items of one partition, with the sort key between ``low`` and ``high`` when given; consistent
    reads, since a state machine may have written the record a moment ago."""
    names = {"#p": lf.PIPELINE}
    values: dict[str, Any] = {":p": {"S": partition}}
    condition = "#p = :p"
    if low is not None and high is not None:
        names["#k"] = lf.KEY
        values.update({":low": {"S": low}, ":high": {"S": high}})
        condition += " AND #k BETWEEN :low AND :high"
    paginator = pipeline.client("dynamodb").get_paginator("query")
    for page in paginator.paginate(
        TableName=pipeline.deployment.ledger_table,
        KeyConditionExpression=condition,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
        ConsistentRead=True,
    ):
        yield from page["Items"]


def _bounds(days: DateRange | None, suffix: str = "") -> tuple[str | None, str | None]:
    if days is None:
        return None, None
    return f"{days.start.isoformat()}{suffix}", f"{days.end.isoformat()}{suffix and suffix + '~'}"


def day_records(
    pipeline: Pipeline, days: DateRange | None = None, *, repair: bool = True
) -> dict[dt.date, DayRecord]:
    """The day records of ``days`` (every day record when None), by date: one Query (paged), plus
    DescribeExecution of each RUNNING record's execution (the repair)."""
    low, high = _bounds(days)
    records = [DayRecord.from_item(item) for item in _query(pipeline, lf.DAY_PIPELINE, low, high)]
    if repair:
        records = repair_running(pipeline, records)
    return {record.date: record for record in records}


def day_record(pipeline: Pipeline, day: dt.date, *, repair: bool = True) -> DayRecord | None:
    return day_records(pipeline, DateRange(day, day), repair=repair).get(day)


def attempt_records(pipeline: Pipeline, days: DateRange | None = None) -> dict[dt.date, list[DayRecord]]:
    """Every attempt of ``days``, by date, in attempt order (oldest first): one Query (paged)."""
    low, high = _bounds(days, "#")
    found: dict[dt.date, list[DayRecord]] = {}
    for item in _query(pipeline, lf.ATTEMPT_PIPELINE, low, high):
        record = DayRecord.from_item(item)
        found.setdefault(record.date, []).append(record)
    for attempts in found.values():
        attempts.sort(key=lambda record: record.attempt or 0)
    return found


def execution_record(pipeline: Pipeline, execution_arn: str) -> tuple[dt.date, int] | None:
    """The processing date and attempt number the ledger holds for an execution, if any."""
    item = (
        pipeline.client("dynamodb")
        .get_item(
            TableName=pipeline.deployment.ledger_table,
            Key=lf.execution_key(execution_arn),
            ConsistentRead=True,
        )
        .get("Item")
    )
    if not item or lf.DATE not in item:
        return None
    return dt.date.fromisoformat(str(item[lf.DATE]["S"])), _number(item, lf.ATTEMPT) or 0


# -- the one repair ------------------------------------------------------------------------------------


def repair_running(pipeline: Pipeline, records: Iterable[DayRecord]) -> list[DayRecord]:
    """Records as they will read once ledger_sync has caught up: each RUNNING record whose execution
    has ended gets the status ledger_sync records for that end (docs/ledger.md)."""
    return [_repaired(pipeline, record) if record.running else record for record in records]


def repair_attempts(pipeline: Pipeline, attempts: list[DayRecord]) -> list[DayRecord]:
    """A day's attempt records (oldest first) as they will read once ledger_sync has caught up.

    An attempt still RUNNING that a redrive of its own execution followed had ended: its status
    event has not been processed yet (EventBridge does not order it before the redrive's). ledger_sync
    will close that record when it comes (docs/ledger.md); until then, and for records written before
    ledger_sync did so, it reads as a failure by its ``WritesStarted`` (a stop shows as ABORTED only
    once recorded). Any other RUNNING attempt gets the one repair (its execution's status)."""
    shown: list[DayRecord] = []
    for number, attempt in enumerate(attempts):
        following = attempts[number + 1] if number + 1 < len(attempts) else None
        if attempt.running and following is not None and following.execution_arn == attempt.execution_arn:
            status = "INCOMPLETE" if attempt.writes_started else "FAILED"
            shown.append(replace(attempt, status=status, recorded_status=attempt.status))
        else:
            shown.append(_repaired(pipeline, attempt) if attempt.running else attempt)
    return shown


def _repaired(pipeline: Pipeline, record: DayRecord) -> DayRecord:
    try:
        described = pipeline.sfn.describe_execution(executionArn=record.execution_arn)
    except ClientError as error:
        if error_code(error) not in ("ExecutionDoesNotExist", "InvalidArn"):
            raise
        # Its execution is gone (a crash of localcloud lost it before its checkpoint): nothing
        # will ever end this attempt, so it reads as a failure, or INCOMPLETE once writes began.
        return replace(
            record,
            status="INCOMPLETE" if record.writes_started else "FAILED",
            error=LOST_EXECUTION,
            cause=f"the ledger names execution {record.execution_name}, which no longer exists",
            recorded_status=record.status,
        )
    status = str(described.get("status"))
    if status in ("RUNNING", "PENDING_REDRIVE"):
        return record
    if status in _FAILURES:
        shown = "INCOMPLETE" if record.writes_started else "FAILED"
    else:
        shown = _ENDED_AS.get(status, "FAILED")
    return replace(
        record,
        status=shown,
        ended_at=described.get("stopDate") or record.ended_at,
        error=described.get("error") or record.error,
        cause=described.get("cause") or record.cause,
        recorded_status=record.status,
    )
