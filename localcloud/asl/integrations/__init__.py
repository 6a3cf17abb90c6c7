"""Task integrations: the factory keyed by resource (``base.IntegrationFactory``) and one module per
integration. Which integration serves which resource is decided in one place,
``localcloud.asl.registrations.default_factory``; hosts may copy that factory and register more
(``factory.register("athena:startQueryExecution", Cls)``)."""

from __future__ import annotations

from localcloud.asl.integrations.base import (
    Integration,
    IntegrationFactory,
    Resource,
    TaskRequest,
    UnsupportedResource,
    parse_resource,
)

__all__ = [
    "Integration",
    "IntegrationFactory",
    "Resource",
    "TaskRequest",
    "UnsupportedResource",
    "parse_resource",
]
