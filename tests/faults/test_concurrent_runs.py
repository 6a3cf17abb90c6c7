"""The same day run twice at once, and a backfill at concurrency 8 over a month while readings are
added to the lake: the table equals a sequential run's, and month items never go backwards."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest

from tests.faults.rehearsal import MONTH, SPEC, Items, Rehearsal

DAY = dt.date(2024, 1, 9)
LATE_DAY = MONTH[-1]  # runs last in the backfill: its readings grow while the backfill runs


def test_the_same_day_run_twice_at_once_gives_the_sequential_table(rehearsal: Rehearsal) -> None:
    first = rehearsal.start_with(SPEC.daily_rollup, {"date": str(DAY)}, name="twice-a")
    second = rehearsal.start_with(SPEC.daily_rollup, {"date": str(DAY)}, name="twice-b")
    assert [rehearsal.wait(arn)["status"] for arn in (first, second)] == ["SUCCEEDED", "SUCCEEDED"]
    concurrent = rehearsal.table()
    assert concurrent == rehearsal.expected([DAY])

    rehearsal.reset()
    assert rehearsal.cli("run", "--date", str(DAY), "--wait").exit_code == 0
    assert rehearsal.table() == concurrent


class _MonthWatch(threading.Thread):
    """Reads the month items over and over while the backfill runs, keeping every value seen."""

    def __init__(self, rehearsal: Rehearsal) -> None:
        super().__init__(daemon=True)
        self.rehearsal = rehearsal
        self.stop = threading.Event()
        self.seen: dict[tuple[int, str], list[tuple[Decimal, int]]] = {}

    def run(self) -> None:
        ddb = self.rehearsal.client("dynamodb")
        while not self.stop.is_set():
            for customer, sensors in _month_keys(self.rehearsal).items():
                for sensor in sensors:
                    key = {"CustomerID": {"N": str(customer)}, "SensorID-Period": {"S": f"{sensor}#2024-01"}}
                    item = ddb.get_item(TableName=SPEC.rollups.name, Key=key, ConsistentRead=True).get("Item")
                    if item:
                        value = (Decimal(item["kWh-Amount"]["N"]), int(item["ReadingCount"]["N"]))
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
def test_a_month_backfill_at_concurrency_8_equals_the_sequential_table_and_month_items_never_go_back(
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
            counts = [count for _, count in values]
            assert counts == sorted(counts), f"{key} went backwards: {values}"
            assert values[-1] == expected[key]
    finally:
        (rehearsal.lake / late_key).unlink(missing_ok=True)
        rehearsal.client("s3").delete_object(Bucket=SPEC.lake_bucket, Key=late_key)
