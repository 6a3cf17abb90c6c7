"""Each day's input fingerprint from one listing of its month equals the one the day's own listing
gives (what daily_rollup records), and a success whose objects changed since shows stale."""

from __future__ import annotations

import datetime as dt

from meterpipe.ops.calendar import month_calendar
from meterpipe.ops.dates import DateRange
from meterpipe.ops.fingerprint import day_fingerprint
from meterpipe.ops.inputs import day_inputs
from meterpipe.ops.pipeline import Pipeline
from meterpipe.tables import readings_day_prefix
from tests.unit.ops.conftest import LAKE
from tests.unit.ops.fake_sfn import DAILY_ROLLUP_ARN, FakeStepFunctions, succeeded

JANUARY = DateRange(dt.date(2024, 1, 1), dt.date(2024, 1, 31))
READING = b"SensorID,Voltage,Current,Frequency,kWh,HourCollected\n51246501,240,10,60,0.22,01\n"


def put(pipeline: Pipeline, day: dt.date, name: str, body: bytes = READING) -> None:
    pipeline.client("s3").put_object(Bucket=LAKE, Key=readings_day_prefix(day) + name, Body=body)


def test_a_months_listing_gives_each_day_the_fingerprint_of_its_own_listing(pipeline: Pipeline) -> None:
    fifth, sixth = dt.date(2024, 1, 5), dt.date(2024, 1, 6)
    put(pipeline, fifth, "a.csv")
    put(pipeline, fifth, "b.csv", READING * 2)
    put(pipeline, fifth, "_SUCCESS", b"")  # not read by Athena: not in the fingerprint
    put(pipeline, sixth, "a.csv")
    put(pipeline, dt.date(2024, 2, 5), "a.csv")  # another month
    s3 = pipeline.client("s3")

    found = day_inputs(pipeline, JANUARY)

    assert len(found) == 31
    for day in (fifth, sixth, dt.date(2024, 1, 7)):
        assert found[day] == day_fingerprint(s3, LAKE, day)
    assert (found[fifth].objects, found[fifth].bytes) == (2, 3 * len(READING))
    assert found[fifth].value != found[sixth].value


def test_a_success_whose_objects_changed_since_is_stale_in_the_calendar(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions
) -> None:
    days = [dt.date(2024, 1, 5), dt.date(2024, 1, 6)]
    for day in days:
        put(pipeline, day, "a.csv")
        fake_sfn.fingerprints[day] = day_fingerprint(pipeline.client("s3"), LAKE, day)
        fake_sfn.add_execution(DAILY_ROLLUP_ARN, f"run-{day}", {"date": str(day)}, succeeded())
    assert [d.category for d in month_calendar(pipeline, dt.date(2024, 1, 1)).days[4:6]] == [
        "succeeded",
        "succeeded",
    ]
    put(pipeline, days[1], "a.csv", READING + b"51246501,240,10,60,0.30,02\n")  # rewritten
    assert [d.category for d in month_calendar(pipeline, dt.date(2024, 1, 1)).days[4:6]] == [
        "succeeded",
        "stale",
    ]
