"""Every pluggable part of the interpreter, registered here and nowhere else: the Task integrations
(resource key -> integration class) and the Map processors (``ProcessorConfig.Mode`` -> processor).

Nothing registers itself when its module is imported: a module defines its classes, this one
wires them. ``definition.py`` takes these defaults when its caller passes none; a host or a test
that wants other parts copies a default and passes it (``parse_definition(..., integrations=)``,
``ParseContext(..., processors=)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from localcloud.asl.distributed.processor import DistributedProcessor
from localcloud.asl.integrations.athena import METHODS as ATHENA_ACTIONS
from localcloud.asl.integrations.athena import AthenaCall, AthenaStartQuery
from localcloud.asl.integrations.aws_sdk import AwsSdkIntegration
from localcloud.asl.integrations.base import IntegrationFactory
from localcloud.asl.integrations.catalog import OPTIMIZED
from localcloud.asl.integrations.dynamodb import ACTIONS as DYNAMODB_ACTIONS
from localcloud.asl.integrations.dynamodb import DynamoDbItem
from localcloud.asl.integrations.lambda_invoke import LambdaFunction, LambdaInvoke
from localcloud.asl.integrations.service_call import OptimizedServiceCall
from localcloud.asl.integrations.states import StartExecution
from localcloud.asl.states.map_state import InlineProcessor, MapProcessor

_PROCESSORS: Mapping[str, type[MapProcessor]] = MappingProxyType(
    {InlineProcessor.mode: InlineProcessor, DistributedProcessor.mode: DistributedProcessor}
)
_DEFAULT: IntegrationFactory | None = None


def default_processors() -> Mapping[str, type[MapProcessor]]:
    """The Map processors by ``ProcessorConfig.Mode``: INLINE and DISTRIBUTED (read-only)."""
    return _PROCESSORS


def default_factory() -> IntegrationFactory:
    """The shared factory with every built-in integration registered (built once; copy it to add)."""
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
