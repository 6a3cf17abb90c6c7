"""Every optimized integration of :mod:`.catalog` that has no module of its own
(``sqs:sendMessage``, ``sns:publish``, ``events:putEvents``, ``ecs:runTask``, ``glue:startJobRun``,
...): accepted as AWS accepts it, and run by calling the service's API through the host's clients.

- Parameters are the service API's, in PascalCase as Step Functions writes them (an API whose
  members are camelCase, such as ECS's ``taskDefinition``, takes ``TaskDefinition``); the result is
  the service's response in the AWS SDK for Java 1.x's shape (PascalCase, dates as epoch
  milliseconds) with ``SdkHttpMetadata``/``SdkResponseMetadata`` where the service's optimized
  integration adds them (not EventBridge's).
- A failure the service reports is ``<Prefix>.<ErrorCode>`` (``SQS.QueueDoesNotExist``,
  ``SNS.NotFoundException``) with the SDK for Java 1.x's cause.
- A call no service answers (the endpoint does not serve the service, or nothing listens) fails as
  an unreachable integration does on AWS: ``<Prefix>.SdkClientException``, ``Unable to execute HTTP
  request: ...``, naming the service. So do the calls localcloud never makes: an action that is not
  an SDK operation (``apigateway:invoke``, ``http:invoke``, ``eks:call``), and ``.sync`` (localcloud
  cannot follow these services' jobs). A mock configuration runs such states offline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore import xform_name
from botocore.exceptions import ParamValidationError

from localcloud.asl.checker import Checker
from localcloud.asl.errors import RUNTIME, StatesFailure
from localcloud.asl.integrations.aws_sdk import from_api, resolve_operation, to_api
from localcloud.asl.integrations.base import Integration, Resource, TaskRequest
from localcloud.asl.integrations.catalog import OPTIMIZED, OptimizedService, optimized
from localcloud.asl.integrations.sdk import (
    call,
    epoch_millis,
    optimized_failure,
    sdk_metadata,
    service_error,
    unreachable,
    unreachable_failure,
)
from localcloud.asl.payload import to_json

# The HTTP Task's error for an endpoint it cannot reach ("Call HTTPS APIs in Step Functions").
HTTP_SOCKET = "States.Http.Socket"


def _event_details_as_text(args: dict[str, Any]) -> dict[str, Any]:
    """EventBridge's optimized PutEvents takes an entry's Detail as JSON (the guide's "Send custom
    events to EventBridge"): the API wants it as text."""
    entries = args.get("Entries")
    if not isinstance(entries, list):
        return args
    texts = [
        {**e, "Detail": to_json(e["Detail"])}
        if isinstance(e, dict) and not isinstance(e.get("Detail"), str | None)
        else e
        for e in entries
    ]
    return {**args, "Entries": texts}


def _field_as_text(field: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A parameter the optimized integration takes as JSON and sends as its text: SQS's
    MessageBody (AWS's own example sends ``"MessageBody.$": "$"``), SNS's Message; as LocalStack's
    emulation does too (moto vendors it)."""

    def prepare(args: dict[str, Any]) -> dict[str, Any]:
        value = args.get(field)
        return args if isinstance(value, str | None) else {**args, field: to_json(value)}

    return prepare


_PREPARE: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "events:putEvents": _event_details_as_text,
    "sqs:sendMessage": _field_as_text("MessageBody"),
    "sns:publish": _field_as_text("Message"),
}


class OptimizedServiceCall(Integration):
    """One catalogued optimized integration; its patterns are the catalogue's for its action."""

    patterns = frozenset({"", "sync", "waitForTaskToken"})

    @classmethod
    def supports(cls, resource: Resource) -> bool:
        return resource.pattern in (optimized(resource.service, resource.action) or frozenset())

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource)
        self.service: OptimizedService = OPTIMIZED[resource.service]

    def validate(self, state: Any, check: Checker) -> None:
        # AWS checks these services' parameters when they run, against the service's own API.
        return None

    def invoke(self, req: TaskRequest) -> Any:
        client_name = self.service.client_for(self.resource.action)
        operation = resolve_operation(client_name, self.resource.action) if client_name else None
        if operation is None or self.resource.pattern == "sync":
            raise self.unreachable(req)
        args = req.arguments if req.arguments is not None else {}
        if not isinstance(args, dict):
            raise StatesFailure(RUNTIME, f"The parameters of {self.resource.arn} must be a JSON object")
        assert client_name is not None
        prepare = _PREPARE.get(f"{self.resource.service}:{self.resource.action}")
        response = call(
            req.client(client_name),
            xform_name(operation.name),
            to_api(prepare(args) if prepare else args, operation.input_shape),
            lambda exc: self._failure(req, exc),
        )
        result = from_api(response, operation.output_shape, epoch_millis)
        return {**result, **sdk_metadata(response)} if self.service.metadata else result

    def unreachable(self, req: TaskRequest, detail: str = "") -> StatesFailure:
        if self.service.prefix == "States.Http":
            return StatesFailure(
                HTTP_SOCKET,
                f"localcloud does not call HTTPS APIs (state '{req.state.name}', resource "
                f"{self.resource.arn}); mock this state in a Step Functions Local mock configuration "
                "file (SFN_MOCK_CONFIG) to run it offline",
            )
        if not detail and self.resource.pattern == "sync":
            detail = f"localcloud does not follow {self.service.title} jobs (.sync)"
        return unreachable_failure(self.service.prefix, self.service.title, self.resource.arn, detail)

    def _failure(self, req: TaskRequest, exc: BaseException) -> StatesFailure:
        if unreachable(service_error(exc)):
            return self.unreachable(req)
        service = self.service
        if isinstance(exc, ParamValidationError):  # the service would refuse these parameters
            return StatesFailure(
                f"{service.prefix}.{service.java}Exception",
                f"{exc} (Service: {service.java}; Status Code: 400; Error Code: ValidationException; "
                "Request ID: ; Proxy: null)",
            )
        return optimized_failure(
            exc,
            prefix=service.prefix,
            service=service.java,
            fallback=f"{service.java}Exception",
            exception_suffix=service.exception_suffix,
        )
