"""The CDK context: typed, checked, documented; and the constructs honour what it says."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template
from cdk_support import CDK_JSON, cdk_context

from infra.compute import Compute
from infra.config import ConfigError, DeploymentConfig, context_keys
from infra.nag import states_arn
from infra.schedule import Schedule
from infra.storage import Storage
from meterpipe.definitions import REPO_ROOT
from meterpipe.tables import LEDGER, ROLLUPS


def from_context(values: dict[str, Any]) -> DeploymentConfig:
    return DeploymentConfig.from_context(values.get)


def test_cdk_json_sets_every_key_to_its_documented_default() -> None:
    in_cdk_json = {k: v for k, v in cdk_context().items() if k.startswith("meterpipe:")}

    assert in_cdk_json == context_keys()
    assert from_context(in_cdk_json) == DeploymentConfig()


def test_the_readme_documents_every_context_key() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")

    assert [key for key in context_keys() if f"`{key}`" not in readme] == []


def test_values_given_with_dash_c_arrive_as_strings_and_are_parsed_by_type() -> None:
    config = from_context(
        {
            "meterpipe:timezone": "Europe/London",
            "meterpipe:scheduleEnabled": "false",
            "meterpipe:mapMaxConcurrency": "50",
            "meterpipe:lambdaReservedConcurrency": "10",
        }
    )

    assert (config.timezone, config.schedule_enabled, config.map_max_concurrency) == (
        "Europe/London",
        False,
        50,
    )
    assert config.lambda_reserved_concurrency == 10
    assert from_context({"meterpipe:lambdaReservedConcurrency": "null"}).lambda_reserved_concurrency is None


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"meterpipe:mapMaxConcurrency": "lots"},
            "meterpipe:mapMaxConcurrency must be a whole number, got 'lots'",
        ),
        ({"meterpipe:scheduleEnabled": "yes"}, "meterpipe:scheduleEnabled must be true or false"),
        (
            {"meterpipe:timezone": "Europe/Paris "},
            "meterpipe:timezone 'Europe/Paris ' is not an IANA time zone",
        ),
        (
            {"meterpipe:lambdaTimeoutSeconds": 300},
            "meterpipe:lambdaTimeoutSeconds must be within 1..90, got 300",
        ),
        ({"meterpipe:scheduleCron": "30 3 * * ?"}, "meterpipe:scheduleCron must be a Scheduler expression"),
        ({"meterpipe:namePrefix": "MeterPipe"}, "meterpipe:namePrefix must be 2-31 lowercase"),
        (
            {"meterpipe:backfillMaxConcurrency": 50},
            "backfillMaxConcurrency exceeds meterpipe:backfillMaxConcurrencyLimit",
        ),
        ({"meterpipe:maxBadReadings": -1}, "meterpipe:maxBadReadings must be within 0..1000000000, got -1"),
        (
            {"meterpipe:maxKwhPerReading": "0"},
            "meterpipe:maxKwhPerReading must be within 1..1000000000, got 0",
        ),
        ({"meterpipe:minCompletenessPercent": 101}, "meterpipe:minCompletenessPercent must be within 0..100"),
        (
            {"meterpipe:readingsPerSensorPerDay": 0},
            "meterpipe:readingsPerSensorPerDay must be within 1..86400",
        ),
        (
            {"meterpipe:ledgerTableName": "ElectricityMeteredByPeriod"},
            "meterpipe:ledgerTableName must differ from meterpipe:tableName",
        ),
    ],
)
def test_a_value_that_cannot_work_fails_synthesis_naming_the_key(
    context: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=r"invalid CDK context|must be") as caught:
        from_context(context)
    assert message in str(caught.value)


def test_a_misspelt_key_is_refused_rather_than_ignored() -> None:
    with pytest.raises(ConfigError, match=r"unknown CDK context key\(s\) meterpipe:timeZone"):
        DeploymentConfig.check_keys({"meterpipe:timeZone": "Europe/London", "other:key": 1})


def test_the_schedule_follows_the_configured_expression_zone_and_switch() -> None:
    app = App()
    stack = Stack(app, "ScheduleOnly")
    machine = sfn.StateMachine.from_state_machine_arn(
        stack, "Machine", "arn:aws:states:eu-west-1:123456789012:stateMachine:meterpipe-daily-rollup"
    )
    Schedule(
        stack,
        "Schedule",
        state_machine=machine,
        name="nightly-rollup",
        expression="cron(0 2 * * ? *)",
        timezone="Europe/London",
        enabled=False,
    )

    schedule = next(iter(Template.from_stack(stack).find_resources("AWS::Scheduler::Schedule").values()))[
        "Properties"
    ]

    assert (
        schedule["Name"],
        schedule["ScheduleExpression"],
        schedule["ScheduleExpressionTimezone"],
        schedule["State"],
    ) == (
        "nightly-rollup",
        "cron(0 2 * * ? *)",
        "Europe/London",
        "DISABLED",
    )
    assert json.loads(schedule["Target"]["Input"]) == {"scheduled_time": "<aws.scheduler.scheduled-time>"}


def test_acknowledged_arns_match_how_cdk_nag_prints_them_in_a_pinned_environment() -> None:
    app = App()
    pinned = Stack(app, "Pinned", env=Environment(account="123456789012", region="eu-west-1"))
    agnostic = Stack(app, "Agnostic")

    assert (
        states_arn(pinned, "execution", "x:*")
        == "arn:<AWS::Partition>:states:eu-west-1:123456789012:execution:x:*"
    )
    assert (
        states_arn(agnostic, "mapRun", "x/*")
        == "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:mapRun:x/*"
    )


def test_cdk_json_runs_the_app_from_the_projects_virtualenv() -> None:
    assert json.loads(CDK_JSON.read_text(encoding="utf-8"))["app"] == ".venv/bin/python -m infra.app"


def test_storage_follows_the_configured_expiry_deletion_protection_and_removal() -> None:
    stack = Stack(App(context=cdk_context()), "StorageOnly")  # cdk.json's feature flags
    Storage(
        stack,
        "Storage",
        table_spec=ROLLUPS,
        table_name="Rollups-test",
        ledger_spec=LEDGER,
        ledger_table_name="Ledger-test",
        table_deletion_protection=False,
        results_expiration_days=7,
        remove_data_on_destroy=True,
    )

    template = Template.from_stack(stack)

    for name in ("Rollups-test", "Ledger-test"):
        template.has_resource(
            "AWS::DynamoDB::Table",
            {
                "Properties": Match.object_like(
                    {
                        "TableName": name,
                        "DeletionProtectionEnabled": False,
                        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    }
                ),
                "DeletionPolicy": "Delete",
            },
        )
    (results,) = [
        b["Properties"] for key, b in template.find_resources("AWS::S3::Bucket").items() if "Results" in key
    ]
    assert [rule["ExpirationInDays"] for rule in results["LifecycleConfiguration"]["Rules"]] == [7]


def test_write_batch_follows_the_configured_timeout_memory_and_reserved_concurrency() -> None:
    stack = Stack(App(), "ComputeOnly")
    Compute(
        stack,
        "Compute",
        handlers_dir=REPO_ROOT / "handlers",
        table_name="Rollups-test",
        ledger_table_name="Ledger-test",
        timeout_seconds=30,
        memory_mb=256,
        reserved_concurrency=5,
        powertools_layer_version=27,
        log_retention_days=14,
        remove_logs_on_destroy=False,
    )

    (function,) = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()

    properties = function["Properties"]
    assert (properties["Timeout"], properties["MemorySize"], properties["ReservedConcurrentExecutions"]) == (
        30,
        256,
        5,
    )
