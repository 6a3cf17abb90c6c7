"""The lake objects of days as they are now: each day's input fingerprint (docs/ledger.md), to
tell a success whose input changed since (stale) from a current one.

One ListObjectsV2 listing per month of the range (pages of 1,000 objects), not one per day: a
month's calendar costs one call for a month of up to 1,000 reading files. The fingerprint is
chained per object, so a day's objects cut out of the month's listing give the fingerprint the
state machine recorded from the day's own listing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from meterpipe.ops.dates import DateRange
from meterpipe.ops.fingerprint import PAGE_SIZE, Fingerprint, fingerprint_pages
from meterpipe.ops.pipeline import Pipeline
from meterpipe.tables import READINGS, readings_day_prefix


def _months(days: DateRange) -> Iterator[dt.date]:
    month = days.start.replace(day=1)
    while month <= days.end:
        yield month
        month = (month + dt.timedelta(days=32)).replace(day=1)


def day_inputs(pipeline: Pipeline, days: DateRange) -> dict[dt.date, Fingerprint]:
    """The current fingerprint of every day of ``days`` (a day without objects has the empty
    listing's)."""
    prefixes = {readings_day_prefix(day): day for day in days.days}
    objects: dict[dt.date, list[dict[str, Any]]] = {day: [] for day in days.days}
    paginator = pipeline.client("s3").get_paginator("list_objects_v2")
    for month in _months(days):
        prefix = f"{READINGS.prefix}year={month:%Y}/month={month:%m}/"
        for page in paginator.paginate(
            Bucket=pipeline.deployment.lake_bucket, Prefix=prefix, PaginationConfig={"PageSize": PAGE_SIZE}
        ):
            for item in page.get("Contents", []):
                key = str(item["Key"])
                day = prefixes.get(key[: len(readings_day_prefix(month))])
                if day is not None:
                    objects[day].append(item)
    return {day: fingerprint_pages([items]) for day, items in objects.items()}
