"""What the project-mocks suite shares: where its mock configuration is, the deployed names and
ARNs (with a mock configuration localcloud's account is Step Functions Local's, 123456789012), the
values the definitions are rendered with, and how an execution is run to its end."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from meterpipe.definitions import BACKFILL, DAILY_ROLLUP, DeploymentValues, state_machine_name

SUITE = Path(__file__).parent
MOCK_CONFIG = SUITE / "MockConfigFile.json"
REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/meterpipe-state-machines"
STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:"
DAILY_ROLLUP_ARN = STATE_MACHINE_ARN + state_machine_name(DAILY_ROLLUP)
BACKFILL_ARN = STATE_MACHINE_ARN + state_machine_name(BACKFILL)
WRITE_BATCH_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:meterpipe-write-batch"

VALUES = DeploymentValues(
    write_batch_function_arn=WRITE_BATCH_ARN,
    daily_rollup_state_machine_arn=DAILY_ROLLUP_ARN,
    results_bucket="meterpipe-results",
    athena_workgroup="meterpipe",
    lake_bucket="meterpipe-lake",
)

# run(machine_arn, test_case, input) -> the described execution, its history under "history".
Run = Callable[[str, str, Any], dict[str, Any]]


def mocked_responses() -> dict[str, Any]:
    """The file's MockedResponses: the tests compute what they expect from the same answers."""
    responses: dict[str, Any] = json.loads(MOCK_CONFIG.read_text(encoding="utf-8"))["MockedResponses"]
    return responses


def runner(sfn: Any) -> Run:
    """Start ``<machine>#<test_case>`` and poll it to its end."""
    counter = iter(range(1_000_000))

    def run(machine_arn: str, test_case: str, payload: Any) -> dict[str, Any]:
        name = f"{test_case}-{next(counter)}"
        arn = sfn.start_execution(
            stateMachineArn=f"{machine_arn}#{test_case}", name=name, input=json.dumps(payload)
        )["executionArn"]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
                described["history"] = [event for page in pages for event in page["events"]]
                return described
            time.sleep(0.05)
        raise AssertionError(f"{arn} did not end")

    return run
