"""The AWS CLI itself against the endpoint, for Step Functions and Athena (skipped where no `aws`
is installed: the other tests send botocore's request shapes through boto3)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from localcloud.launcher import RunningServer

AWS = shutil.which("aws")
pytestmark = pytest.mark.skipif(AWS is None, reason="the AWS CLI is not installed")
ROLE = "arn:aws:iam::000000000000:role/localcloud-tests"


def aws(server: RunningServer, *args: str) -> Any:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
    }
    env.pop("AWS_PROFILE", None)
    done = subprocess.run(
        [str(AWS), "--endpoint-url", server.endpoint, "--output", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_the_aws_cli_creates_and_runs_an_express_machine_and_lists_workgroups(server: RunningServer) -> None:
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 7, "End": True}}})
    created = aws(
        server, "stepfunctions", "create-state-machine", "--name", "cli", "--definition", definition,
        "--role-arn", ROLE, "--type", "EXPRESS",
    )  # fmt: skip
    ran = aws(
        server, "stepfunctions", "start-sync-execution", "--state-machine-arn", created["stateMachineArn"]
    )
    assert ran["status"] == "SUCCEEDED" and ran["output"] == "7"
    groups = aws(server, "athena", "list-work-groups")["WorkGroups"]
    assert "primary" in [g["Name"] for g in groups]
