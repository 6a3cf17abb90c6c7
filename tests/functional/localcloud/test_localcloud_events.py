"""EventBridge on the endpoint: rules on Step Functions' execution status changes starting a target
state machine, PutEvents, targets localcloud refuses, and the API's errors, through plain boto3
against a running localcloud."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from endpoint_support import sink_inputs

ROLE = "arn:aws:iam::000000000000:role/localcloud-tests"
DETAIL_TYPE = "Step Functions Execution Status Change"


def fail_machine() -> str:
    return json.dumps(
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "it broke"}}}
    )


def wait_machine(seconds: int = 3600) -> str:
    return json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": seconds, "End": True}}})


SINK = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


@pytest.fixture(scope="module")
def sfn(client):  # type: ignore[no-untyped-def]
    return client("stepfunctions")


@pytest.fixture(scope="module")
def events(client):  # type: ignore[no-untyped-def]
    return client("events")


def machine(sfn: Any, name: str, definition: str) -> str:
    return str(sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)["stateMachineArn"])


def on_status(
    events: Any,
    rule: str,
    machine_arn: str,
    target_arn: str,
    detail: dict[str, Any] | None = None,
    **target: Any,
) -> None:
    pattern = {
        "source": ["aws.states"],
        "detail-type": [DETAIL_TYPE],
        "detail": {"stateMachineArn": [machine_arn], **(detail or {})},
    }
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    answer = events.put_targets(
        Rule=rule, Targets=[{"Id": "sink", "Arn": target_arn, "RoleArn": ROLE, **target}]
    )
    assert answer["FailedEntryCount"] == 0


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = raised.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


# -- status changes to a state machine ---------------------------------------------------------------


def test_a_rule_on_failed_starts_the_target_with_the_status_change_event(sfn, events) -> None:  # type: ignore[no-untyped-def]
    failing = machine(sfn, "ev-failing", fail_machine())
    sink = machine(sfn, "ev-failing-sink", SINK)
    on_status(events, "ev-on-failed", failing, sink, {"status": ["FAILED"]})

    started = sfn.start_execution(stateMachineArn=failing, name="first", input='{"day": "2024-01-05"}')
    (event,) = sink_inputs(sfn, sink, 1)

    described = sfn.describe_execution(executionArn=started["executionArn"])
    assert set(event) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert (event["version"], event["source"], event["detail-type"]) == ("0", "aws.states", DETAIL_TYPE)
    assert (event["account"], event["region"]) == ("000000000000", "us-east-1")
    assert event["resources"] == [started["executionArn"]]
    assert event["time"] == described["stopDate"].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert event["detail"] == {
        "executionArn": started["executionArn"],
        "stateMachineArn": failing,
        "name": "first",
        "status": "FAILED",
        "startDate": int(described["startDate"].timestamp() * 1000),
        "stopDate": int(described["stopDate"].timestamp() * 1000),
        "input": '{"day": "2024-01-05"}',
        "inputDetails": {"included": True},
        "output": None,
        "outputDetails": None,
        "redriveCount": 0,
        "redriveStatus": "REDRIVABLE",
        "error": "Boom",
        "cause": "it broke",
    }


def test_every_status_of_a_standard_execution_is_sent_and_an_express_one_sends_none(sfn, events) -> None:  # type: ignore[no-untyped-def]
    ok = machine(
        sfn,
        "ev-ok",
        json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"n": 1}, "End": True}}}),
    )
    express = sfn.create_state_machine(name="ev-express", definition=SINK, roleArn=ROLE, type="EXPRESS")
    sink = machine(sfn, "ev-ok-sink", SINK)
    on_status(events, "ev-on-ok", ok, sink)
    on_status(events, "ev-on-express", express["stateMachineArn"], sink)

    sfn.start_execution(stateMachineArn=express["stateMachineArn"])
    sfn.start_execution(stateMachineArn=ok, name="ok-run")
    running, succeeded = (event["detail"] for event in sink_inputs(sfn, sink, 2))
    assert running["name"] == succeeded["name"] == "ok-run"  # the EXPRESS execution sent nothing

    assert (running["status"], running["stopDate"], running["output"], running["outputDetails"]) == (
        "RUNNING",
        None,
        None,
        None,
    )
    assert (running["redriveStatus"], running["redriveStatusReason"]) == (
        "NOT_REDRIVABLE",
        "Execution is RUNNING and cannot be redriven",
    )
    assert (succeeded["status"], succeeded["output"], succeeded["outputDetails"]) == (
        "SUCCEEDED",
        '{"n":1}',
        {"included": True},
    )
    assert succeeded["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"
    assert "error" not in succeeded and "redriveDate" not in succeeded


def test_a_stopped_execution_sends_aborted_with_the_error_and_cause_given(sfn, events) -> None:  # type: ignore[no-untyped-def]
    waiting = machine(sfn, "ev-waiting", wait_machine())
    sink = machine(sfn, "ev-waiting-sink", SINK)
    on_status(events, "ev-on-aborted", waiting, sink, {"status": ["ABORTED"]})

    started = sfn.start_execution(stateMachineArn=waiting, name="to-stop")
    sfn.stop_execution(executionArn=started["executionArn"], error="Operator.Stop", cause="stopped by a test")
    (event,) = sink_inputs(sfn, sink, 1)

    detail = event["detail"]
    assert (detail["status"], detail["error"], detail["cause"]) == (
        "ABORTED",
        "Operator.Stop",
        "stopped by a test",
    )
    assert detail["executionArn"] == started["executionArn"] and detail["stopDate"] is not None


def test_an_execution_past_its_timeout_sends_timed_out(sfn, events) -> None:  # type: ignore[no-untyped-def]
    definition = json.loads(wait_machine())
    definition["TimeoutSeconds"] = 1
    slow = machine(sfn, "ev-timeout", json.dumps(definition))
    sink = machine(sfn, "ev-timeout-sink", SINK)
    on_status(events, "ev-on-timeout", slow, sink, {"status": ["TIMED_OUT"]})

    sfn.start_execution(stateMachineArn=slow, name="too-slow")
    (event,) = sink_inputs(sfn, sink, 1)
    assert (event["detail"]["status"], event["detail"]["error"]) == ("TIMED_OUT", "States.Timeout")


def test_a_redrive_sends_running_with_its_redrive_count_and_date(sfn, events) -> None:  # type: ignore[no-untyped-def]
    failing = machine(sfn, "ev-redriven", fail_machine())
    sink = machine(sfn, "ev-redriven-sink", SINK)
    redriven = {
        "$or": [{"status": ["FAILED"]}, {"status": ["RUNNING"], "redriveCount": [{"numeric": [">", 0]}]}]
    }
    on_status(events, "ev-on-redrive", failing, sink, redriven)

    arn = sfn.start_execution(stateMachineArn=failing, name="again")["executionArn"]
    sink_inputs(sfn, sink, 1)
    redrive_date = sfn.redrive_execution(executionArn=arn)["redriveDate"]
    first_failure, running, second_failure = (event["detail"] for event in sink_inputs(sfn, sink, 3))

    assert (first_failure["status"], first_failure["redriveCount"]) == ("FAILED", 0)
    assert (running["status"], running["redriveCount"]) == ("RUNNING", 1)
    assert running["redriveDate"] == int(redrive_date.timestamp() * 1000)
    assert running["stopDate"] is None and "error" not in running
    assert (second_failure["status"], second_failure["redriveCount"]) == ("FAILED", 1)


def test_a_disabled_rule_delivers_nothing_until_it_is_enabled_again(sfn, events) -> None:  # type: ignore[no-untyped-def]
    failing = machine(sfn, "ev-disabled", fail_machine())
    sink = machine(sfn, "ev-disabled-sink", SINK)
    witness = machine(sfn, "ev-disabled-witness", SINK)
    on_status(events, "ev-disabled-rule", failing, sink, {"status": ["FAILED"]})
    on_status(events, "ev-witness-rule", failing, witness, {"status": ["FAILED"]})
    events.put_rule(Name="ev-marker", EventPattern=json.dumps({"source": ["test.marker"]}))
    events.put_targets(Rule="ev-marker", Targets=[{"Id": "sink", "Arn": sink, "RoleArn": ROLE}])
    events.disable_rule(Name="ev-disabled-rule")
    assert events.describe_rule(Name="ev-disabled-rule")["State"] == "DISABLED"

    sfn.start_execution(stateMachineArn=failing, name="unseen")
    sink_inputs(sfn, witness, 1)  # the failure was routed: a disabled rule's delivery would be queued by now
    events.put_events(Entries=[{"Source": "test.marker", "DetailType": "marker", "Detail": "{}"}])
    (only,) = sink_inputs(sfn, sink, 1)  # deliveries are made in order: the marker comes after
    assert only["source"] == "test.marker"

    events.enable_rule(Name="ev-disabled-rule")
    sfn.start_execution(stateMachineArn=failing, name="seen")
    assert sink_inputs(sfn, sink, 2)[1]["detail"]["name"] == "seen"


def test_input_and_input_path_choose_what_the_target_receives(sfn, events) -> None:  # type: ignore[no-untyped-def]
    failing = machine(sfn, "ev-inputs", fail_machine())
    by_path = machine(sfn, "ev-inputs-path", SINK)
    constant = machine(sfn, "ev-inputs-constant", SINK)
    on_status(events, "ev-input-path", failing, by_path, {"status": ["FAILED"]}, InputPath="$.detail")
    on_status(events, "ev-input", failing, constant, {"status": ["FAILED"]}, Input='{"fixed": true}')

    sfn.start_execution(stateMachineArn=failing, name="inputs")
    assert sink_inputs(sfn, by_path, 1)[0]["name"] == "inputs"
    assert sink_inputs(sfn, constant, 1) == [{"fixed": True}]


# -- PutEvents, TestEventPattern, Lambda targets -----------------------------------------------------------

ECHO = """
import json, boto3

