"""CloudFormation on localcloud with small templates through boto3: the types localcloud serves
itself are made by its own services (through their APIs), the rest by MiniStack; events, outputs,
updates, rollbacks and deletes as CloudFormation reports them."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from endpoint_support import clients

from localcloud import launcher

ASSETS = "cfn-assets"
ROLE_ARN = {"Fn::GetAtt": ["Role", "Arn"]}
APP = """
import os

def handler(event, context):
    return {"table": os.environ["TABLE"], "stage": os.environ.get("STAGE")}
"""
PASS_DEFINITION = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
YAML_DEFINITION = """
StartAt: Greet
States:
  Greet:
    Type: Pass
    Result: "${Greeting}"
    End: true
"""


@pytest.fixture(scope="module")
def assets(client, zip_package) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket=ASSETS)
    s3.put_object(Bucket=ASSETS, Key="code.zip", Body=zip_package({"app.py": APP}))
    s3.put_object(Bucket=ASSETS, Key="greet.asl.yaml", Body=YAML_DEFINITION.encode())


def settle(cloudformation, name: str) -> dict[str, Any]:
    """The stack once its operation has ended (polled, as CloudFormation's waiters poll)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        stack: dict[str, Any] = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack
        time.sleep(0.05)
    raise AssertionError(f"stack {name} did not settle")


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def events(cloudformation, name: str) -> list[dict[str, Any]]:
    """The stack's events, oldest first."""
    found = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    return list(reversed(found))


def pipeline_template(
    prefix: str = "cfn", *, stage: str = "one", cron: str = "cron(30 3 * * ? *)", greeting: str = "hello"
) -> dict:
    return {
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "BillingMode": "PAY_PER_REQUEST",
                },
            },
            "Results": {"Type": "AWS::S3::Bucket"},
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "app.handler",
                    "Role": ROLE_ARN,
                    "Code": {"S3Bucket": ASSETS, "S3Key": "code.zip"},
                    "Environment": {"Variables": {"TABLE": {"Ref": "Table"}, "STAGE": stage}},
                    "Timeout": 10,
                },
            },
            "Invoker": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": f"{prefix}-invoker",
                    "RoleArn": ROLE_ARN,
                    "DefinitionString": json.dumps(
                        {
                            "StartAt": "Call",
                            "States": {
                                "Call": {
                                    "Type": "Task",
                                    "Resource": "arn:aws:states:::lambda:invoke",
                                    "Parameters": {"FunctionName": "${FunctionArn}", "Payload.$": "$"},
                                    "OutputPath": "$.Payload",
                                    "End": True,
                                }
                            },
                        }
                    ),
                    "DefinitionSubstitutions": {"FunctionArn": {"Fn::GetAtt": ["Function", "Arn"]}},
                },
            },
            "Greeter": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": ROLE_ARN,
                    "DefinitionS3Location": {"Bucket": ASSETS, "Key": "greet.asl.yaml"},
                    "DefinitionSubstitutions": {"Greeting": greeting},
                    "StateMachineType": "EXPRESS",
                },
            },
            "Passer": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"RoleArn": ROLE_ARN, "Definition": PASS_DEFINITION},
                "DeletionPolicy": "Retain",
            },
            "WorkGroup": {
                "Type": "AWS::Athena::WorkGroup",
                "Properties": {
                    "Name": f"{prefix}-queries",
                    "RecursiveDeleteOption": True,
                    "WorkGroupConfiguration": {
                        "EnforceWorkGroupConfiguration": True,
                        "BytesScannedCutoffPerQuery": 10485760,
                        "ResultConfiguration": {"OutputLocation": {"Fn::Sub": "s3://${Results}/athena/"}},
                    },
                },
            },
            "Rule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "EventPattern": {"source": [f"{prefix}.orders"], "detail-type": ["Order placed"]},
                    "Targets": [{"Id": "invoke", "Arn": {"Ref": "Invoker"}, "RoleArn": ROLE_ARN}],
                },
            },
            "Schedule": {
                "Type": "AWS::Scheduler::Schedule",
                "Properties": {
                    "ScheduleExpression": cron,
                    "FlexibleTimeWindow": {"Mode": "OFF"},
                    "Target": {
                        "Arn": {"Ref": "Invoker"},
                        "RoleArn": ROLE_ARN,
                        "Input": '{"from": "schedule"}',
                    },
                },
            },
        },
        "Outputs": {
            "RuleName": {"Value": {"Ref": "Rule"}},
            "FunctionName": {"Value": {"Ref": "Function"}},
            "FunctionArn": {"Value": {"Fn::GetAtt": ["Function", "Arn"]}},
            "InvokerArn": {"Value": {"Ref": "Invoker"}},
            "GreeterName": {"Value": {"Fn::GetAtt": ["Greeter", "Name"]}},
            "PasserArn": {"Value": {"Ref": "Passer"}},
            "WorkGroup": {"Value": {"Ref": "WorkGroup"}},
            "ScheduleName": {"Value": {"Ref": "Schedule"}},
            "ScheduleArn": {"Value": {"Fn::GetAtt": ["Schedule", "Arn"]}},
            "Results": {"Value": {"Ref": "Results"}},
        },
    }


