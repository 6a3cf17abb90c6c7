"""Task integrations. :func:`default_factory` knows every integration this package implements;
hosts may copy it and register more (``factory.register("athena:startQueryExecution", Cls)``)."""

from __future__ import annotations

from localcloud.asl.integrations.athena import METHODS as ATHENA_ACTIONS
from localcloud.asl.integrations.athena import AthenaCall, AthenaStartQuery
from localcloud.asl.integrations.aws_sdk import AwsSdkIntegration
from localcloud.asl.integrations.base import (
    Integration,
    IntegrationFactory,
    Resource,
    TaskRequest,
    UnsupportedResource,
    parse_resource,
)
from localcloud.asl.integrations.catalog import OPTIMIZED
from localcloud.asl.integrations.dynamodb import ACTIONS as DYNAMODB_ACTIONS
from localcloud.asl.integrations.dynamodb import DynamoDbItem
from localcloud.asl.integrations.lambda_invoke import LambdaFunction, LambdaInvoke
from localcloud.asl.integrations.service_call import OptimizedServiceCall
from localcloud.asl.integrations.states import StartExecution

__all__ = [
    "Integration",
    "IntegrationFactory",
    "Resource",
    "TaskRequest",
    "UnsupportedResource",
    "default_factory",
    "parse_resource",
]

_DEFAULT: IntegrationFactory | None = None


def default_factory() -> IntegrationFactory:
    """The shared factory with every built-in integration registered."""
    global _DEFAULT  # noqa: PLW0603 - built once, lazily
    if _DEFAULT is None:
        factory = IntegrationFactory()
        factory.register("lambda:invoke", LambdaInvoke)
        factory.register("lambda:function", LambdaFunction)
        factory.register("states:startExecution", StartExecution)
        for action in DYNAMODB_ACTIONS:
            factory.register(f"dynamodb:{action}", DynamoDbItem)
        for action in ATHENA_ACTIONS:
            factory.register(
                f"athena:{action}", AthenaStartQuery if action == "startQueryExecution" else AthenaCall
            )
        factory.register("aws-sdk:*", AwsSdkIntegration)
        # Every other optimized integration AWS accepts: called through the host's clients.
        for service, entry in OPTIMIZED.items():
            for action in entry.actions:
                if not factory.has(f"{service}:{action}"):
                    factory.register(f"{service}:{action}", OptimizedServiceCall)
        _DEFAULT = factory
    return _DEFAULT
