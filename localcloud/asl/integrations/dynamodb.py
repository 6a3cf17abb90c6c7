"""Amazon DynamoDB, optimized: ``arn:aws:states:::dynamodb:getItem|putItem|updateItem|deleteItem``
(the guide's "Perform DynamoDB CRUD operations with Step Functions"; request-response only).

Parameters are the DynamoDB API's (``TableName``, ``Key``, ``Item``, ``ConditionExpression``, ...),
the result is DynamoDB's response plus ``SdkHttpMetadata``/``SdkResponseMetadata``, and a failure is
``DynamoDB.<ErrorCode>`` (``DynamoDB.ConditionalCheckFailedException``,
``DynamoDB.ResourceNotFoundException``; ``DynamoDB.AmazonDynamoDBException`` when DynamoDB names no
code).
"""

from __future__ import annotations

from localcloud.asl.errors import StatesFailure
from localcloud.asl.integrations.optimized import OptimizedApiCall
from localcloud.asl.integrations.sdk import optimized_failure

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


class DynamoDbItem(OptimizedApiCall):
    """One of the four item operations; registered once per action."""

    boto3_service = "dynamodb"
    methods = ACTIONS

    def failure(self, exc: BaseException) -> StatesFailure:
        return _failure(exc)
