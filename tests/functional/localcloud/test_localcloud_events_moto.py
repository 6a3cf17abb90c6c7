"""A second opinion on EventBridge's API errors: the same calls against moto's EventBridge
(``mock_aws``) and localcloud give the same error code and HTTP status.

Only the cases moto models are compared. Where moto is laxer than AWS, localcloud follows AWS:
moto accepts a pattern with an operator EventBridge does not know (``{"contains": ...}``), which
AWS and localcloud refuse with InvalidEventPatternException; moto's TestEventPattern is not
implemented.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

QUEUE = "arn:aws:sqs:us-east-1:000000000000:q"
FUNCTION = "arn:aws:lambda:us-east-1:000000000000:function:f"

Call = Callable[[Any], Any]
CASES: dict[str, Call] = {
    "describe a missing rule": lambda e: e.describe_rule(Name="missing"),
    "enable a missing rule": lambda e: e.enable_rule(Name="missing"),
    "disable a missing rule": lambda e: e.disable_rule(Name="missing"),
    "list the targets of a missing rule": lambda e: e.list_targets_by_rule(Rule="missing"),
    "put targets on a missing rule": lambda e: e.put_targets(
        Rule="missing", Targets=[{"Id": "a", "Arn": FUNCTION}]
    ),
    "remove targets of a missing rule": lambda e: e.remove_targets(Rule="missing", Ids=["a"]),
    "a rule without pattern or schedule": lambda e: e.put_rule(Name="empty"),
    "a bus that does not exist": lambda e: e.describe_rule(Name="kept", EventBusName="elsewhere"),
    "delete a rule with targets": lambda e: e.delete_rule(Name="kept"),
    "delete a rule that does not exist": lambda e: e.delete_rule(Name="missing"),
    "a malformed detail": lambda e: e.put_events(Entries=[{"Source": "s", "DetailType": "t", "Detail": "{"}]),
    "a missing detail": lambda e: e.put_events(Entries=[{"Source": "s", "DetailType": "t"}]),
}


def outcome(events: Any, call: Call) -> tuple[str, int] | list[str]:
    """The error's (code, HTTP status), or the PutEvents entries' error codes, or ("ok", 200)."""
    try:
        answer = call(events)
    except ClientError as error:
        return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]
    if "Entries" in answer:
        return [entry.get("ErrorCode", "ok") for entry in answer["Entries"]]
    return "ok", answer["ResponseMetadata"]["HTTPStatusCode"]


def prepared(events: Any) -> Any:
    events.put_rule(Name="kept", EventPattern=json.dumps({"source": ["x"]}))
    events.put_targets(Rule="kept", Targets=[{"Id": "f", "Arn": FUNCTION}])
    return events


@pytest.fixture(scope="module")
def on_moto() -> Iterator[Any]:
    with mock_aws():
        yield prepared(boto3.client("events", region_name="us-east-1"))


@pytest.fixture(scope="module")
def on_localcloud(client) -> Any:  # type: ignore[no-untyped-def]
    return prepared(client("events"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_localcloud_and_moto_answer_the_same_error(case: str, on_moto: Any, on_localcloud: Any) -> None:
    assert outcome(on_localcloud, CASES[case]) == outcome(on_moto, CASES[case])


def test_the_compared_answers_are_the_ones_aws_documents(on_localcloud: Any) -> None:
    found = {case: outcome(on_localcloud, call) for case, call in CASES.items()}
    assert found == {
        "describe a missing rule": ("ResourceNotFoundException", 400),
        "enable a missing rule": ("ResourceNotFoundException", 400),
        "disable a missing rule": ("ResourceNotFoundException", 400),
        "list the targets of a missing rule": ("ResourceNotFoundException", 400),
        "put targets on a missing rule": ("ResourceNotFoundException", 400),
        "remove targets of a missing rule": ("ResourceNotFoundException", 400),
        "a rule without pattern or schedule": ("ValidationException", 400),
        "a bus that does not exist": ("ResourceNotFoundException", 400),
        "delete a rule with targets": ("ValidationException", 400),
        "delete a rule that does not exist": ("ok", 200),
        "a malformed detail": ["MalformedDetail"],
        "a missing detail": ["InvalidArgument"],
    }


def test_an_unknown_operator_is_refused_by_localcloud_as_by_aws_while_moto_accepts_it(
    on_moto: Any, on_localcloud: Any
) -> None:
    pattern = json.dumps({"source": [{"contains": "ec2"}]})
    on_moto.put_rule(Name="lax", EventPattern=pattern)  # moto's laxness, noted above
    with pytest.raises(ClientError) as raised:
        on_localcloud.put_rule(Name="lax", EventPattern=pattern)
    assert raised.value.response["Error"]["Code"] == "InvalidEventPatternException"
