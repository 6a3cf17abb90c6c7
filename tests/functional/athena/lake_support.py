"""An in-memory lake with the project's tables, and the project's queries run on localcloud's
engine over it: the validation query and the three rollup queries exactly as the definitions
carry them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from localcloud.athena import AthenaEngine, StaticCatalog
from meterpipe.checks import BAD_CUSTOMER, BAD_READING, COUNT_KINDS
from meterpipe.definitions import DEFAULT_MAX_KWH_PER_READING, rollup_query, validation_query
from meterpipe.tables import GLUE_DATABASE, LAKE_TABLES
from tests.unit.athena.athena_fakes import MemoryStore

BUCKET = "lake"
READINGS_HEADER = "SensorID,Voltage,Current,Frequency,kWh,HourCollected\n"
CUSTOMERS_HEADER = "CustomerID,SensorID,SensorGroup\n"


def day_prefix(day: dt.date) -> str:
    return f"iot_electricity_metering/year={day:%Y}/month={day:%m}/day={day:%d}/"


@dataclass
class Validation:
    counts: dict[str, int]
    bad_readings: list[dict[str, str | None]]
    bad_customers: list[dict[str, str | None]]


@dataclass
class Lake:
    store: MemoryStore = field(default_factory=MemoryStore)
    max_kwh_per_reading: int = DEFAULT_MAX_KWH_PER_READING

    def __post_init__(self) -> None:
        catalog = StaticCatalog({GLUE_DATABASE: [t.glue_table_input(BUCKET) for t in LAKE_TABLES]})
        self.engine = AthenaEngine(catalog, self.store)

    def put(self, key: str, text: str | bytes) -> None:
        self.store.put(f"s3://{BUCKET}/{key}", text)

    def readings(self, day: dt.date, text: str | bytes, name: str = "readings.csv") -> str:
        key = day_prefix(day) + name
        self.put(key, text)
        return key

    def customers(self, text: str, name: str = "customers.csv") -> str:
        key = f"customer_meter_sensor/{name}"
        self.put(key, text)
        return key

    def validate(self, day: dt.date) -> Validation:
        result = self.engine.execute(
            validation_query(self.max_kwh_per_reading),
            _parameters(day, with_day=True),
            database=GLUE_DATABASE,
        )
        names = [c.name for c in result.columns]
        rows = [dict(zip(names, row, strict=True)) for row in result.text_rows()]
        counts = {str(r["kind"]): int(str(r["n"])) for r in rows if r["kind"] in COUNT_KINDS}
        assert sorted(counts) == sorted(COUNT_KINDS)
        return Validation(
            counts=counts,
            bad_readings=[_listed(r) for r in rows if r["kind"] == BAD_READING],
            bad_customers=[_listed(r) for r in rows if r["kind"] == BAD_CUSTOMER],
        )

    def rollup(self, stem: str, day: dt.date) -> dict[tuple[int, str], tuple[Decimal, int]]:
        """The rollup query's rows: (customer, sensor#period) -> (total kWh, readings)."""
        result = self.engine.execute(
            rollup_query(stem, self.max_kwh_per_reading),
            _parameters(day, with_day=stem != "monthly"),
            database=GLUE_DATABASE,
        )
        return {
            (int(str(customer)), str(period)): (Decimal(str(total)), int(str(count)))
            for customer, period, total, count in result.text_rows()
        }


def _parameters(day: dt.date, *, with_day: bool) -> list[str]:
    return [f"'{day:%Y}'", f"'{day:%m}'"] + ([f"'{day:%d}'"] if with_day else [])


def _listed(row: dict[str, Any]) -> dict[str, str | None]:
    return {key: row[key] for key in ("object_key", "line", "rule", "value", "problem")}
