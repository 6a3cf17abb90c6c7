"""What matters in the synthesised template (issue 4's CDK list)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match
from cdk_support import Synthesis, all_states, deployed_definition, render_intrinsics

from meterpipe.definitions import REPO_ROOT
from meterpipe.ops.pipeline import OUTPUT_KEYS
from meterpipe.tables import CUSTOMERS, CUSTOMERS_LINES, READINGS, READINGS_LINES, ROLLUPS


def test_the_parallel_runs_three_athena_sync_queries_in_the_projects_workgroup(synthesis: Synthesis) -> None:
    definition = deployed_definition(synthesis, "DailyRollup")
    rollup = definition["States"]["RunRollupQueries"]

    first = [branch["States"][branch["StartAt"]] for branch in rollup["Branches"]]

    assert rollup["Type"] == "Parallel"
    assert [s["Resource"] for s in first] == ["arn:aws:states:::athena:startQueryExecution.sync"] * 3
    assert {s["Arguments"]["WorkGroup"] for s in first} == {"meterpipe"}
    assert all(s["Arguments"]["QueryString"].startswith("SELECT ") for s in first)


def test_the_distributed_maps_read_the_query_csv_in_batches_and_invoke_write_batch(
    synthesis: Synthesis,
) -> None:
    function_id = synthesis.logical_id("AWS::Lambda::Function", "WriteBatch")
    results_id = synthesis.logical_id("AWS::S3::Bucket", "Results")
    states = all_states(deployed_definition(synthesis, "DailyRollup"))

    maps = [s for s in states.values() if s["Type"] == "Map"]
    invokes = [s for s in states.values() if s.get("Resource") == "arn:aws:states:::lambda:invoke"]

    assert len(maps) == 3
    for state in maps:
        assert state["ItemReader"]["ReaderConfig"] == {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}
        assert state["ItemBatcher"]["MaxItemsPerBatch"] == 1000
        assert state["ItemBatcher"]["MaxInputBytesPerBatch"] == 204_800
        assert state["MaxConcurrency"] == 20
        assert state["ResultWriter"]["Arguments"]["Bucket"] == f"<Ref:{results_id}>"
    assert {s["Arguments"]["FunctionName"] for s in invokes} == {f"<{function_id}.Arn>"}


def test_backfill_starts_daily_rollup_synchronously_by_its_arn(synthesis: Synthesis) -> None:
    states = all_states(deployed_definition(synthesis, "Backfill"))

    task = states["RunDailyRollup"]

    assert task["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert task["Arguments"]["StateMachineArn"] == (
        "arn:<Ref:AWS::Partition>:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>:stateMachine:meterpipe-daily-rollup"
    )
    assert states["RunDays"]["ToleratedFailurePercentage"] == 100


def test_the_state_machines_are_logged_in_full_and_traced_ledger_sync_express(synthesis: Synthesis) -> None:
    machines = synthesis.resources("AWS::StepFunctions::StateMachine")

    kinds = {
        m["Properties"]["StateMachineName"]: m["Properties"]["StateMachineType"] for m in machines.values()
    }
    assert kinds == {
        "meterpipe-backfill": "STANDARD",
        "meterpipe-daily-rollup": "STANDARD",
        "meterpipe-ledger-sync": "EXPRESS",
    }
    for machine in machines.values():
        properties = machine["Properties"]
        assert properties["LoggingConfiguration"]["Level"] == "ALL"
        assert properties["TracingConfiguration"] == {"Enabled": True}


def test_the_rollup_table_follows_its_spec_on_demand_with_point_in_time_recovery(
    synthesis: Synthesis,
) -> None:
    synthesis.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": ROLLUPS.name,
            "KeySchema": ROLLUPS.key_schema(),
            "AttributeDefinitions": Match.array_equals(ROLLUPS.attribute_definitions()),
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": True,
        },
    )
    synthesis.template.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Retain"})


def test_the_readings_table_projects_its_partitions_onto_the_lake_layout(synthesis: Synthesis) -> None:
    lake_id = synthesis.logical_id("AWS::S3::Bucket", "Lake")
    tables = {
        t["Properties"]["TableInput"]["Name"]: render_intrinsics(t["Properties"]["TableInput"])
        for t in synthesis.resources("AWS::Glue::Table").values()
    }

    readings = tables[READINGS.name]

    assert set(tables) == {READINGS.name, CUSTOMERS.name, READINGS_LINES.name, CUSTOMERS_LINES.name}
    assert readings["Parameters"] | {"storage.location.template": None} == {
        **READINGS.table_parameters("x"),
        "storage.location.template": None,
    }
    assert readings["Parameters"]["projection.enabled"] == "true"
    assert readings["Parameters"]["projection.month.digits"] == "2"
    assert readings["Parameters"]["storage.location.template"] == (
        f"s3://<Ref:{lake_id}>/iot_electricity_metering/year=${{year}}/month=${{month}}/day=${{day}}"
    )
    assert [c["Name"] for c in readings["StorageDescriptor"]["Columns"]] == [c.name for c in READINGS.columns]
    assert "projection.enabled" not in tables[CUSTOMERS.name]["Parameters"]
    # The lines tables read the same objects whole: one string column, the same partitions and
    # projection, no field delimiter (LazySimpleSerDe's Ctrl-A).
    lines = tables[READINGS_LINES.name]
    assert [(c["Name"], c["Type"]) for c in lines["StorageDescriptor"]["Columns"]] == [("line", "string")]
    assert lines["StorageDescriptor"]["Location"] == readings["StorageDescriptor"]["Location"]
    assert (
        lines["Parameters"]["storage.location.template"]
        == readings["Parameters"]["storage.location.template"]
    )
    assert lines["StorageDescriptor"]["SerdeInfo"]["Parameters"] == {"serialization.format": "1"}
    assert (
        tables[CUSTOMERS_LINES.name]["StorageDescriptor"]["Location"]
        == (tables[CUSTOMERS.name]["StorageDescriptor"]["Location"])
    )


def test_the_catalog_is_a_glue_database_with_projected_tables_and_no_crawler(synthesis: Synthesis) -> None:
    (database,) = synthesis.resources("AWS::Glue::Database").values()

    assert database["Properties"]["DatabaseInput"]["Name"] == "iotanalyticsdb"
    assert synthesis.resources("AWS::Glue::Crawler") == {}
    assert {t["Properties"]["DatabaseName"] for t in synthesis.resources("AWS::Glue::Table").values()} == {
        "iotanalyticsdb"
    }


def test_the_workgroup_enforces_its_result_location_and_a_bytes_scanned_cutoff(synthesis: Synthesis) -> None:
    results_id = synthesis.logical_id("AWS::S3::Bucket", "Results")
    workgroup = next(iter(synthesis.resources("AWS::Athena::WorkGroup").values()))["Properties"]

    configuration = render_intrinsics(workgroup["WorkGroupConfiguration"])

    assert workgroup["Name"] == "meterpipe"
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["BytesScannedCutoffPerQuery"] == 10 * 1024**3
    assert configuration["ResultConfiguration"] == {
        "OutputLocation": f"s3://<Ref:{results_id}>/athena-results/",
        "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
    }


def test_the_schedule_starts_daily_rollup_with_the_scheduled_time(synthesis: Synthesis) -> None:
    daily_id = synthesis.logical_id("AWS::StepFunctions::StateMachine", "DailyRollup")
    schedule = next(iter(synthesis.resources("AWS::Scheduler::Schedule").values()))["Properties"]

    assert schedule["ScheduleExpression"] == "cron(30 3 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["State"] == "ENABLED"
    assert schedule["Target"]["Arn"] == {"Ref": daily_id}
    assert json.loads(schedule["Target"]["Input"]) == {"scheduled_time": "<aws.scheduler.scheduled-time>"}


def test_write_batch_is_python_312_on_arm64_with_powertools_and_its_table(synthesis: Synthesis) -> None:
    table_id = synthesis.logical_id("AWS::DynamoDB::Table", "Rollups")
    function = next(iter(synthesis.resources("AWS::Lambda::Function").values()))["Properties"]

    assert (function["Runtime"], function["Architectures"], function["Handler"]) == (
        "python3.12",
        ["arm64"],
        "handlers.write_batch.handler",
    )
    assert function["Timeout"] == 60
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["Environment"]["Variables"] == {
        "ROLLUP_TABLE_NAME": {"Ref": table_id},
        "LEDGER_TABLE_NAME": {"Ref": synthesis.logical_id("AWS::DynamoDB::Table", "Ledger")},
        "POWERTOOLS_SERVICE_NAME": "meterpipe",
        "POWERTOOLS_METRICS_NAMESPACE": "MeterPipe",
    }
    assert render_intrinsics(function["Layers"]) == [
        "arn:<Ref:AWS::Partition>:lambda:<Ref:AWS::Region>:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:27"
    ]
    assert "ReservedConcurrentExecutions" not in function


def test_the_lambda_asset_holds_the_handlers_package_under_its_own_name(synthesis: Synthesis) -> None:
    assets = json.loads(next(synthesis.outdir.glob("*.assets.json")).read_text(encoding="utf-8"))
    (asset,) = [a for a in assets["files"].values() if a["source"].get("packaging") == "zip"]

    staged = synthesis.outdir / asset["source"]["path"]

    assert (staged / "handlers" / "__init__.py").is_file()
    assert not list(staged.rglob("__pycache__"))


def test_every_bucket_is_encrypted_private_and_tls_only(synthesis: Synthesis) -> None:
    buckets = synthesis.resources("AWS::S3::Bucket")
    policies = [
        render_intrinsics(p["Properties"]) for p in synthesis.resources("AWS::S3::BucketPolicy").values()
    ]

    assert len(buckets) == 3
    for logical_id, bucket in buckets.items():
        properties = bucket["Properties"]
        assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ] == {"SSEAlgorithm": "AES256"}
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        (policy,) = [p for p in policies if p["Bucket"] == f"<Ref:{logical_id}>"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["PolicyDocument"]["Statement"]
        )


def test_query_results_expire_after_the_configured_days(synthesis: Synthesis) -> None:
    results = synthesis.raw["Resources"][synthesis.logical_id("AWS::S3::Bucket", "Results")]["Properties"]

    (rule,) = results["LifecycleConfiguration"]["Rules"]

    assert (rule["ExpirationInDays"], rule["Status"]) == (30, "Enabled")


def test_failed_executions_of_every_machine_alarm_to_an_encrypted_topic(synthesis: Synthesis) -> None:
    topic_id = synthesis.logical_id("AWS::SNS::Topic", "Alarms")
    alarms = synthesis.resources("AWS::CloudWatch::Alarm")

    watched = set()
    for alarm in alarms.values():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [{"Ref": topic_id}]
        metrics = [m for m in properties["Metrics"] if "MetricStat" in m]
        names = {m["MetricStat"]["Metric"]["MetricName"] for m in metrics}
        assert names == {"ExecutionsFailed", "ExecutionsTimedOut"}
        watched |= {json.dumps(d["Value"]) for m in metrics for d in m["MetricStat"]["Metric"]["Dimensions"]}
    assert len(alarms) == 3
    assert len(watched) == 3
    synthesis.template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def test_the_stack_outputs_what_operators_and_the_cli_need(synthesis: Synthesis) -> None:
    outputs: dict[str, Any] = synthesis.raw["Outputs"]

    assert {
        "DailyRollupStateMachineArn",
        "BackfillStateMachineArn",
        "RollupTableName",
        "LakeBucketName",
        "ResultsBucketName",
        "AthenaWorkGroupName",
    } <= set(outputs)
    # The ledger, and the validation settings a run applies unless its input says otherwise.
    ledger = synthesis.logical_id("AWS::DynamoDB::Table", "Ledger")
    assert outputs["LedgerTableName"]["Value"] == {"Ref": ledger}
    assert {
        name: outputs[name]["Value"]
        for name in (
            "MaxBadReadings",
            "MaxKwhPerReading",
            "ReadingsPerSensorPerDay",
            "MinCompletenessPercent",
        )
    } == {
        "MaxBadReadings": "0",
        "MaxKwhPerReading": "1000",
        "ReadingsPerSensorPerDay": "24",
        "MinCompletenessPercent": "0",
    }


def test_the_stack_publishes_every_output_the_cli_reads_with_the_deploy_time_settings(
    synthesis: Synthesis,
) -> None:
    outputs: dict[str, Any] = synthesis.raw["Outputs"]
    assert set(OUTPUT_KEYS.values()) <= set(outputs)
    schedule = synthesis.logical_id("AWS::Scheduler::Schedule", "Schedule")
    assert outputs["ScheduleName"]["Value"] == {"Ref": schedule}
    resource = synthesis.raw["Resources"][schedule]["Properties"]
    assert resource["Name"] == "meterpipe-daily-rollup"  # as the local deploy names it
    assert {key: outputs[key]["Value"] for key in ("ScheduleGroupName", "TimeZone")} == {
        "ScheduleGroupName": "default",
        "TimeZone": "UTC",
    }
    # cdk.json's defaults, as the deployed stack publishes them (CloudFormation outputs are strings).
    assert outputs["BackfillMaxConcurrency"]["Value"] == "4"
    assert outputs["BackfillMaxConcurrencyLimit"]["Value"] == "40"


def test_the_ledger_is_kept_like_the_rollups_on_demand_with_point_in_time_recovery(
    synthesis: Synthesis,
) -> None:
    ledger = synthesis.raw["Resources"][synthesis.logical_id("AWS::DynamoDB::Table", "Ledger")]
    properties = ledger["Properties"]
    assert properties["TableName"] == "MeterPipeLedger"
    assert properties["KeySchema"] == [
        {"AttributeName": "Pipeline", "KeyType": "HASH"},
        {"AttributeName": "Key", "KeyType": "RANGE"},
    ]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["DeletionProtectionEnabled"] is True
    assert ledger["DeletionPolicy"] == "Retain"


def test_the_definitions_as_deployed_pass_asl_validator(synthesis: Synthesis, tmp_path: Path) -> None:
    validator = REPO_ROOT / "node_modules" / ".bin" / "asl-validator"
    if not validator.exists():
        pytest.skip("asl-validator is installed by `make setup`")
    arguments = []
    for name in ("DailyRollup", "Backfill"):
        path = tmp_path / f"{name}.asl.json"
        path.write_text(json.dumps(deployed_definition(synthesis, name)), encoding="utf-8")
        arguments += ["--json-path", str(path)]

    completed = subprocess.run(
        [str(validator), *arguments], capture_output=True, text=True, timeout=60, check=False
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_an_eventbridge_rule_starts_ledger_sync_on_daily_rollups_ends_and_redrives(
    synthesis: Synthesis,
) -> None:
    (rule,) = synthesis.resources("AWS::Events::Rule").values()
    daily = synthesis.logical_id("AWS::StepFunctions::StateMachine", "DailyRollup")
    sync = synthesis.logical_id("AWS::StepFunctions::StateMachine", "LedgerSync")
    properties = rule["Properties"]

    assert properties["State"] == "ENABLED"
    assert properties["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "stateMachineArn": [{"Ref": daily}],
            "$or": [
                {"status": ["FAILED", "TIMED_OUT", "ABORTED"]},
                {"status": ["RUNNING"], "redriveCount": [{"numeric": [">", 0]}]},
            ],
        },
    }
    (target,) = properties["Targets"]
    assert target["Arn"] == {"Ref": sync}
    # The rule's role may start ledger_sync, and nothing else.
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    statements = [
        s
        for policy in synthesis.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert [(s["Action"], s["Resource"]) for s in statements] == [("states:StartExecution", {"Ref": sync})]
