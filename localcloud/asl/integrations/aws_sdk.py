"""AWS SDK integrations: ``arn:aws:states:::aws-sdk:<service>:<action>[.waitForTaskToken]`` for any
operation boto3 knows (the guide's "Learning to use AWS service SDK integrations").

Naming, as the guide describes it:

* ``<service>`` is the lowercased service name of the AWS SDK for Java 2.x (``sfn``,
  ``dynamodb``, ``s3``, ``athena``, ``eventbridge``, ``cloudwatchlogs``, ``acmpca``, ...), found
  here from botocore's ``serviceId`` ("SFN" -> ``Sfn``, "DynamoDB" -> ``DynamoDb``, "ACM PCA" ->
  ``AcmPca``, "CloudWatch Logs" -> ``CloudWatchLogs``);
* ``<action>`` is the API action in camelCase (``getObject`` -> boto3's ``get_object``);
* parameters and results are PascalCase "even if the native service API is in camelCase"
  (``MapRunArn`` for Step Functions' ``mapRunArn``), and a field named ``Equals`` is written
  ``EqualsValue``; only structure members are renamed, never the keys of a map (a DynamoDB item's
  attribute names stay as they are);
* an error is ``ServiceName.ErrorName``, both PascalCase, the error name with an ``Exception``
  suffix even where the service's own name lacks it (``S3.NoSuchKeyException``,
  ``DynamoDb.ConditionalCheckFailedException``, ``Sfn.ExecutionDoesNotExistException``); its cause is
  the SDK for Java 2.x message ``<message> (Service: <ServiceName>, Status Code: <n>, Request ID:
  <id>)``, with ``, Extended Request ID: <id>`` before the parenthesis for S3.

Results are the SDK response as JSON: timestamps as Java's ``Instant`` text (ISO 8601, UTC),
streamed bodies (S3 ``GetObject``'s ``Body``) as text, other bytes as base64. An unknown service or
action, an unknown top-level parameter, or ``.sync`` (which AWS SDK integrations do not support) is a
definition error on the ``Resource`` or the parameter.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import re
from collections.abc import Callable
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.model import OperationModel, Shape

from localcloud.asl.checker import Checker, pointer
from localcloud.asl.errors import StatesFailure
from localcloud.asl.integrations.base import Integration, TaskRequest, UnsupportedResource
from localcloud.asl.integrations.catalog import not_recognized
from localcloud.asl.integrations.sdk import (
    call,
    java_instant,
    plain_json,
    service_error,
    unreachable,
    unreachable_failure,
)

_TOKENS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
# Java SDK names (lowercased) whose boto3 name is not the same name, or the same without hyphens.
_ALIASES = {
    "sfn": "stepfunctions",
    "eventbridge": "events",
    "cloudwatchlogs": "logs",
    "cloudwatchevents": "events",
}


def java_service_name(service_id: str) -> str:
    """The SDK for Java 2.x service name for a botocore ``serviceId``: words and humps, each
    capitalized with the rest in lower case ("DynamoDB" -> "DynamoDb", "SFN" -> "Sfn")."""
    return "".join(token[:1].upper() + token[1:].lower() for token in _TOKENS.findall(service_id))


@functools.lru_cache(maxsize=1)
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.lru_cache(maxsize=256)
def _service_id(boto3_name: str) -> str | None:
    try:
        return str(_session().get_service_model(boto3_name).service_id)
    except Exception:
        return None


@functools.lru_cache(maxsize=256)
def service_title(boto3_name: str) -> str:
    """The service's full name ("Amazon Simple Queue Service"), for messages."""
    try:
        return str(_session().get_service_model(boto3_name).metadata.get("serviceFullName") or boto3_name)
    except Exception:
        return boto3_name


@functools.lru_cache(maxsize=1)
def _all_services() -> dict[str, str]:
    """Java name (lowercased) -> boto3 name for every service botocore knows (slow: built once,
    only for names the cheap lookups miss)."""
    table: dict[str, str] = {}
    for name in _session().get_available_services():
        service_id = _service_id(name)
        if service_id:
            table.setdefault(java_service_name(service_id).lower(), name)
    return table


@functools.lru_cache(maxsize=256)
def resolve_service(name: str) -> tuple[str, str] | None:
    """``(boto3 service name, Java service name)`` for a Resource's service name, or None."""
    available = set(_session().get_available_services())
    candidates = [name, _ALIASES.get(name, "")]
    candidates += [n for n in available if n.replace("-", "") == name]
    for candidate in candidates:
        if candidate in available:
            service_id = _service_id(candidate)
            if service_id and java_service_name(service_id).lower() == name:
                return candidate, java_service_name(service_id)
    found = _all_services().get(name)
    if found is None:
        return None
    service_id = _service_id(found)
    return (found, java_service_name(service_id)) if service_id else None


@functools.lru_cache(maxsize=1024)
def resolve_operation(boto3_name: str, action: str) -> OperationModel | None:
    if not action or not action[0].islower():
        return None
    model = _session().get_service_model(boto3_name)
    operation = action[0].upper() + action[1:]
    if operation not in model.operation_names:
        return None
    return model.operation_model(operation)


def sdk_field(member: str) -> str:
    """A structure member as Step Functions spells it: PascalCase, ``Equals`` as ``EqualsValue``."""
    return "EqualsValue" if member == "Equals" else member[:1].upper() + member[1:]


