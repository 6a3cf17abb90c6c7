"""What the project-mocks suite shares: where its mock configuration is, the deployed names and
ARNs (with a mock configuration localcloud's account is Step Functions Local's, 123456789012), and
the values the definitions are rendered with."""

from __future__ import annotations

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
)

# run(machine_arn, test_case, input) -> the described execution, its history under "history".
Run = Callable[[str, str, Any], dict[str, Any]]
