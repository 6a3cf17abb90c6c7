"""The project's own state machines, run offline against a mock configuration file
(``MockConfigFile.json``, Step Functions Local's format), each test case chosen at StartExecution
with ``<state machine ARN>#<TestCase>``. Two localclouds, both started with the file:

- ``sfn``: the state machines alone, rendered from the same templates as CDK (backfill's tests
  and TestState need nothing else);
- ``pipeline``: the whole project deployed by ``meterpipe local up --sfn-mock-config`` with a few
  generated days in its lake, so that states a test case does not mock run against localcloud's
  own S3, DynamoDB, Athena and Lambda.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from click.testing import CliRunner
from project_mocks_support import MOCK_CONFIG, REGION, ROLE, VALUES, Run, runner

from localcloud import launcher
from localcloud.launcher import RunningServer
from meterpipe.aws import Clients, Target, clients_for
from meterpipe.cli import app
from meterpipe.datagen import GenerateOptions, generate, upload_lake
from meterpipe.definitions import EXPRESS_STATE_MACHINES, render_state_machines, state_machine_name
from meterpipe.local.deploy import LocalDeployment

LAKE_DAYS = (dt.date(2024, 1, 1), dt.date(2024, 1, 6))


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
        kind = "EXPRESS" if template in EXPRESS_STATE_MACHINES else "STANDARD"
        client.create_state_machine(
            name=state_machine_name(template), definition=definition, roleArn=ROLE, type=kind
        )
    return client


@pytest.fixture(scope="module")
def run(sfn: Any) -> Run:
    return runner(sfn)


@pytest.fixture(scope="module")
def test_state(mocked_localcloud: RunningServer) -> Any:
    """A client for TestState, which botocore sends to a ``sync-`` host prefix unless told not to."""
    return _client(mocked_localcloud, "stepfunctions", config=Config(inject_host_prefix=False))


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, Any]]:
    """The definitions as deployed, parsed: for TestState of single states."""
    return {name: json.loads(text) for name, text in render_state_machines(VALUES).items()}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clients]:
    """The project deployed to a localcloud started with the mock file, generated days in its lake."""
    lake = tmp_path_factory.mktemp("lake")
    generate(
        GenerateOptions(customers=3, start=LAKE_DAYS[0], end=LAKE_DAYS[1], out=lake, interval=60, seed=7)
    )
    home = tmp_path_factory.mktemp("project-mocks-pipeline")
    result = CliRunner().invoke(
        app, ["local", "up", "--home", str(home), "--port", "0", "--sfn-mock-config", str(MOCK_CONFIG)]
    )
    assert result.exit_code == 0 and result.exception is None, result.output
    try:
        clients = clients_for(Target.local(home))
        upload_lake(lake, clients.client("s3"), LocalDeployment().lake_bucket)
        yield clients
    finally:
        if launcher.status(home).running:
            launcher.stop(home)


@pytest.fixture(scope="module")
def run_deployed(pipeline: Clients) -> Run:
    return runner(pipeline.client("stepfunctions"))
