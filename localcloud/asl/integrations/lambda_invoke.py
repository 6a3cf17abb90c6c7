"""AWS Lambda: ``arn:aws:states:::lambda:invoke`` (optimized) and bare function ARNs (legacy).

Error naming (developer guide, "Invoke an AWS Lambda function with Step Functions" and "Handle Lambda
service exceptions"): a function error surfaces with the ``errorType`` of the error payload as the
error name and the payload's JSON as the cause (``Lambda.Unknown`` when the payload names no type,
as for out-of-memory); a failure of the Lambda service itself is ``Lambda.<ErrorCode>`` (for example
``Lambda.ResourceNotFoundException``, ``Lambda.TooManyRequestsException``); a client that cannot
reach Lambda is ``Lambda.SdkClientException``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from localcloud.asl.checker import Checker, pointer
from localcloud.asl.errors import RUNTIME, StatesFailure
from localcloud.asl.integrations.base import Integration, TaskRequest
from localcloud.asl.integrations.sdk import sdk_metadata, service_error
from localcloud.asl.jsonata_eval import is_expression
from localcloud.asl.mocking import MockedAnswer
from localcloud.asl.payload import to_json

_INVOKE_FIELDS = {"FunctionName", "Payload", "InvocationType", "Qualifier", "ClientContext", "LogType"}


def _read_payload(response: dict[str, Any]) -> str:
    body = response.get("Payload")
    if body is None:
        return ""
    raw = body.read() if hasattr(body, "read") else body
    return raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else str(raw)


def _parse(text: str) -> Any:
    if text == "":
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _function_error(text: str) -> StatesFailure:
    payload = _parse(text)
    error_type = payload.get("errorType") if isinstance(payload, dict) else None
    return StatesFailure(error_type if isinstance(error_type, str) and error_type else "Lambda.Unknown", text)


def _call(client: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        response: dict[str, Any] = client.invoke(**kwargs)
    except StatesFailure:
        raise
    except Exception as exc:
        error = service_error(exc)
        if error.code is None and error.status is None:
            raise StatesFailure("Lambda.SdkClientException", f"Unable to invoke the function: {exc}") from exc
        code = error.code or "AWSLambdaException"
        raise StatesFailure(
            f"Lambda.{code}",
            f"{error.message} (Service: Lambda, Status Code: {error.status}, Error Code: {code}, "
            f"Request ID: {error.request_id})",
        ) from exc
    return response


def _payload_bytes(value: Any) -> bytes:
    return to_json(value).encode("utf-8")


class LambdaInvoke(Integration):
    """``arn:aws:states:::lambda:invoke``: the result is Lambda's Invoke response. With
    ``.waitForTaskToken`` the invoke response goes into TaskSubmitted and the result is what
    SendTaskSuccess sends (see :func:`~localcloud.asl.integrations.base.wait_for_callback`)."""

    patterns = frozenset({"", "waitForTaskToken"})

    def validate(self, state: Any, check: Checker) -> None:
        params = state.parameters
        field = "Arguments" if state.jsonata else "Parameters"
        if not isinstance(params, dict):
            if params is None or not (isinstance(params, str) and is_expression(params)):
                check.add(
                    state.path, f"The field '{field}' with 'FunctionName' is required for lambda:invoke"
                )
            return
        keys = {k[:-2] if k.endswith(".$") else k for k in params}
        if "FunctionName" not in keys:
            check.add(pointer(state.path, field), "The field 'FunctionName' is required but was missing")
        for key in sorted(keys - _INVOKE_FIELDS):
            check.add(pointer(state.path, field, key), f"The field '{key}' is not supported by lambda:invoke")

    def invoke(self, req: TaskRequest) -> Any:
        args = req.arguments
        if not isinstance(args, dict) or not isinstance(args.get("FunctionName"), str):
            raise StatesFailure(RUNTIME, "The field 'FunctionName' of lambda:invoke must be a string")
        kwargs: dict[str, Any] = {"FunctionName": args["FunctionName"]}
        if "Payload" in args:
            kwargs["Payload"] = _payload_bytes(args["Payload"])
        for key in ("InvocationType", "Qualifier", "LogType"):
            if key in args:
                kwargs[key] = args[key]
        if "ClientContext" in args:
            context = args["ClientContext"]
            kwargs["ClientContext"] = (
                context
                if isinstance(context, str)
                else base64.b64encode(_payload_bytes(context)).decode("ascii")
            )
        response = _call(req.client("lambda"), kwargs)
        text = _read_payload(response)
        if response.get("FunctionError"):
            raise _function_error(text)
        result: dict[str, Any] = {
            "ExecutedVersion": response.get("ExecutedVersion", "$LATEST"),
            "Payload": _parse(text),
            **sdk_metadata(response),
            "StatusCode": response.get("StatusCode", 200),
        }
        if text == "":
            del result["Payload"]  # an asynchronous (Event) invocation has no payload
        if "LogResult" in response:
            result["LogResult"] = response["LogResult"]
        return result


class LambdaFunction(Integration):
    """A bare function ARN as Resource: the input is the payload, the result the function's output."""

    history = "lambda"

    def mocked_result(self, mocked: MockedAnswer) -> Any:
        # A mock holds Lambda's Invoke response; the function's output is its Payload (Step
        # Functions Local's "state result from Payload section in the mocked Lambda response").
        value = super().mocked_result(mocked)
        return value["Payload"] if isinstance(value, dict) and "Payload" in value else value

    def invoke(self, req: TaskRequest) -> Any:
        response = _call(
            req.client("lambda"),
            {"FunctionName": self.resource.arn, "Payload": _payload_bytes(req.arguments)},
        )
        text = _read_payload(response)
        if response.get("FunctionError"):
            raise _function_error(text)
        return _parse(text)
