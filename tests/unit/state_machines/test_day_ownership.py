"""daily_rollup's claim of a day (docs/ledger.md, "Two runs of one day"): how long a new run waits
for the previous owner, computed from DescribeExecution's answer."""

from __future__ import annotations

from typing import Any

import pytest
from asl_support import evaluate, sample_values

OWNER = "arn:aws:states:us-east-1:000000000000:execution:meterpipe-daily-rollup:2024-01-05_run"
STOPPED_AT = 1_704_425_406_123


def described(status: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"ExecutionArn": OWNER, "Status": status}
    if status != "RUNNING":
        answer["StopDate"] = STOPPED_AT
    return answer


@pytest.mark.parametrize("state", ["DescribeOwner", "DescribePreviousOwner"])
@pytest.mark.parametrize(
    ("status", "wrote", "waits"),
    [
        ("SUCCEEDED", True, False),  # its Map Runs ended, so every write_batch it started has ended
        ("FAILED", True, True),  # a batch it started may still be running
        ("ABORTED", True, True),  # a stop does not stop a Lambda
        ("TIMED_OUT", True, True),
        ("FAILED", False, False),  # it never began writing: nothing in flight
        ("RUNNING", True, False),  # still running: waited for by status, not by time
    ],
)
def test_a_new_run_waits_out_only_a_previous_owner_whose_batches_may_still_run(
    daily_states: dict[str, dict[str, Any]], state: str, status: str, wrote: bool, waits: bool
) -> None:
    variables = {"owner": OWNER, "previous": {"arn": OWNER}, "ownerWrote": wrote}

    previous = evaluate(
        daily_states[state]["Assign"]["previous"], result=described(status), variables=variables
    )

    assert previous["status"] == status
    # Until its stop time plus the write_batch timeout and 5 s of margin; 0: no wait.
    timeout_s = sample_values("Europe/London").write_batch_timeout_seconds
    assert previous["until"] == (STOPPED_AT + (timeout_s + 5) * 1000 if waits else 0)
