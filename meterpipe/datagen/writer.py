"""Writing a generated dataset in the lake layout, and copying it into a bucket."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meterpipe.datagen.customers import customers_csv, make_customers
from meterpipe.datagen.readings import READING_HEADER, day_readings
from meterpipe.errors import InvalidDateError, MeterpipeError
from meterpipe.tables import CUSTOMERS, readings_day_prefix

MAX_CUSTOMERS = 1_000_000
MAX_DAYS = 3_660


class GenerateOptionsError(MeterpipeError, ValueError):
    """An option of ``meterpipe generate`` is out of range."""


@dataclass(frozen=True)
class GenerateOptions:
    customers: int
    start: dt.date
    end: dt.date  # inclusive
    out: Path
    interval: int = 60  # minutes between readings: 60 or 15
    seed: int = 0
    sensors_per_file: int = 1_000  # a day of many sensors is split into several files, as exports are

    def validate(self) -> None:
        if not 1 <= self.customers <= MAX_CUSTOMERS:
            raise GenerateOptionsError(
                f"--customers must be between 1 and {MAX_CUSTOMERS}, not {self.customers}"
            )
        if self.end < self.start:
            raise InvalidDateError(f"--to {self.end} is before --from {self.start}")
        if (self.end - self.start).days + 1 > MAX_DAYS:
            raise GenerateOptionsError(f"the range {self.start}..{self.end} is longer than {MAX_DAYS} days")
        if self.interval not in (15, 60):
            raise GenerateOptionsError(f"--interval must be 60 or 15 (minutes), not {self.interval}")
        if self.sensors_per_file < 1:
            raise GenerateOptionsError(f"sensors per file must be at least 1, not {self.sensors_per_file}")
        if self.out.exists() and not self.out.is_dir():
            raise GenerateOptionsError(f"--out {self.out} exists and is not a folder")

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range((self.end - self.start).days + 1)]


@dataclass(frozen=True)
class GenerateSummary:
    customers: int
    sensors: int
    days: int
    files: int
    readings: int
    bytes_written: int


def generate(options: GenerateOptions, on_day: Callable[[dt.date], None] | None = None) -> GenerateSummary:
    """Write the dataset under ``options.out``; ``on_day`` is called after each day is written."""
    options.validate()
    customers = make_customers(options.customers, options.seed)
    sensors = [s for c in customers for s in c.sensors]
    customers_file = options.out / CUSTOMERS.prefix / "customers.csv"
    customers_file.parent.mkdir(parents=True, exist_ok=True)
    text = customers_csv(customers)
    customers_file.write_text(text, encoding="utf-8", newline="\n")
    files, readings, written = 1, 0, len(text.encode())
    for day in options.days:
        folder = options.out / readings_day_prefix(day)
        folder.mkdir(parents=True, exist_ok=True)
        chunks = _split_by_sensor(
            day_readings(sensors, day, interval=options.interval, seed=options.seed), options.sensors_per_file
        )
        for number, lines in enumerate(chunks, start=1):
            body = "\n".join([READING_HEADER, *lines]) + "\n"
            path = folder / f"readings-{number:04d}.csv"
            path.write_text(body, encoding="utf-8", newline="\n")
            files += 1
            written += len(body.encode())
            readings += len(lines)
        if on_day is not None:
            on_day(day)
    return GenerateSummary(len(customers), len(sensors), len(options.days), files, readings, written)


def _split_by_sensor(lines: Iterable[str], sensors_per_file: int) -> list[list[str]]:
    """Lines grouped into files of at most ``sensors_per_file`` sensors (a sensor's day stays whole)."""
    chunks: list[list[str]] = [[]]
    sensors_in_chunk, last = 0, ""
    for line in lines:
        sensor = line[: line.index(",")]
        if sensor != last:
            last = sensor
            sensors_in_chunk += 1
            if sensors_in_chunk > sensors_per_file:
                chunks.append([])
                sensors_in_chunk = 1
        chunks[-1].append(line)
    return chunks


def upload_lake(folder: Path, s3_client: Any, bucket: str) -> int:
    """Copy every file under ``folder`` to ``bucket`` under the same relative key; returns the count."""
    count = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3_client.put_object(
                Bucket=bucket, Key=path.relative_to(folder).as_posix(), Body=path.read_bytes()
            )
            count += 1
    return count
