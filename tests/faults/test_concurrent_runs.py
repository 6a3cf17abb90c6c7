"""The same day run twice at once, and a backfill at concurrency 8 over a month while readings are
added to the lake: the table equals the Decimal totals a sequential run gives.

Two runs of one day are serialised by the day's ownership (docs/ledger.md): the later claimant
waits for the owner to end, so the day's record and every item are the later attempt's. Month
items, written by every day's run, are replaced only by a later computation (their
``ComputedAt``): they never go back to an earlier one, and the ledger says SUCCEEDED for every day."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest

from tests.faults.rehearsal import MONTH, SPEC, Items, Rehearsal

DAY = dt.date(2024, 1, 9)
LATE_DAY = MONTH[-1]  # runs last in the backfill: its readings grow while the backfill runs


def test_the_same_day_run_twice_at_once_is_serialised_by_the_days_ownership(rehearsal: Rehearsal) -> None:
    first = rehearsal.start_with(SPEC.daily_rollup, {"date": str(DAY)}, name="twice-a")
    second = rehearsal.start_with(SPEC.daily_rollup, {"date": str(DAY)}, name="twice-b")
    assert [rehearsal.wait(arn)["status"] for arn in (first, second)] == ["SUCCEEDED", "SUCCEEDED"]
    assert rehearsal.table() == rehearsal.expected([DAY])  # the totals a single run gives

    # The later claimant waited for the owner to end before it claimed the day: two attempts, and
    # the day's record and every item are the later one's, from queries run after the earlier ended.
    earlier, later = rehearsal.attempts(DAY)
    assert (earlier["Status"], later["Status"]) == ("SUCCEEDED", "SUCCEEDED")
    record = rehearsal.ledger_day(DAY)
    assert (record["Status"], record["Attempts"], record["Execution"]) == (
        "SUCCEEDED",
        "2",
        later["Execution"],
    )
    items = _items(rehearsal)
    assert {item["Execution"]["S"] for item in items} == {later["Execution"].rsplit(":", 1)[-1]}
    assert min(item["ComputedAt"]["S"] for item in items) >= earlier["EndedAt"]


def _items(rehearsal: Rehearsal) -> list[dict[str, Any]]:
    pages = rehearsal.client("dynamodb").get_paginator("scan").paginate(TableName=SPEC.rollups.name)
    return [item for page in pages for item in page["Items"]]


class _MonthWatch(threading.Thread):
    """Reads the month items over and over while the backfill runs, keeping every value seen."""

    def __init__(self, rehearsal: Rehearsal) -> None:
        super().__init__(daemon=True)
        self.rehearsal = rehearsal
        self.stop = threading.Event()
        # key -> each new value seen: (ComputedAt, kWh, readings)
        self.seen: dict[tuple[int, str], list[tuple[str, Decimal, int]]] = {}

    def run(self) -> None:
        ddb = self.rehearsal.client("dynamodb")
        while not self.stop.is_set():
            for customer, sensors in _month_keys(self.rehearsal).items():
                for sensor in sensors:
                    key = {"CustomerID": {"N": str(customer)}, "SensorID-Period": {"S": f"{sensor}#2024-01"}}
                    item = ddb.get_item(TableName=SPEC.rollups.name, Key=key, ConsistentRead=True).get("Item")
                    if item:
                        amount, count = Decimal(item["kWh-Amount"]["N"]), int(item["ReadingCount"]["N"])
                        value = (item["ComputedAt"]["S"], amount, count)
                        history = self.seen.setdefault((customer, f"{sensor}#2024-01"), [])
                        if not history or history[-1] != value:
                            history.append(value)


def _month_keys(rehearsal: Rehearsal) -> dict[int, list[str]]:
    keys: dict[int, list[str]] = {}
    for (customer, period), _ in rehearsal.expected([MONTH[0]]).items():
        if period.endswith("#2024-01"):
            keys.setdefault(customer, []).append(period.split("#")[0])
    return keys


def _add_late_readings(rehearsal: Rehearsal) -> str:
    """More readings for the month's last day, uploaded as the backfill starts (a late export)."""
    folder = rehearsal.lake / f"iot_electricity_metering/year=2024/month=01/day={LATE_DAY.day:02d}"
    original = sorted(folder.glob("*.csv"))[0].read_text().splitlines()
    late = folder / "late-export.csv"
    late.write_text("\n".join([original[0], *original[1:40:3]]) + "\n")
    key = str(late.relative_to(rehearsal.lake))
    rehearsal.client("s3").upload_file(str(late), SPEC.lake_bucket, key)
    return key


@pytest.mark.slow
def test_a_month_backfill_at_concurrency_8_equals_the_totals_and_month_items_never_go_back(
    rehearsal: Rehearsal,
) -> None:
    watch = _MonthWatch(rehearsal)
    watch.start()
    late_key = ""
    try:
        arn = rehearsal.start_with(
            SPEC.backfill,
            {"from": str(MONTH[0]), "to": str(MONTH[-1]), "max_concurrency": 8},
            name="concurrent-8",
        )
        late_key = _add_late_readings(rehearsal)
        described = rehearsal.wait(arn, timeout=600)
        assert described["status"] == "SUCCEEDED", described.get("cause")
    finally:
        watch.stop.set()
        watch.join()
    expected: Items = rehearsal.expected(MONTH)
    try:
        assert rehearsal.table() == expected
        assert watch.seen  # the watch saw month items being written
        for key, values in watch.seen.items():
            # A later computation replaces an earlier one, never the reverse; with the lake only
            # growing, a later one also counts at least as many readings.
            computed = [when for when, _, _ in values]
            assert computed == sorted(computed), f"{key} went back to an earlier computation: {values}"
            counts = [count for _, _, count in values]
            assert counts == sorted(counts), f"{key} went backwards: {values}"
            assert values[-1][1:] == expected[key]
        statuses = {rehearsal.ledger_day(day).get("Status") for day in MONTH}
        assert statuses == {"SUCCEEDED"}
    finally:
        (rehearsal.lake / late_key).unlink(missing_ok=True)
        rehearsal.client("s3").delete_object(Bucket=SPEC.lake_bucket, Key=late_key)
