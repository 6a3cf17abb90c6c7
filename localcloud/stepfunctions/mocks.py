"""Step Functions Local's mocked service integrations on the endpoint (``localcloud.asl.mocking``
holds the format and the rules).

- The file is named by ``SFN_MOCK_CONFIG`` in localcloud's environment (as Step Functions Local
  reads it; ``python -m localcloud.server --sfn-mock-config FILE`` and ``meterpipe local up
  --sfn-mock-config FILE`` set it). It is checked when localcloud starts (a broken file stops the
  start, naming every problem) and read again whenever it changes.
- ``StartExecution`` on ``<state machine ARN>#<test case>`` runs that test case; the execution's
  ARN and ``stateMachineArn`` are the plain ones. A bare trailing ``#`` runs without mocks, as on
  Step Functions Local. An unknown test case is refused (``ValidationException``, starting with Step
  Functions Local's "No mock map found for test <name>"). ``StartSyncExecution`` takes test cases too.
- With a mock configuration and no account set, localcloud's account is Step Functions Local's
  (``123456789012``): suites written for it name state machines
  ``arn:aws:states:us-east-1:123456789012:stateMachine:<name>``.
"""

from __future__ import annotations

import os
from pathlib import Path

from localcloud.asl.mocking import MockConfig, MockConfigFile
from localcloud.launcher import MOCK_VARIABLE as ENVIRONMENT_VARIABLE

# Step Functions Local's account ("Starting server on port 8083 with account 123456789012").
STEP_FUNCTIONS_LOCAL_ACCOUNT = "123456789012"


def mock_config_path() -> Path | None:
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    return Path(value) if value else None


def mock_file_from_environment() -> MockConfigFile | None:
    path = mock_config_path()
    return MockConfigFile(path) if path is not None else None


def check_mock_config() -> Path | None:
    """The configured mock file, read once to check it; raises ``MockConfigError`` naming every
    problem of a file that cannot be used."""
    path = mock_config_path()
    if path is not None:
        MockConfig.from_file(path)
    return path


def split_test_case(state_machine_arn: str) -> tuple[str, str | None]:
    """``arn#TestCase`` -> (arn, "TestCase"); a plain ARN or a bare ``#`` -> (arn, None)."""
    arn, _, case = state_machine_arn.partition("#")
    return arn, case or None
