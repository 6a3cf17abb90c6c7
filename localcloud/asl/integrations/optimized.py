"""The shape of the simple optimized integrations (DynamoDB's item actions, Athena's): the Task's
parameters are the service API's own (checked by name against botocore's model at definition
time), the call goes to the boto3 client as they are, and the result is the service's response
plus ``SdkHttpMetadata``/``SdkResponseMetadata``."""

from __future__ import annotations

from typing import Any, ClassVar

from localcloud.asl.checker import Checker
from localcloud.asl.errors import RUNTIME, StatesFailure
from localcloud.asl.integrations.aws_sdk import check_parameter_names, resolve_operation
from localcloud.asl.integrations.base import Integration, TaskRequest
from localcloud.asl.integrations.sdk import call, plain_json, sdk_metadata


class OptimizedApiCall(Integration):
    """Subclasses set the boto3 service, the action -> boto3 method table and the error naming."""

    boto3_service: ClassVar[str] = ""
    methods: ClassVar[dict[str, str]] = {}

    def failure(self, exc: BaseException) -> StatesFailure:
        """The ASL error a failed call becomes (``<Prefix>.<ErrorCode>``)."""
        raise NotImplementedError

    def validate(self, state: Any, check: Checker) -> None:
        operation = resolve_operation(self.boto3_service, self.resource.action)
        # The service's own parameter names (PascalCase in these APIs), not re-spelled.
        check_parameter_names(state, check, operation.input_shape if operation else None, spell=str)

    def invoke(self, req: TaskRequest) -> Any:
        args = req.arguments
        if not isinstance(args, dict):
            raise StatesFailure(RUNTIME, f"The parameters of {self.resource.arn} must be a JSON object")
        method = self.methods[self.resource.action]
        response = call(req.client(self.boto3_service), method, dict(args), self.failure)
        return {**plain_json(response), **sdk_metadata(response)}
