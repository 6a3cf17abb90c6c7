"""End-to-end: the CDK stack deployed into localcloud by the unchanged CDK CLI (``cdk bootstrap``,
``cdk deploy``, ``cdk destroy`` with AWS_ENDPOINT_URL set and any credentials), so the template's
wiring is checked by running it: definitions, Lambda settings, the schedule's target, the outputs."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cdk_support import Synthesis

from localcloud import launcher
from tests.e2e.cdk_deployment import ACCOUNT, REGION, CdkDeployment, needs_cdk_cli
from tests.e2e.conftest import Cli, expected_items, lake_readings

pytestmark = [pytest.mark.e2e, pytest.mark.slow, needs_cdk_cli]

DAY = dt.date(2023, 7, 14)  # no other test of the deployed stack runs this month


class Resolver:
    """The template's intrinsic functions resolved from what the services hold (physical ids from
    the stack's resource list, ARNs from the services): independent of the engine's resolution."""

    def __init__(self, deployment: CdkDeployment) -> None:
        self.deployment = deployment
        listed = deployment.client("cloudformation").list_stack_resources(StackName="MeterPipe")
        self.physical = {
            r["LogicalResourceId"]: r["PhysicalResourceId"] for r in listed["StackResourceSummaries"]
        }
        self.types = {r["LogicalResourceId"]: r["ResourceType"] for r in listed["StackResourceSummaries"]}
        self.pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(item) for item in value]
        if not isinstance(value, dict):
            return value
        if list(value) == ["Ref"]:
            return self.pseudo.get(value["Ref"]) or self.physical[value["Ref"]]
        if list(value) == ["Fn::Join"]:
            separator, parts = value["Fn::Join"]
            return separator.join(str(self(part)) for part in parts)
        if list(value) == ["Fn::Sub"] and isinstance(value["Fn::Sub"], str):
            return re.sub(r"\$\{([^}]+)\}", lambda name: str(self({"Ref": name.group(1)})), value["Fn::Sub"])
        if list(value) == ["Fn::GetAtt"]:
            logical_id, attribute = value["Fn::GetAtt"]
            assert attribute == "Arn", attribute
            return self.arn(logical_id)
        return {key: self(item) for key, item in value.items()}

    def arn(self, logical_id: str) -> str:
        client, pid = self.deployment.client, self.physical[logical_id]
        kind = self.types[logical_id]
        if kind == "AWS::IAM::Role":
            return str(client("iam").get_role(RoleName=pid)["Role"]["Arn"])
        if kind == "AWS::Lambda::Function":
            return str(client("lambda").get_function_configuration(FunctionName=pid)["FunctionArn"])
        if kind == "AWS::Logs::LogGroup":
            groups = client("logs").describe_log_groups(logGroupNamePrefix=pid)["logGroups"]
            return str(next(g["arn"] for g in groups if g["logGroupName"] == pid))
        raise AssertionError(f"no ARN lookup for {kind}")


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


def test_cdk_bootstrap_makes_the_toolkit_stack_its_version_parameter_and_staging_bucket(
    cdk_stack: CdkDeployment,
) -> None:
    cloudformation = cdk_stack.client("cloudformation")
    toolkit = cloudformation.describe_stacks(StackName="CDKToolkit")["Stacks"][0]
    assert toolkit["StackStatus"] == "CREATE_COMPLETE"
    toolkit_outputs = {o["OutputKey"]: o["OutputValue"] for o in toolkit["Outputs"]}
    parameter = cdk_stack.client("ssm").get_parameter(Name="/cdk-bootstrap/hnb659fds/version")["Parameter"]
    assert parameter["Value"] == toolkit_outputs["BootstrapVersion"]
    assert toolkit_outputs["BucketName"] == f"cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"
    cdk_stack.client("s3").head_bucket(Bucket=toolkit_outputs["BucketName"])


def test_cdk_deploy_uploads_the_assets_and_deploys_through_a_change_set(cdk_stack: CdkDeployment) -> None:
    assets = json.loads((cdk_stack.assembly / "MeterPipe.assets.json").read_text())["files"]
    s3 = cdk_stack.client("s3")
    for asset in assets.values():
        (destination,) = asset["destinations"].values()
        bucket = (
            destination["bucketName"].replace("${AWS::AccountId}", ACCOUNT).replace("${AWS::Region}", REGION)
        )
        s3.head_object(Bucket=bucket, Key=destination["objectKey"])
    assert "creating CloudFormation changeset" in cdk_stack.output_text
    stack = cdk_stack.client("cloudformation").describe_stacks(StackName="MeterPipe")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"


def test_the_outputs_are_the_templates_and_name_what_the_services_hold(cdk_stack: CdkDeployment) -> None:
    template = cdk_stack.template()
    assert set(cdk_stack.outputs) == set(template["Outputs"])
    out, client = cdk_stack.outputs, cdk_stack.client
    for key in ("DailyRollupStateMachineArn", "BackfillStateMachineArn"):
        client("stepfunctions").describe_state_machine(stateMachineArn=out[key])
    client("lambda").get_function(FunctionName=out["WriteBatchFunctionName"])
    client("dynamodb").describe_table(TableName=out["RollupTableName"])
    client("s3").head_bucket(Bucket=out["LakeBucketName"])
    client("s3").head_bucket(Bucket=out["ResultsBucketName"])
    client("athena").get_work_group(WorkGroup=out["AthenaWorkGroupName"])
    client("glue").get_database(Name=out["GlueDatabaseName"])
    client("sns").get_topic_attributes(TopicArn=out["AlarmTopicArn"])


def test_the_state_machines_are_the_templates_definitions_with_its_references(
    cdk_stack: CdkDeployment,
) -> None:
    resolve = Resolver(cdk_stack)
    sfn = cdk_stack.client("stepfunctions")
    machines = resources_of(cdk_stack.template(), "AWS::StepFunctions::StateMachine")
    assert len(machines) == 3  # daily_rollup, backfill, ledger_sync
    for logical_id, resource in machines.items():
        props = resource["Properties"]
        described = sfn.describe_state_machine(stateMachineArn=resolve.physical[logical_id])
        assert described["name"] == props["StateMachineName"]
        assert json.loads(described["definition"]) == json.loads(resolve(props["DefinitionString"]))
        assert described["roleArn"] == resolve(props["RoleArn"])
        assert described["type"] == props["StateMachineType"]
        logging = props["LoggingConfiguration"]
        assert described["loggingConfiguration"] == {
            "level": logging["Level"],
            "includeExecutionData": logging["IncludeExecutionData"],
            "destinations": [
                {
                    "cloudWatchLogsLogGroup": {
                        "logGroupArn": resolve(d["CloudWatchLogsLogGroup"]["LogGroupArn"])
                    }
                }
                for d in logging["Destinations"]
            ],
        }
        assert described["tracingConfiguration"] == {"enabled": props["TracingConfiguration"]["Enabled"]}


def test_the_ledger_sync_rule_has_the_templates_pattern_and_target(cdk_stack: CdkDeployment) -> None:
    resolve = Resolver(cdk_stack)
    [(logical_id, rule)] = resources_of(cdk_stack.template(), "AWS::Events::Rule").items()
    events = cdk_stack.client("events")
    name = resolve.physical[logical_id].rsplit("/", 1)[-1]
    described = events.describe_rule(Name=name)
    assert json.loads(described["EventPattern"]) == resolve(rule["Properties"]["EventPattern"])
    assert described["State"] == "ENABLED"
    [target] = events.list_targets_by_rule(Rule=name)["Targets"]
    [wanted] = rule["Properties"]["Targets"]
    assert (target["Arn"], target["RoleArn"]) == (resolve(wanted["Arn"]), resolve(wanted["RoleArn"]))


def test_the_function_has_the_templates_code_and_settings(cdk_stack: CdkDeployment) -> None:
    resolve = Resolver(cdk_stack)
    ((logical_id, resource),) = resources_of(cdk_stack.template(), "AWS::Lambda::Function").items()
    props = resolve(resource["Properties"])
    configuration = cdk_stack.client("lambda").get_function_configuration(
        FunctionName=resolve.physical[logical_id]
    )
    assert configuration["Environment"] == props["Environment"]
    for key in ("Handler", "Runtime", "Timeout", "MemorySize", "TracingConfig", "Architectures", "Role"):
        assert configuration[key] == props[key], key
    assert configuration["LoggingConfig"]["LogGroup"] == props["LoggingConfig"]["LogGroup"]
    assert [layer["Arn"] for layer in configuration["Layers"]] == props["Layers"]
    package = cdk_stack.client("s3").get_object(Bucket=props["Code"]["S3Bucket"], Key=props["Code"]["S3Key"])
    digest = base64.b64encode(hashlib.sha256(package["Body"].read()).digest()).decode()
    assert configuration["CodeSha256"] == digest


def test_the_schedule_and_workgroup_have_the_templates_settings(cdk_stack: CdkDeployment) -> None:
    resolve = Resolver(cdk_stack)
    template = cdk_stack.template()
    ((schedule_id, schedule),) = resources_of(template, "AWS::Scheduler::Schedule").items()
    props = resolve(schedule["Properties"])
    found = cdk_stack.client("scheduler").get_schedule(Name=resolve.physical[schedule_id])
    for key in (
        "ScheduleExpression",
        "ScheduleExpressionTimezone",
        "State",
        "FlexibleTimeWindow",
        "Description",
    ):
        assert found[key] == props[key], key
    assert found["Target"] == props["Target"]
    assert found["Target"]["Arn"] == cdk_stack.outputs["DailyRollupStateMachineArn"]

    ((group_id, group),) = resources_of(template, "AWS::Athena::WorkGroup").items()
    configuration = resolve(group["Properties"]["WorkGroupConfiguration"])
    found = cdk_stack.client("athena").get_work_group(WorkGroup=resolve.physical[group_id])["WorkGroup"]
    assert (
        found["Configuration"]["ResultConfiguration"]["OutputLocation"]
        == (configuration["ResultConfiguration"]["OutputLocation"])
    )
    assert found["Configuration"]["EnforceWorkGroupConfiguration"] is True
    assert found["Configuration"]["BytesScannedCutoffPerQuery"] == configuration["BytesScannedCutoffPerQuery"]


def test_a_day_on_the_deployed_stack_writes_the_totals_of_its_readings(
    cdk_stack: CdkDeployment, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    generated = Cli(cdk_stack.home, cdk_stack.endpoint)(
        "generate", "--customers", "4", "--from", f"{DAY}", "--to", f"{DAY}", "--out", str(data)
    )
    assert generated.returncode == 0, generated.stderr
    s3 = cdk_stack.client("s3")
    for path in sorted(data.rglob("*.csv")):
        s3.upload_file(str(path), cdk_stack.outputs["LakeBucketName"], path.relative_to(data).as_posix())
    sfn = cdk_stack.client("stepfunctions")

    arn = sfn.start_execution(
        stateMachineArn=cdk_stack.outputs["DailyRollupStateMachineArn"], input=json.dumps({"date": f"{DAY}"})
    )["executionArn"]

    deadline = time.monotonic() + 300
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "daily_rollup did not end"
        time.sleep(0.2)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    table = cdk_stack.client("dynamodb").scan(TableName=cdk_stack.outputs["RollupTableName"])["Items"]
    month = f"{DAY:%Y-%m}"
    found = {
        (int(item["CustomerID"]["N"]), item["SensorID-Period"]["S"]): (
            Decimal(item["kWh-Amount"]["N"]),
            int(item["ReadingCount"]["N"]),
        )
        for item in table
        if month in item["SensorID-Period"]["S"]
    }
    expected = expected_items(data / "customer_meter_sensor", lake_readings(data))
    assert found == expected


# -- cdk destroy: its own localcloud, deployed with `make deploy-local`'s program -----------------

INVENTORY = {
    "AWS::S3::Bucket": lambda c: [b["Name"] for b in c("s3").list_buckets()["Buckets"]],
    "AWS::DynamoDB::Table": lambda c: c("dynamodb").list_tables()["TableNames"],
    "AWS::Logs::LogGroup": lambda c: [
        g["logGroupName"] for g in c("logs").describe_log_groups()["logGroups"]
    ],
    "AWS::KMS::Key": lambda c: [k["KeyId"] for k in c("kms").list_keys()["Keys"]],
    "AWS::IAM::Role": lambda c: [r["RoleName"] for r in c("iam").list_roles()["Roles"]],
    "AWS::SNS::Topic": lambda c: [t["TopicArn"] for t in c("sns").list_topics()["Topics"]],
    "AWS::CloudWatch::Alarm": lambda c: [
        a["AlarmName"] for a in c("cloudwatch").describe_alarms()["MetricAlarms"]
    ],
    "AWS::Lambda::Function": lambda c: [f["FunctionName"] for f in c("lambda").list_functions()["Functions"]],
    "AWS::StepFunctions::StateMachine": lambda c: [
        m["stateMachineArn"] for m in c("stepfunctions").list_state_machines()["stateMachines"]
    ],
    "AWS::Athena::WorkGroup": lambda c: [
        g["Name"] for g in c("athena").list_work_groups()["WorkGroups"] if g["Name"] != "primary"
    ],
    "AWS::Scheduler::Schedule": lambda c: [s["Name"] for s in c("scheduler").list_schedules()["Schedules"]],
    "AWS::Glue::Database": lambda c: [d["Name"] for d in c("glue").get_databases()["DatabaseList"]],
    "AWS::SSM::Parameter": lambda c: [p["Name"] for p in c("ssm").describe_parameters()["Parameters"]],
    "AWS::ECR::Repository": lambda c: [
        r["repositoryName"] for r in c("ecr").describe_repositories()["repositories"]
    ],
}


def inventory(deployment: CdkDeployment) -> set[tuple[str, str]]:
    """(type, physical id) of everything localcloud holds, for the types of both stacks."""
    return {(kind, name) for kind, listing in INVENTORY.items() for name in listing(deployment.client)}


def stack_resources(deployment: CdkDeployment, stack: str) -> dict[str, tuple[str, str]]:
    listed = deployment.client("cloudformation").list_stack_resources(StackName=stack)[
        "StackResourceSummaries"
    ]
    return {r["LogicalResourceId"]: (r["ResourceType"], r["PhysicalResourceId"]) for r in listed}


def local_cdk(action: str, home: Path, assembly: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "meterpipe.local.cdk", action, "--home", str(home), "--app", str(assembly)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_cdk_destroy_removes_everything_but_what_the_template_retains(
    synthesis: Synthesis, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    server = launcher.start(home, port=0)
    try:
        deployment = CdkDeployment(home=home, endpoint=server.endpoint, assembly=synthesis.outdir)
        before = inventory(deployment)
        local_cdk("deploy", home, synthesis.outdir)
        made = stack_resources(deployment, "MeterPipe")
        toolkit = set(stack_resources(deployment, "CDKToolkit").values())

        local_cdk("destroy", home, synthesis.outdir)

        retained = {
            made[logical_id]
            for logical_id, resource in synthesis.raw["Resources"].items()
            if resource.get("DeletionPolicy") == "Retain"
        }
        remaining = inventory(deployment) - before - toolkit
        assert remaining == retained
        assert sorted(kind for kind, _ in remaining) == [
            "AWS::DynamoDB::Table",  # the rollups
            "AWS::DynamoDB::Table",  # the ledger
            "AWS::KMS::Key",
            "AWS::Logs::LogGroup",
            "AWS::Logs::LogGroup",
            "AWS::Logs::LogGroup",
            "AWS::Logs::LogGroup",
            "AWS::S3::Bucket",
            "AWS::S3::Bucket",
            "AWS::S3::Bucket",
        ]
        s3 = deployment.client("s3")
        for kind, bucket in remaining:
            if kind == "AWS::S3::Bucket":  # the stack's bucket policies went with it
                with pytest.raises(ClientError, match="NoSuchBucketPolicy"):
                    s3.get_bucket_policy(Bucket=bucket)
        stacks = deployment.client("cloudformation").describe_stacks()["Stacks"]
        assert [s["StackName"] for s in stacks] == ["CDKToolkit"]
    finally:
        launcher.stop(home)