def handler(event, context):
    boto3.client("s3").put_object(Bucket="ev-lambda", Key=event["id"], Body=json.dumps(event))
"""


def test_put_events_reaches_a_lambda_function_asynchronously(client, events, zip_package) -> None:  # type: ignore[no-untyped-def]
    s3 = client("s3")
    s3.create_bucket(Bucket="ev-lambda")
    function = client("lambda").create_function(
        FunctionName="ev-echo",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_package({"app.py": ECHO})},
    )["FunctionArn"]
    events.put_rule(
        Name="ev-orders",
        EventPattern=json.dumps({"source": ["shop.orders"], "detail": {"total": [{"numeric": [">", 100]}]}}),
    )
    events.put_targets(Rule="ev-orders", Targets=[{"Id": "echo", "Arn": function}])

    answer = events.put_events(
        Entries=[
            {
                "Source": "shop.orders",
                "DetailType": "Order",
                "Detail": '{"total": 250}',
                "Resources": ["order/1"],
            },
            {"Source": "shop.orders", "DetailType": "Order", "Detail": '{"total": 5}'},
            {"Source": "aws.states", "DetailType": DETAIL_TYPE, "Detail": "{}"},
            {"Source": "shop.orders", "DetailType": "Order", "Detail": "[1]"},
            {"Source": "shop.orders", "Detail": "{}"},
        ]
    )
    assert answer["FailedEntryCount"] == 3
    big, small = answer["Entries"][0]["EventId"], answer["Entries"][1]["EventId"]
    assert answer["Entries"][2:] == [
        {"ErrorCode": "NotAuthorizedForSourceException", "ErrorMessage": "Not authorized for the source."},
        {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."},
        {
            "ErrorCode": "InvalidArgument",
            "ErrorMessage": "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
        },
    ]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="ev-lambda").get("Contents", [])]
        if keys:
            break
        time.sleep(0.1)
    assert keys == [big] and small != big
    delivered = json.loads(s3.get_object(Bucket="ev-lambda", Key=big)["Body"].read())
    assert (delivered["source"], delivered["detail-type"], delivered["detail"]) == (
        "shop.orders",
        "Order",
        {"total": 250},
    )
    assert delivered["resources"] == ["order/1"]


def test_test_event_pattern_answers_with_the_rules_matcher(events) -> None:  # type: ignore[no-untyped-def]
    event = {
        "id": "1",
        "account": "000000000000",
        "source": "aws.states",
        "time": "2024-01-05T03:30:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail-type": DETAIL_TYPE,
        "detail": {"status": "TIMED_OUT"},
    }
    pattern = {"detail": {"status": [{"anything-but": ["SUCCEEDED", "RUNNING"]}]}}
    assert events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(event))["Result"]
    event["detail"] = {"status": "SUCCEEDED"}
    assert not events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(event))["Result"]
    with pytest.raises(ClientError) as raised:
        events.test_event_pattern(EventPattern=json.dumps(pattern), Event='{"detail": {}}')
    assert error_of(raised)[:2] == ("ValidationException", 400)


# -- refusals and errors ------------------------------------------------------------------------------------


def test_targets_localcloud_does_not_deliver_to_are_refused_in_failed_entries(events) -> None:  # type: ignore[no-untyped-def]
    events.put_rule(Name="ev-refusals", EventPattern='{"source": ["x"]}')
    answer = events.put_targets(
        Rule="ev-refusals",
        Targets=[
            {"Id": "queue", "Arn": "arn:aws:sqs:us-east-1:000000000000:q"},
            {"Id": "topic", "Arn": "arn:aws:sns:us-east-1:000000000000:t"},
            {
                "Id": "shaped",
                "Arn": "arn:aws:lambda:us-east-1:000000000000:function:f",
                "InputTransformer": {"InputPathsMap": {"s": "$.source"}, "InputTemplate": '"<s>"'},
            },
            {"Id": "fine", "Arn": "arn:aws:lambda:us-east-1:000000000000:function:f"},
        ],
    )
    assert answer["FailedEntryCount"] == 3
    failed = {entry["TargetId"]: entry for entry in answer["FailedEntries"]}
    assert failed["queue"]["ErrorCode"] == "NotImplemented"
    assert failed["queue"]["ErrorMessage"].startswith(
        "localcloud's EventBridge does not deliver to SQS targets (arn:aws:sqs:us-east-1:000000000000:q): "
        "it delivers to Step Functions state machines and Lambda functions."
    )
    assert "does not deliver to SNS targets" in failed["topic"]["ErrorMessage"]
    assert "does not apply InputTransformer (target shaped)" in failed["shaped"]["ErrorMessage"]
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="ev-refusals")["Targets"]] == ["fine"]


def test_a_pattern_with_an_unknown_operator_is_refused_naming_it(events) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as raised:
        events.put_rule(Name="ev-bad", EventPattern='{"source": [{"contains": "ec2"}]}')
    assert error_of(raised) == (
        "InvalidEventPatternException",
        400,
        "Event pattern is not valid. Reason: Unrecognized match type contains",
    )
    with pytest.raises(ClientError):
        events.describe_rule(Name="ev-bad")


def test_a_schedule_expression_is_refused_pointing_at_the_scheduler(events) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as raised:
        events.put_rule(Name="ev-cron", ScheduleExpression="rate(5 minutes)")
    code, status, message = error_of(raised)
    assert (code, status) == ("ValidationException", 400)
    assert "use EventBridge Scheduler (CreateSchedule)" in message


def test_rules_list_by_prefix_in_pages_and_go_only_once_their_targets_are_removed(events) -> None:  # type: ignore[no-untyped-def]
    for name in ("lst-c", "lst-a", "lst-b"):
        events.put_rule(Name=name, EventPattern='{"source": ["x"]}', Description=f"rule {name}")
    first = events.list_rules(NamePrefix="lst-", Limit=2)
    assert [r["Name"] for r in first["Rules"]] == ["lst-a", "lst-b"]
    second = events.list_rules(NamePrefix="lst-", Limit=2, NextToken=first["NextToken"])
    assert [r["Name"] for r in second["Rules"]] == ["lst-c"] and "NextToken" not in second
    assert first["Rules"][0]["Description"] == "rule lst-a" and first["Rules"][0]["EventBusName"] == "default"

    events.put_targets(
        Rule="lst-a", Targets=[{"Id": "f", "Arn": "arn:aws:lambda:us-east-1:000000000000:function:f"}]
    )
    with pytest.raises(ClientError) as raised:
        events.delete_rule(Name="lst-a")
    assert error_of(raised) == ("ValidationException", 400, "Rule can't be deleted since it has targets.")
    events.remove_targets(Rule="lst-a", Ids=["f"])
    events.delete_rule(Name="lst-a")
    events.delete_rule(Name="lst-a")  # deleting again succeeds, as on AWS
    with pytest.raises(ClientError) as raised:
        events.describe_rule(Name="lst-a")
    assert error_of(raised) == (
        "ResourceNotFoundException",
        400,
        "Rule lst-a does not exist on EventBus default.",
    )


def test_only_the_default_bus_exists(events) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as raised:
        events.list_rules(EventBusName="orders")
    code, status, message = error_of(raised)
    assert (code, status) == ("ResourceNotFoundException", 400)
    assert message.startswith("Event bus orders does not exist.")
    assert events.list_rules(EventBusName="arn:aws:events:us-east-1:000000000000:event-bus/default")["Rules"]


def test_a_state_machine_target_needs_a_role(events) -> None:  # type: ignore[no-untyped-def]
    events.put_rule(Name="ev-roleless", EventPattern='{"source": ["x"]}')
    target = "arn:aws:states:us-east-1:000000000000:stateMachine:any"
    with pytest.raises(ClientError) as raised:
        events.put_targets(Rule="ev-roleless", Targets=[{"Id": "m", "Arn": target}])
    assert error_of(raised) == ("ValidationException", 400, f"RoleArn is required for target {target}.")
