"""A Pipeline over moto (S3, DynamoDB, STS, Scheduler, CloudFormation) with the fake Step
Functions of ``fake_sfn`` behind its stepfunctions client; the fake writes the per-day ledger
(moto's DynamoDB) as the state machines do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from meterpipe.aws import Clients, Target
from meterpipe.ops.pipeline import Deployment, Pipeline
from meterpipe.tables import ROLLUPS
from tests.unit.ops.fake_sfn import BACKFILL_ARN, DAILY_ROLLUP_ARN, REGION, FakeStepFunctions
from tests.unit.ops.ledger_records import LedgerWriter

LAKE = "meterpipe-lake"
RESULTS = "meterpipe-results"
SCHEDULE = "meterpipe-daily-rollup"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def fake_sfn() -> FakeStepFunctions:
    return FakeStepFunctions()


def make_pipeline(tmp_path: Path, fake: FakeStepFunctions) -> Pipeline:
    session = boto3.session.Session(region_name=REGION)
    clients = Clients(target=Target.local(tmp_path / "home"), region=REGION, _session=session)
    fake.attach(clients.client("stepfunctions"))
    s3 = clients.client("s3")
    for bucket in (LAKE, RESULTS):
        s3.create_bucket(Bucket=bucket)
    clients.client("dynamodb").create_table(**ROLLUPS.create_table_params())
    fake.ledger = LedgerWriter(clients.client("dynamodb"))
    fake.ledger.create_table()
    clients.client("scheduler").create_schedule(
        Name=SCHEDULE,
        ScheduleExpression="cron(30 3 * * ? *)",
        ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow={"Mode": "OFF"},
        State="ENABLED",
        Target={
            "Arn": DAILY_ROLLUP_ARN,
            "RoleArn": "arn:aws:iam::123456789012:role/meterpipe-local",
            "Input": json.dumps({"scheduled_time": "<aws.scheduler.scheduled-time>"}),
        },
    )
    deployment = Deployment(
        lake_bucket=LAKE,
        results_bucket=RESULTS,
        rollup_table=ROLLUPS.name,
        daily_rollup_arn=DAILY_ROLLUP_ARN,
        backfill_arn=BACKFILL_ARN,
        schedule_name=SCHEDULE,
    )
    return Pipeline(clients, deployment)


@pytest.fixture
def pipeline(aws: None, tmp_path: Path, fake_sfn: FakeStepFunctions) -> Pipeline:
    return make_pipeline(tmp_path, fake_sfn)
