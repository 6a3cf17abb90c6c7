"""Customers and their sensors: who they are, how much they use, and in which group."""

from __future__ import annotations

import random
from dataclasses import dataclass

# IDs shaped like the upstream AWS sample's: 8-digit customers (10027610), 8-digit sensors (51246501).
FIRST_CUSTOMER_ID = 10_000_000
FIRST_SENSOR_ID = 51_246_501


@dataclass(frozen=True)
class SensorGroup:
    """A kind of installation: its typical hourly load and the shape of its day."""

    name: str
    base_kwh: float  # typical kWh in an average hour
    weight: float  # share of sensors in this group
    business_hours: bool  # load follows opening hours rather than home life


GROUPS: tuple[SensorGroup, ...] = (
    SensorGroup("residential", 0.25, 0.70, business_hours=False),
    SensorGroup("residential-ev", 0.45, 0.12, business_hours=False),
    SensorGroup("small-business", 1.20, 0.13, business_hours=True),
    SensorGroup("commercial", 4.50, 0.05, business_hours=True),
)


@dataclass(frozen=True)
class Sensor:
    sensor_id: int
    group: SensorGroup
    scale: float  # this installation's consumption relative to its group's typical one
    outage_rate: float  # chance that a day has a gap in its readings


@dataclass(frozen=True)
class Customer:
    customer_id: int
    sensors: tuple[Sensor, ...]


def make_customers(count: int, seed: int) -> list[Customer]:
    """``count`` customers, most with one sensor, some with two or three; the same for a seed."""
    rng = random.Random(f"meterpipe-customers:{seed}")
    customers = []
    customer_id = FIRST_CUSTOMER_ID
    sensor_id = FIRST_SENSOR_ID
    for _ in range(count):
        customer_id += rng.randint(1, 40)
        group = rng.choices(GROUPS, weights=[g.weight for g in GROUPS])[0]
        sensor_count = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
        sensors = []
        for _ in range(sensor_count):
            sensors.append(
                Sensor(
                    sensor_id=sensor_id,
                    group=group,
                    scale=round(rng.lognormvariate(0.0, 0.35), 3),
                    outage_rate=rng.choice((0.0, 0.01, 0.02, 0.05)),
                )
            )
            sensor_id += rng.randint(1, 9)
        customers.append(Customer(customer_id, tuple(sensors)))
    return customers


def customers_csv(customers: list[Customer]) -> str:
    """The customers table: ``CustomerID,SensorID,SensorGroup``, one line per sensor."""
    lines = ["CustomerID,SensorID,SensorGroup"]
    lines += [f"{c.customer_id},{s.sensor_id},{s.group.name}" for c in customers for s in c.sensors]
    return "\n".join(lines) + "\n"
