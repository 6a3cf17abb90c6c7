"""Ledger records written as docs/ledger.md says the state machines write them, into moto's
DynamoDB: the tests put the records they need (every status, attempts, fingerprints), and the fake
Step Functions writes them for the executions it runs (claim at the start, the end as daily_rollup
or ledger_sync would record it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from handlers import ledger_format as lf
from meterpipe.tables import LEDGER


def stamp(when: dt.datetime) -> str:
    """ISO 8601 UTC with milliseconds, as the ledger writes times."""
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _attributes(values: dict[str, Any]) -> dict[str, Any]:
    typed: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            typed[name] = {"BOOL": value}
        elif isinstance(value, int):
            typed[name] = {"N": str(value)}
        elif isinstance(value, dt.datetime):
            typed[name] = {"S": stamp(value)}
        else:
            typed[name] = {"S": str(value)}
    return typed


@dataclass
class LedgerWriter:
    """Writes day, attempt and execution records with a DynamoDB client (moto's in the tests)."""

    ddb: Any
    table: str = LEDGER.name
    attempts: dict[dt.date, int] = field(default_factory=dict)

    def create_table(self) -> None:
        self.ddb.create_table(**LEDGER.create_table_params())

    def put(self, key: dict[str, Any], values: dict[str, Any]) -> None:
        self.ddb.put_item(TableName=self.table, Item={**key, **_attributes(values)})

    def record(
        self,
        day: dt.date,
        status: str,
        execution_arn: str,
        *,
        attempt: int | None = None,
        origin: str = "run",
        redrive_count: int = 0,
        started: dt.datetime | None = None,
        ended: dt.datetime | None = None,
        **counts: Any,
    ) -> int:
        """A day record with its attempt and execution records: the state of the day after an
        attempt (the next attempt number unless ``attempt`` says which). Returns the attempt."""
        number = attempt if attempt is not None else self.attempts.get(day, 0) + 1
        self.attempts[day] = max(number, self.attempts.get(day, 0))
        started = started or dt.datetime(2024, 2, 1, 3, 30, tzinfo=dt.UTC) + dt.timedelta(minutes=number)
        values: dict[str, Any] = {
            lf.STATUS: status,
            lf.EXECUTION: execution_arn,
            lf.STARTED_AT: started,
            lf.ENDED_AT: ended if status != "RUNNING" else None,
            lf.UPDATED_AT: ended or started,
        }
        values.update({_ATTRIBUTE[name]: value for name, value in counts.items()})
        self.put(lf.day_key(day), {**values, lf.ATTEMPTS: self.attempts[day]})
        self.put(
            lf.attempt_key(day, number),
            {**values, lf.ATTEMPT: number, lf.ORIGIN: origin, lf.REDRIVE_COUNT: redrive_count},
        )
        self.put(lf.execution_key(execution_arn), {lf.DATE: day.isoformat(), lf.ATTEMPT: number})
        return number

    def update(self, day: dt.date, execution_arn: str, status: str, **counts: Any) -> None:
        """The end of the current attempt: day and attempt records get the status and counts, if
        the day is still this execution's (as ledger_sync and daily_rollup condition their writes)."""
        current = self.ddb.get_item(TableName=self.table, Key=lf.day_key(day)).get("Item")
        if not current or current[lf.EXECUTION]["S"] != execution_arn:
            return
        number = int(current[lf.ATTEMPTS]["N"])
        values = {_ATTRIBUTE[name]: value for name, value in counts.items()}
        values[lf.STATUS] = status
        for key in (lf.day_key(day), lf.attempt_key(day, number)):
            item = self.ddb.get_item(TableName=self.table, Key=key).get("Item") or {}
            item.update(key)
            item.update(_attributes(values))
            self.ddb.put_item(TableName=self.table, Item=item)


# Keyword arguments of ``record``/``update`` -> ledger attribute names.
_ATTRIBUTE = {
    "writes_started": lf.WRITES_STARTED,
    "readings": lf.READINGS,
    "bad_readings": lf.BAD_READINGS,
    "bad_readings_skipped": lf.BAD_READINGS_SKIPPED,
    "max_bad_readings": lf.MAX_BAD_READINGS,
    "month_bad_readings_excluded": lf.MONTH_BAD_READINGS_EXCLUDED,
    "sensors_reporting": lf.SENSORS_REPORTING,
    "sensors_known": lf.SENSORS_KNOWN,
    "readings_expected": lf.READINGS_EXPECTED,
    "items_hour": lf.ITEMS_HOUR,
    "items_day": lf.ITEMS_DAY,
    "items_month": lf.ITEMS_MONTH,
    "fingerprint": lf.FINGERPRINT,
    "input_objects": lf.INPUT_OBJECTS,
    "input_bytes": lf.INPUT_BYTES,
    "error": lf.ERROR,
    "cause": lf.CAUSE,
    "ended": lf.ENDED_AT,
}
