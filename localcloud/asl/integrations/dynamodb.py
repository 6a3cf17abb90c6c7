"""Amazon DynamoDB, optimized: ``arn:aws:states:::dynamodb:getItem|putItem|updateItem|deleteItem``
(the guide's "Perform DynamoDB CRUD operations with Step Functions"; request-response only).

Parameters are the DynamoDB API's (``TableName``, ``Key``, ``Item``, ``ConditionExpression``, ...),
the result is DynamoDB's response plus ``SdkHttpMetadata``/``SdkResponseMetadata``, and a failure is
``DynamoDB.<ErrorCode>`` (``DynamoDB.ConditionalCheckFailedException``,
``DynamoDB.ResourceNotFoundException``; ``DynamoDB.AmazonDynamoDBException`` when DynamoDB names no
code).
"""

from __future__ import annotations

from typing import Any

from localcloud.asl.checker import Checker
from localcloud.asl.errors import StatesFailure
from localcloud.asl.integrations.aws_sdk import check_parameter_names, resolve_operation
from localcloud.asl.integrations.base import Integration, TaskRequest
from localcloud.asl.integrations.sdk import call, optimized_failure, plain_json, sdk_metadata

ACTIONS = {
    "getItem": "get_item",
    "putItem": "put_item",
    "updateItem": "update_item",
    "deleteItem": "delete_item",
}


def _failure(exc: BaseException) -> StatesFailure:
    return optimized_failure(
        exc, prefix="DynamoDB", service="AmazonDynamoDBv2", fallback="AmazonDynamoDBException"
    )


class DynamoDbItem(Integration):
    """One of the four item operations; registered once per action."""

    def validate(self, state: Any, check: Checker) -> None:
        operation = resolve_operation("dynamodb", self.resource.action)
        # The DynamoDB API's own names are the parameters here (they are PascalCase already).
        check_parameter_names(state, check, operation.input_shape if operation else None, spell=str)

    def invoke(self, req: TaskRequest) -> Any:
        args = req.arguments
        if not isinstance(args, dict):
            raise StatesFailure(
                "States.Runtime", f"The parameters of {self.resource.arn} must be a JSON object"
            )
        response = call(req.client("dynamodb"), ACTIONS[self.resource.action], dict(args), _failure)
        return {**plain_json(response), **sdk_metadata(response)}
