"""The AWS CLI itself sends every operation issue 5 lists to a localcloud, and each is accepted
(skipped where the AWS CLI is not installed; the functional tests send botocore's shapes through boto3)."""

from __future__ import annotations

import shutil

import pytest

from tests.e2e.aws_cli_operations import send_every_operation

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed"),
]

# The operations issue 5 names, service by service (workgroups and schedule groups included).
LISTED = {
    "states": """CreateStateMachine UpdateStateMachine DescribeStateMachine ListStateMachines
        DeleteStateMachine ValidateStateMachineDefinition StartExecution StartSyncExecution
        DescribeExecution ListExecutions GetExecutionHistory StopExecution RedriveExecution ListMapRuns
        DescribeMapRun UpdateMapRun SendTaskSuccess SendTaskFailure SendTaskHeartbeat
        DescribeStateMachineForExecution""",
    "athena": """StartQueryExecution GetQueryExecution StopQueryExecution ListQueryExecutions
        GetQueryResults BatchGetQueryExecution CreateWorkGroup GetWorkGroup ListWorkGroups""",
    "lambda": """CreateFunction UpdateFunctionConfiguration UpdateFunctionCode GetFunction ListFunctions
        DeleteFunction Invoke""",
    "scheduler": """CreateSchedule GetSchedule UpdateSchedule ListSchedules DeleteSchedule
        CreateScheduleGroup GetScheduleGroup ListScheduleGroups DeleteScheduleGroup""",
}


def test_the_aws_cli_sends_every_listed_operation_and_localcloud_accepts_each() -> None:
    calls = send_every_operation()

    refused = [(operation, message) for operation, accepted, message in calls if not accepted]
    assert refused == []
    sent = {operation.split()[0] for operation, _, _ in calls}
    for service, names in LISTED.items():
        assert set(names.split()) - sent == set(), service
