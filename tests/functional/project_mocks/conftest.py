"""The project's own state machines, run offline against a mock configuration file: localcloud
started with ``tests/functional/project_mocks/MockConfigFile.json`` (Step Functions Local's format),
``daily_rollup`` and ``backfill`` rendered from the same templates as CDK and created in it, and each
test case chosen at StartExecution with ``<state machine ARN>#<TestCase>``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from project_mocks_support import MOCK_CONFIG, REGION, ROLE, VALUES, Run

from localcloud import launcher
from localcloud.launcher import RunningServer
from meterpipe.definitions import render_state_machines, state_machine_name


@pytest.fixture(scope="module")
def mocked_localcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    home = tmp_path_factory.mktemp("project-mocks-home")
    running = launcher.start(home, port=0, region=REGION, sfn_mock_config=MOCK_CONFIG)
    yield running
    if launcher.status(home).running:
        launcher.stop(home)


def _client(server: RunningServer, service: str, **kwargs: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        **kwargs,
    )


@pytest.fixture(scope="module")
def sfn(mocked_localcloud: RunningServer) -> Any:
    client = _client(mocked_localcloud, "stepfunctions")
    for template, definition in render_state_machines(VALUES).items():
        client.create_state_machine(
            name=state_machine_name(template), definition=definition, roleArn=ROLE, type="STANDARD"
        )
    return client


@pytest.fixture(scope="module")
def test_state(mocked_localcloud: RunningServer) -> Any:
    """A client for TestState, which botocore sends to a ``sync-`` host prefix unless told not to."""
    return _client(mocked_localcloud, "stepfunctions", config=Config(inject_host_prefix=False))


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, Any]]:
    """Both definitions as deployed, parsed: for TestState of single states."""
    return {name: json.loads(text) for name, text in render_state_machines(VALUES).items()}


@pytest.fixture(scope="module")
def run(sfn: Any) -> Run:
    """Start ``<machine>#<test_case>`` with ``payload`` and wait for it to end: the described
    execution, with its history under ``"history"``."""
    counter = iter(range(1_000_000))

    def _run(machine_arn: str, test_case: str, payload: Any) -> dict[str, Any]:
        name = f"{test_case}-{next(counter)}"
        arn = sfn.start_execution(
            stateMachineArn=f"{machine_arn}#{test_case}", name=name, input=json.dumps(payload)
        )["executionArn"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
                described["history"] = [event for page in pages for event in page["events"]]
                return described
            time.sleep(0.05)
        raise AssertionError(f"{arn} did not end")

    return _run