def deploy(client, name: str, template: dict, *, update: bool = False) -> dict[str, Any]:
    cloudformation = client("cloudformation")
    operation = cloudformation.update_stack if update else cloudformation.create_stack
    operation(StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    return settle(cloudformation, name)


@pytest.fixture(scope="module")
def pipeline(client, assets) -> dict[str, Any]:
    return deploy(client, "pipeline", pipeline_template())


def test_a_stack_makes_localclouds_own_types_through_its_services(client, pipeline) -> None:
    assert pipeline["StackStatus"] == "CREATE_COMPLETE"
    out = outputs(pipeline)
    lam, sfn, scheduler = client("lambda"), client("stepfunctions"), client("scheduler")

    function = lam.get_function_configuration(FunctionName=out["FunctionName"])
    assert function["FunctionArn"] == out["FunctionArn"]
    assert out["FunctionName"].startswith("pipeline-Function-")
    invoker = sfn.describe_state_machine(stateMachineArn=out["InvokerArn"])
    assert invoker["name"] == "cfn-invoker"
    call = json.loads(invoker["definition"])["States"]["Call"]
    assert call["Parameters"]["FunctionName"] == out["FunctionArn"]
    execution = sfn.start_execution(stateMachineArn=out["InvokerArn"], input="{}")["executionArn"]
    result = wait_for_execution(sfn, execution)
    assert json.loads(result["output"]) == {
        "table": function["Environment"]["Variables"]["TABLE"],
        "stage": "one",
    }

    greeter_arn = f"arn:aws:states:us-east-1:000000000000:stateMachine:{out['GreeterName']}"
    greeter = sfn.describe_state_machine(stateMachineArn=greeter_arn)
    assert greeter["type"] == "EXPRESS"
    assert json.loads(greeter["definition"])["States"]["Greet"]["Result"] == "hello"  # YAML from S3
    passer = sfn.describe_state_machine(stateMachineArn=out["PasserArn"])
    assert json.loads(passer["definition"]) == PASS_DEFINITION

    group = client("athena").get_work_group(WorkGroup=out["WorkGroup"])["WorkGroup"]
    assert group["Configuration"]["ResultConfiguration"]["OutputLocation"] == f"s3://{out['Results']}/athena/"
    assert group["Configuration"]["BytesScannedCutoffPerQuery"] == 10485760
    schedule = scheduler.get_schedule(Name=out["ScheduleName"])
    assert schedule["Arn"] == out["ScheduleArn"]
    assert schedule["Target"]["Arn"] == out["InvokerArn"]
    assert schedule["ScheduleExpression"] == "cron(30 3 * * ? *)"
    events = client("events")
    rule = events.describe_rule(Name=out["RuleName"])
    assert json.loads(rule["EventPattern"]) == {"source": ["cfn.orders"], "detail-type": ["Order placed"]}
    assert [t["Arn"] for t in events.list_targets_by_rule(Rule=out["RuleName"])["Targets"]] == [
        out["InvokerArn"]
    ]


def test_every_resource_reports_its_progress_and_physical_id_in_the_stack_events(client, pipeline) -> None:
    cloudformation = client("cloudformation")
    history = events(cloudformation, "pipeline")
    resources = pipeline_template()["Resources"]
    for logical_id in resources:
        own = [e for e in history if e["LogicalResourceId"] == logical_id]
        assert [e["ResourceStatus"] for e in own] == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"], logical_id
        assert own[-1]["PhysicalResourceId"], logical_id
    assert (history[0]["ResourceStatus"], history[-1]["ResourceStatus"]) == (
        "CREATE_IN_PROGRESS",
        "CREATE_COMPLETE",
    )
    listed = {
        r["LogicalResourceId"]: r["ResourceType"]
        for r in cloudformation.list_stack_resources(StackName="pipeline")["StackResourceSummaries"]
    }
    assert listed == {logical_id: resource["Type"] for logical_id, resource in resources.items()}


def wait_for_execution(sfn, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            assert described["status"] == "SUCCEEDED", described
            return described
        time.sleep(0.05)
    raise AssertionError(f"{arn} did not end")


def test_an_update_changes_resources_in_place_keeping_their_arns(client, pipeline) -> None:
    before = outputs(pipeline)
    sfn = client("stepfunctions")
    greeter_arn = f"arn:aws:states:us-east-1:000000000000:stateMachine:{before['GreeterName']}"
    revision = sfn.describe_state_machine(stateMachineArn=greeter_arn)["revisionId"]

    updated = deploy(
        client,
        "pipeline",
        pipeline_template(stage="two", cron="rate(1 hour)", greeting="bonjour"),
        update=True,
    )

    assert updated["StackStatus"] == "UPDATE_COMPLETE"
    assert outputs(updated) == before
    function = client("lambda").get_function_configuration(FunctionName=before["FunctionName"])
    assert function["Environment"]["Variables"]["STAGE"] == "two"
    greeter = sfn.describe_state_machine(stateMachineArn=greeter_arn)
    assert json.loads(greeter["definition"])["States"]["Greet"]["Result"] == "bonjour"
    assert greeter["revisionId"] != revision
    assert (
        client("scheduler").get_schedule(Name=before["ScheduleName"])["ScheduleExpression"] == "rate(1 hour)"
    )


def test_a_failed_update_rolls_back_to_the_previous_configuration(client, pipeline) -> None:
    cloudformation = client("cloudformation")
    broken = copy.deepcopy(dict(cloudformation.get_template(StackName="pipeline")["TemplateBody"]))
    broken["Resources"]["Passer"]["Properties"]["Definition"] = {"StartAt": "Nowhere", "States": {}}

    rolled_back = deploy(client, "pipeline", broken, update=True)

    assert rolled_back["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    failed = [e for e in events(cloudformation, "pipeline") if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert failed[-1]["LogicalResourceId"] == "Passer"
    assert failed[-1]["ResourceStatusReason"].startswith(
        'Resource handler returned message: "Invalid State Machine Definition:'
    )
    passer = client("stepfunctions").describe_state_machine(stateMachineArn=outputs(rolled_back)["PasserArn"])
    assert json.loads(passer["definition"]) == PASS_DEFINITION


def test_a_resource_the_service_refuses_rolls_the_new_stack_back_with_the_services_reason(
    client, assets
) -> None:
    template = pipeline_template("refused")
    template["Resources"]["Invoker"]["Properties"]["DefinitionString"] = json.dumps(
        {"StartAt": "Missing", "States": {"Done": {"Type": "Succeed"}}}
    )
    for name in ("Greeter", "Passer", "WorkGroup", "Schedule", "Rule"):
        del template["Resources"][name]
    template["Outputs"] = {}

    stack = deploy(client, "refused", template)

    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    history = events(client("cloudformation"), "refused")
    failed = [e for e in history if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed] == ["Invoker"]
    reason = failed[0]["ResourceStatusReason"]
    assert reason.startswith(
        "Resource handler returned message: \"Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET:"
    )
    assert "(Service: Sfn, Status Code: 400, Request ID: " in reason
    assert reason.endswith("HandlerErrorCode: InvalidRequest)")
    function_id = next(
        e["PhysicalResourceId"]
        for e in history
        if e["LogicalResourceId"] == "Function" and e["ResourceStatus"] == "CREATE_COMPLETE"
    )
    assert [e["ResourceStatus"] for e in history if e["LogicalResourceId"] == "Function"][
        -1
    ] == "DELETE_COMPLETE"
    with pytest.raises(ClientError) as error:
        client("lambda").get_function(FunctionName=function_id)
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_types_of_localclouds_services_without_a_provider_are_refused_by_name(client, assets) -> None:
    template = pipeline_template()
    resources = {name: template["Resources"][name] for name in ("Table", "Role", "Function")}
    resources["Permission"] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": "Function"},
            "Principal": "events.amazonaws.com",
        },
    }

    stack = deploy(client, "permission", {"Resources": resources})

    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [
        e for e in events(client("cloudformation"), "permission") if e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert [(e["LogicalResourceId"], e["ResourceStatusReason"]) for e in failed] == [
        (
            "Permission",
            "localcloud does not provision AWS::Lambda::Permission: localcloud serves Lambda itself and "
            "provisions AWS::Lambda::Function (docs/localcloud.md, CloudFormation)",
        )
    ]


def test_a_custom_resource_is_refused_naming_it_and_its_service_token(client) -> None:
    token = "arn:aws:lambda:us-east-1:000000000000:function:provider"
    template = {"Resources": {"Thing": {"Type": "Custom::Thing", "Properties": {"ServiceToken": token}}}}

    stack = deploy(client, "custom", template)

    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [e for e in events(client("cloudformation"), "custom") if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [e["ResourceStatusReason"] for e in failed] == [
        f"localcloud does not run custom resources (Thing, ServiceToken '{token}'): nothing was sent to it "
        "(docs/localcloud.md, CloudFormation)"
    ]


def test_deleting_a_stack_removes_what_it_made_and_keeps_what_it_retains(client, assets) -> None:
    stack = deploy(client, "short-lived", pipeline_template("short"))
    made = outputs(stack)
    cloudformation = client("cloudformation")

    cloudformation.delete_stack(StackName="short-lived")
    with pytest.raises(ClientError):  # a deleted stack is no longer found by name
        settle(cloudformation, "short-lived")

    sfn = client("stepfunctions")
    machines = {m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    assert made["InvokerArn"] not in machines
    assert made["PasserArn"] in machines  # DeletionPolicy: Retain
    functions = {f["FunctionName"] for f in client("lambda").list_functions()["Functions"]}
    assert made["FunctionName"] not in functions
    groups = {g["Name"] for g in client("athena").list_work_groups()["WorkGroups"]}
    assert made["WorkGroup"] not in groups
    schedules = {s["Name"] for s in client("scheduler").list_schedules()["Schedules"]}
    assert made["ScheduleName"] not in schedules
    rules = {r["Name"] for r in client("events").list_rules()["Rules"]}
    assert made["RuleName"] not in rules


def test_a_stack_survives_a_restart_and_can_then_be_deleted(tmp_path) -> None:
    home = tmp_path / "home"
    template = {
        "Resources": {
            "Table": pipeline_template()["Resources"]["Table"],
            "Role": pipeline_template()["Resources"]["Role"],
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"RoleArn": ROLE_ARN, "Definition": PASS_DEFINITION},
            },
        },
        "Outputs": {"Table": {"Value": {"Ref": "Table"}}, "Machine": {"Value": {"Ref": "Machine"}}},
    }
    server = launcher.start(home, port=0)
    try:
        made = outputs(deploy(clients(server.endpoint), "kept", template))
        launcher.stop(home)
        server = launcher.start(home, port=0)
        client = clients(server.endpoint)

        stack = client("cloudformation").describe_stacks(StackName="kept")["Stacks"][0]
        assert (stack["StackStatus"], outputs(stack)) == ("CREATE_COMPLETE", made)
        client("cloudformation").delete_stack(StackName="kept")
        with pytest.raises(ClientError):
            settle(client("cloudformation"), "kept")
        assert client("dynamodb").list_tables()["TableNames"] == []
        assert client("stepfunctions").list_state_machines()["stateMachines"] == []
    finally:
        launcher.stop(home)
