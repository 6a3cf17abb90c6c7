"""One day of readings for a set of sensors: load curves, weekday/weekend, season, gaps."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator

from meterpipe.datagen.customers import Sensor

READING_HEADER = "SensorID,Voltage,Current,Frequency,kWh,HourCollected"
# kWh carry exactly three decimals (watt-hours), so sums of the CSV text are exact decimals.
KWH_DECIMALS = 3
NOMINAL_VOLTAGE = 220
NOMINAL_FREQUENCY = 60

# Relative load by hour of day for homes (weekday, weekend) and for businesses; mean about 1.
_HOME_WEEKDAY = (
    0.55, 0.48, 0.45, 0.44, 0.46, 0.60, 0.95, 1.35, 1.20, 0.85, 0.75, 0.75,
    0.80, 0.78, 0.75, 0.80, 0.95, 1.30, 1.75, 1.95, 1.85, 1.55, 1.10, 0.75,
)  # fmt: skip
_HOME_WEEKEND = (
    0.60, 0.52, 0.48, 0.46, 0.46, 0.50, 0.60, 0.80, 1.05, 1.25, 1.30, 1.30,
    1.35, 1.25, 1.15, 1.10, 1.15, 1.35, 1.70, 1.85, 1.75, 1.45, 1.05, 0.80,
)  # fmt: skip
_BUSINESS_WEEKDAY = (
    0.30, 0.28, 0.28, 0.28, 0.30, 0.40, 0.70, 1.30, 1.75, 1.90, 1.95, 1.95,
    1.85, 1.90, 1.95, 1.90, 1.80, 1.50, 1.00, 0.65, 0.50, 0.40, 0.35, 0.32,
)  # fmt: skip
_BUSINESS_WEEKEND = tuple(0.45 * v + 0.15 for v in _BUSINESS_WEEKDAY)


def _season(day: dt.date) -> float:
    """More light and heating in winter (northern hemisphere): +25 % in January, -20 % in July."""
    angle = 2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25
    return 1.025 + 0.225 * math.cos(angle)


def _curve(sensor: Sensor, day: dt.date) -> tuple[float, ...]:
    weekend = day.weekday() >= 5
    if sensor.group.business_hours:
        return _BUSINESS_WEEKEND if weekend else _BUSINESS_WEEKDAY
    return _HOME_WEEKEND if weekend else _HOME_WEEKDAY


def _gap(rng: random.Random, sensor: Sensor, slots_per_day: int) -> range:
    """The slots of the day with no readings: usually none, sometimes an outage of 1 to 6 hours."""
    if rng.random() >= sensor.outage_rate:
        return range(0)
    slots_per_hour = slots_per_day // 24
    length = rng.randint(1, 6) * slots_per_hour
    start = rng.randrange(0, slots_per_day - length + 1)
    return range(start, start + length)


def day_readings(sensors: list[Sensor], day: dt.date, *, interval: int, seed: int) -> Iterator[str]:
    """CSV lines (no header) of ``day`` for ``sensors``, one reading per ``interval`` minutes.

    Each reading is the energy of its interval; several readings of one hour share HourCollected.
    """
    if interval not in (15, 60):
        raise ValueError(f"interval must be 60 or 15 minutes, not {interval}")
    rng = random.Random(f"meterpipe-readings:{seed}:{day.isoformat()}")
    slots_per_day = 24 * 60 // interval
    slots_per_hour = 60 // interval
    season = _season(day)
    for sensor in sensors:
        curve = _curve(sensor, day)
        gap = _gap(rng, sensor, slots_per_day)
        day_level = rng.gauss(1.0, 0.06)  # weather and habits move a whole day up or down
        typical = sensor.group.base_kwh * sensor.scale * season * day_level / slots_per_hour
        for slot in range(slots_per_day):
            hour = slot // slots_per_hour
            noise = max(0.2, rng.gauss(1.0, 0.12))
            kwh = max(0.001, typical * curve[hour] * noise)
            voltage = NOMINAL_VOLTAGE + round(rng.gauss(0, 2.5))
            frequency = NOMINAL_FREQUENCY if rng.random() > 0.01 else NOMINAL_FREQUENCY + rng.choice((-1, 1))
            if slot in gap:
                continue
            current = max(1, round(kwh * slots_per_hour * 1000 / voltage))  # mean amperes over the slot
            yield f"{sensor.sensor_id},{voltage},{current},{frequency},{kwh:.{KWH_DECIMALS}f},{hour:02d}"
