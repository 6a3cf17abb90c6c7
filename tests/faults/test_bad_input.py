"""Bad execution input sent straight with boto3, as a script or another team's tool would: missing
or malformed fields, impossible dates, ranges over the limit. Each fails with a clear error
naming what is wrong, and changes nothing: no item, no day started."""

from __future__ import annotations

from typing import Any

import pytest

from tests.faults.rehearsal import MONTH, SPEC, Rehearsal

CASES: list[tuple[str, Any, str]] = [
    (SPEC.daily_rollup, {}, "the input has neither date nor scheduled_time"),
    (SPEC.daily_rollup, {"day": "2024-01-05"}, "unexpected input field(s): day"),
    (SPEC.daily_rollup, {"date": "05/01/2024"}, "date must be a YYYY-MM-DD string, got 05/01/2024"),
    (SPEC.daily_rollup, {"date": 20240105}, "date must be a YYYY-MM-DD string, got 20240105"),
    (SPEC.daily_rollup, {"date": "2023-02-29"}, "date 2023-02-29 is not a real calendar date"),
    (SPEC.daily_rollup, {"date": "2024-01-05", "scheduled_time": "2024-01-06T03:30:00Z"}, "not both"),
    (SPEC.daily_rollup, {"scheduled_time": "2024-13-01T03:30:00Z"}, "is not a real date and time"),
    (SPEC.daily_rollup, [1, 2], "the input must be a JSON object"),
    (SPEC.backfill, {"from": "2024-01-01"}, "the input needs both from and to"),
    (SPEC.backfill, {"from": "2024-01-31", "to": "2024-01-01"}, "from 2024-01-31 is after to 2024-01-01"),
    (
        SPEC.backfill,
        {"from": "2024-01-01", "to": "2025-01-01"},
        "spans 367 days; a backfill covers at most 366",
    ),
    (
        SPEC.backfill,
        {"from": "2024-02-30", "to": "2024-03-01"},
        "from 2024-02-30 is not a real calendar date",
    ),
    (
        SPEC.backfill,
        {"from": "2024-01-01", "to": "2024-01-31", "max_concurrency": 41},
        "from 1 to 40, got 41",
    ),
    (SPEC.backfill, {"from": "2024-01-01", "to": "2024-01-31", "max_concurrency": 2.5}, "got 2.5"),
]


def test_bad_input_fails_with_a_clear_error_and_changes_nothing(rehearsal: Rehearsal) -> None:
    assert rehearsal.cli("run", "--date", str(MONTH[3]), "--wait").exit_code == 0
    before = rehearsal.table()
    days_before = len(rehearsal.executions(SPEC.daily_rollup))
    for machine, payload, message in CASES:
        described = rehearsal.wait(rehearsal.start_with(machine, payload))
        assert (described["status"], described["error"]) == ("FAILED", "MeterPipe.InvalidInput"), payload
        assert message in described["cause"], (payload, described["cause"])
    assert rehearsal.table() == before == rehearsal.expected([MONTH[3]])
    assert len(rehearsal.executions(SPEC.daily_rollup)) == days_before + sum(
        1 for machine, _, _ in CASES if machine == SPEC.daily_rollup
    )


@pytest.mark.parametrize("text", ["{not json", '{"date": "2024-01-05"} trailing', "x" * 300_000])
def test_input_that_is_not_json_or_too_large_is_refused_by_the_api_itself(
    rehearsal: Rehearsal, text: str
) -> None:
    from botocore.exceptions import ClientError

    sfn = rehearsal.client("stepfunctions")
    with pytest.raises(ClientError) as error:
        sfn.start_execution(stateMachineArn=rehearsal.machine_arn(SPEC.daily_rollup), input=text)
    assert error.value.response["Error"]["Code"] == "InvalidExecutionInput"
    assert rehearsal.table() == {}