def _member_for(shape: Shape, key: str) -> str | None:
    members = shape.members  # type: ignore[attr-defined]
    if key in members:
        return key
    for member in members:
        if sdk_field(member) == key:
            return str(member)
    return None


def to_api(value: Any, shape: Shape | None) -> Any:
    """Step Functions' PascalCase parameters -> the API's member names, along the input shape."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            member = _member_for(shape, key)
            if member is None:
                out[key] = item  # boto3 names the unknown parameter in its own error
            else:
                out[member] = to_api(item, shape.members[member])  # type: ignore[attr-defined]
        return out
    if kind == "list" and isinstance(value, list):
        return [to_api(item, shape.member) for item in value]  # type: ignore[attr-defined]
    if kind == "map" and isinstance(value, dict):
        return {key: to_api(item, shape.value) for key, item in value.items()}  # type: ignore[attr-defined]
    return value


def from_api(value: Any, shape: Shape | None, timestamp: Callable[[dt.datetime], Any] = java_instant) -> Any:
    """An API response -> what the task returns: PascalCase members, JSON values (timestamps
    through ``timestamp``: the SDK for Java 2.x's ISO text by default, epoch milliseconds for the
    optimized integrations)."""
    if shape is None:
        return plain_json(value, timestamp)
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members  # type: ignore[attr-defined]
        return {
            sdk_field(key): from_api(item, members.get(key), timestamp)
            for key, item in value.items()
            if key != "ResponseMetadata"
        }
    if kind == "list" and isinstance(value, list):
        return [from_api(item, shape.member, timestamp) for item in value]  # type: ignore[attr-defined]
    if kind == "map" and isinstance(value, dict):
        return {key: from_api(item, shape.value, timestamp) for key, item in value.items()}  # type: ignore[attr-defined]
    return plain_json(value, timestamp)


def error_name(java_name: str, code: str) -> str:
    return f"{java_name}.{code if code.endswith('Exception') else code + 'Exception'}"


def check_parameter_names(state: Any, check: Checker, shape: Shape | None, spell: Any = sdk_field) -> None:
    """Definition-time check of the top-level parameter names a Task passes to an operation."""
    params = state.parameters
    field = "Arguments" if state.jsonata else "Parameters"
    if not isinstance(params, dict) or shape is None:
        return
    allowed = {spell(m) for m in shape.members}  # type: ignore[attr-defined]
    for key in params:
        name = key[:-2] if key.endswith(".$") and not state.jsonata else key
        if name not in allowed:
            check.add(
                pointer(state.path, field, key),
                f"The field '{name}' is not a parameter of {state.resource}; expected one of "
                + ", ".join(sorted(allowed)),
            )


class AwsSdkIntegration(Integration):
    """``aws-sdk:<service>:<action>``: request-response or ``.waitForTaskToken``."""

    patterns = frozenset({"", "waitForTaskToken", "sync", "sync:2"})

    def __init__(self, resource: Any) -> None:
        super().__init__(resource)
        if resource.pattern in ("sync", "sync:2"):  # AWS SDK integrations never wait for a job
            raise UnsupportedResource(not_recognized(resource.arn))
        self.service_name = resource.service.split(":", 1)[1]
        resolved = resolve_service(self.service_name)
        self.boto3_name, self.java_name = resolved or ("", "")
        self.operation = resolve_operation(self.boto3_name, resource.action) if resolved else None

    def validate(self, state: Any, check: Checker) -> None:
        if self.operation is None:  # an unknown service, or an action it does not have
            check.add(pointer(state.path, "Resource"), not_recognized(self.resource.arn))
            return
        check_parameter_names(state, check, self.operation.input_shape)

    @property
    def resource_type(self) -> str:
        return "aws-sdk"  # history events: resourceType "aws-sdk", resource "s3:getObject"

    @property
    def resource_name(self) -> str:
        return f"{self.service_name}:{super().resource_name}"

    def invoke(self, req: TaskRequest) -> Any:
        assert self.operation is not None
        args = req.arguments if req.arguments is not None else {}
        if not isinstance(args, dict):
            raise StatesFailure(
                "States.Runtime", f"The parameters of {self.resource.arn} must be a JSON object"
            )
        kwargs = to_api(args, self.operation.input_shape)
        method = xform_name(self.operation.name)
        response = call(req.client(self.boto3_name), method, kwargs, self._failure)
        return from_api(response, self.operation.output_shape)

    def _failure(self, exc: BaseException) -> StatesFailure:
        error = service_error(exc)
        if unreachable(error):
            detail = "" if error.code else error.message  # no answer at all: say what the client saw
            return unreachable_failure(
                self.java_name, service_title(self.boto3_name), self.resource.arn, detail
            )
        if error.code is None:
            return StatesFailure(f"{self.java_name}.SdkClientException", error.message)
        # The SDK for Java 2.x adds S3's extended request id (x-amz-id-2), which every S3 answer on
        # AWS carries (LocalStack's aws-sdk S3 snapshot tests; moto vendors the same text); an S3
        # that sends none (localcloud's) gets one made from the request id, so the shape is AWS's.
        extended_id = error.extended_request_id
        if not extended_id and self.java_name == "S3" and error.request_id:
            extended_id = base64.b64encode(error.request_id.encode()).decode()
        extended = f", Extended Request ID: {extended_id}" if extended_id else ""
        return StatesFailure(
            error_name(self.java_name, error.code),
            f"{error.message} (Service: {self.java_name}, Status Code: {error.status}, "
            f"Request ID: {error.request_id}{extended})",
        )
