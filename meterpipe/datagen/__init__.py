"""Realistic smart-meter data in the lake layout: the readings and the customers table.

``generate(GenerateOptions(...))`` writes ``iot_electricity_metering/year=YYYY/month=MM/day=DD/*.csv``
and ``customer_meter_sensor/customers.csv`` under a folder; ``upload_lake`` copies such a folder
into a bucket. The same seed always gives the same bytes, and a day's readings do not depend on
the range asked for, so a dataset can be grown a range at a time.
"""

from __future__ import annotations

from meterpipe.datagen.customers import Customer, Sensor, make_customers
from meterpipe.datagen.readings import READING_HEADER, day_readings
from meterpipe.datagen.writer import GenerateOptions, GenerateSummary, generate, upload_lake

__all__ = [
    "READING_HEADER",
    "Customer",
    "GenerateOptions",
    "GenerateSummary",
    "Sensor",
    "day_readings",
    "generate",
    "make_customers",
    "upload_lake",
]
