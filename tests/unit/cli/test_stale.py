"""``backfill --stale``: which days run because their lake objects changed since their success."""

from __future__ import annotations

import datetime as dt

from meterpipe.ops.fingerprint import day_fingerprint
from meterpipe.ops.pipeline import Pipeline
from tests.unit.cli.conftest import Invoke
from tests.unit.ops.conftest import LAKE
from tests.unit.ops.fake_sfn import DAILY_ROLLUP_ARN, FakeStepFunctions, succeeded
from tests.unit.ops.test_inputs import READING, put


def test_backfill_stale_dry_run_says_which_days_changed_and_how(
    pipeline: Pipeline, fake_sfn: FakeStepFunctions, invoke: Invoke
) -> None:
    fifth, sixth = dt.date(2024, 1, 5), dt.date(2024, 1, 6)
    for day in (fifth, sixth):
        put(pipeline, day, "a.csv")
        fake_sfn.fingerprints[day] = day_fingerprint(pipeline.client("s3"), LAKE, day)
        fake_sfn.add_execution(DAILY_ROLLUP_ARN, f"run-{day}", {"date": str(day)}, succeeded())
    put(pipeline, sixth, "b.csv")  # a file more

    result = invoke("backfill", "--from", "2024-01-04", "--to", "2024-01-06", "--stale", "--dry-run")

    assert result.exit_code == 0, result.output
    size = len(READING)
    assert "never run" in result.stdout
    assert "skip: succeeded, input unchanged since (2024-02-01 10:00 UTC, run-2024-01-05)" in result.stdout
    assert (
        f"input changed since its success: 1 object(s), {size} B then, 2 object(s), {2 * size} B now "
        "(2024-02-01 10:00 UTC, run-2024-01-06)" in result.stdout
    )
    assert "2 of 3 days would run, in 2 backfill execution(s)" in result.stdout
