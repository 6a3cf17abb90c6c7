"""Deployed stacks for ``--target aws`` tests: DescribeStacks and ListStackResources answered
through botocore's ``before-call`` hook on every session meterpipe creates, with responses
validated against the service model (moto's CloudFormation needs extras we do not install)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

_REAL_SESSION = boto3.session.Session
STATES = "arn:aws:states:eu-west-1:123456789012:stateMachine:"


def stack_outputs(**overrides: str) -> dict[str, str]:
    """Every output a meterpipe stack publishes (infra/stack.py), as CloudFormation gives them
    (strings), with ``overrides``."""
    return {
        "LakeBucketName": "lake",
        "ResultsBucketName": "results",
        "RollupTableName": "ElectricityMeteredByPeriod",
        "LedgerTableName": "MeterPipeLedger",
        "DailyRollupStateMachineArn": STATES + "meterpipe-daily-rollup",
        "BackfillStateMachineArn": STATES + "meterpipe-backfill",
        "ScheduleName": "MeterPipe-ScheduleDailyRollup-AbC123",
        "ScheduleGroupName": "default",
        "TimeZone": "UTC",
        "BackfillMaxConcurrency": "4",
        "BackfillMaxConcurrencyLimit": "40",
        "MaxBadReadings": "0",
        "MaxKwhPerReading": "1000",
        "ReadingsPerSensorPerDay": "24",
        "MinCompletenessPercent": "0",
    } | overrides


class FakeCloudFormation:
    def __init__(self, stacks: dict[str, dict[str, str]]) -> None:
        self.stacks = stacks  # name -> outputs

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        fake = self

        def session(*args: Any, **kwargs: Any) -> Any:
            made = _REAL_SESSION(*args, **kwargs)
            made.events.register("before-parameter-build.cloudformation.*", fake._remember)
            made.events.register("before-call.cloudformation.*", fake._answer)
            return made

        monkeypatch.setattr(boto3.session, "Session", session)

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["fake_params"] = dict(params)

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        params = context.get("fake_params", {})
        name = params.get("StackName")
        if name not in self.stacks:
            error = {"Code": "ValidationError", "Message": f"Stack with id {name} does not exist"}
            return AWSResponse("https://cloudformation.fake", 400, {}, None), {"Error": error}
        if model.name == "DescribeStacks":
            body: dict[str, Any] = {
                "Stacks": [
                    {
                        "StackName": name,
                        "CreationTime": "2024-01-01T00:00:00Z",
                        "StackStatus": "CREATE_COMPLETE",
                        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in self.stacks[name].items()],
                    }
                ]
            }
        elif model.name == "ListStackResources":
            body = {
                "StackResourceSummaries": [
                    {
                        "LogicalResourceId": "ScheduleDailyRollup",
                        "PhysicalResourceId": "MeterPipe-ScheduleDailyRollup-AbC123",
                        "ResourceType": "AWS::Scheduler::Schedule",
                        "LastUpdatedTimestamp": "2024-01-01T00:00:00Z",
                        "ResourceStatus": "CREATE_COMPLETE",
                    }
                ]
            }
        else:
            raise AssertionError(f"the fake does not do {model.name}")
        parsed = {**body}
        validate_parameters(parsed, model.output_shape)
        return AWSResponse("https://cloudformation.fake", 200, {}, None), parsed
