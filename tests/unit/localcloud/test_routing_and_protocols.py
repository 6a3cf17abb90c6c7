from __future__ import annotations

import json

import pytest

from localcloud.server.errors import ValidationException
from localcloud.server.http import Request
from localcloud.server.protocols import JsonProtocol, RestJsonProtocol
from localcloud.server.routing import signing_name

SIGNED = (
    "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=x"
)


@pytest.mark.parametrize("service", ["lambda", "scheduler", "states", "athena", "events", "s3", "dynamodb"])
def test_the_credential_scope_names_the_service(service: str) -> None:
    assert signing_name("POST", "/", {"authorization": SIGNED.format(service)}, {}) == service


def test_presigned_urls_and_unsigned_requests_are_routed_too() -> None:
    query = {"X-Amz-Credential": ["AKID/20240101/us-east-1/s3/aws4_request"]}
    assert signing_name("GET", "/bucket/key", {}, query) == "s3"
    assert signing_name("POST", "/", {"x-amz-target": "AWSStepFunctions.StartExecution"}, {}) == "states"
    assert signing_name("POST", "/", {"x-amz-target": "AWSEvents.PutEvents"}, {}) == "events"
    assert signing_name("GET", "/2015-03-31/functions/", {}, {}) == "lambda"
    assert signing_name("GET", "/schedule-groups", {}, {}) == "scheduler"
    assert signing_name("GET", "/some-bucket", {}, {}) is None


def test_rest_json_requests_are_parsed_from_uri_query_headers_and_payload() -> None:
    protocol = RestJsonProtocol("lambda")
    request = Request.build(
        "POST",
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af/invocations",
        raw_path="/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af/invocations",
        query_string="Qualifier=%24LATEST",
        headers={"X-Amz-Invocation-Type": "Event"},
        body=b'{"a": 1}',
    )
    operation, params = protocol.parse(request)
    assert operation == "Invoke"
    assert params == {
        "FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:f",
        "Qualifier": "$LATEST",
        "InvocationType": "Event",
        "Payload": b'{"a": 1}',
    }
    response = protocol.serialize(
        "Invoke", {"StatusCode": 200, "Payload": b"42", "FunctionError": "Unhandled"}
    )
    assert (response.status, response.body, response.headers["X-Amz-Function-Error"]) == (
        200,
        b"42",
        "Unhandled",
    )


def test_missing_required_members_are_a_validation_exception() -> None:
    protocol = RestJsonProtocol("lambda")
    request = Request.build("POST", "/2015-03-31/functions", body=json.dumps({"FunctionName": "f"}).encode())
    with pytest.raises(ValidationException, match="Missing required parameter"):
        protocol.parse(request)


def test_json_protocol_errors_carry_the_type_botocore_reads() -> None:
    protocol = JsonProtocol("stepfunctions")
    response = protocol.error(ValidationException("bad"))
    assert json.loads(response.body) == {"__type": "ValidationException", "message": "bad"}
    assert response.headers["Content-Type"] == "application/x-amz-json-1.0"
