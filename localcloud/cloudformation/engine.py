"""localcloud's resource providers inside MiniStack's CloudFormation engine.

MiniStack's engine (the pinned ``ministack`` package) does what CloudFormation does around the
resources: it parses the template, checks parameters and rules, resolves the intrinsic functions,
orders the resources by their references and ``DependsOn``, runs change sets, records the stack
events, rolls a failed operation back with the failing resource's reason, resolves outputs and
exports, and persists the stacks. Each resource type is provisioned by its entry in one registry,
``provisioners._RESOURCE_HANDLERS`` (create, update, delete). ``install`` puts localcloud's
providers there for the types whose service localcloud serves itself, and a refusal naming the
type for that service's other types (MiniStack's own handlers would reach MiniStack's Lambda or
Step Functions, which localcloud replaces).

Three seams of the pinned MiniStack are used, and ``install`` checks they exist, so an upgrade
that moves them stops localcloud at start instead of provisioning through the wrong service:

- ``provisioners._RESOURCE_HANDLERS``: the registry above;
- ``stacks._runs_on_worker_thread(resource_type)``: the engine runs a handler on the event loop
  unless this says it blocks. localcloud's providers call the endpoint over HTTP (the event loop
  answers them), so their types are added to it;
- ``custom_resource.invoke_custom_resource``: how every custom resource (``Custom::*``,
  ``AWS::CloudFormation::CustomResource``) is run. MiniStack's runs the ServiceToken on its own
  Lambda; localcloud does not run custom resources, and says so naming the resource.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

from localcloud.cloudformation.providers import PROVIDERS, Provider, ProviderError
from localcloud.server.registry import ServiceContext

log = logging.getLogger("localcloud.cloudformation")

# The resource types of the services localcloud serves itself, by their prefix, and that service.
OWN_SERVICES = {
    "AWS::Lambda::": "Lambda",
    "AWS::StepFunctions::": "Step Functions",
    "AWS::Athena::": "Athena",
    "AWS::Scheduler::": "EventBridge Scheduler",
    "AWS::Events::": "EventBridge",
    "AWS::Pipes::": "EventBridge Pipes",
}
_ORIGINAL_PREDICATE = "_localcloud_original_runs_on_worker_thread"


class EngineMismatch(RuntimeError):
    """The pinned MiniStack no longer has the seams localcloud's providers plug into."""


def install(context: ServiceContext) -> dict[str, str]:
    """Install the providers, bound to ``context``; returns what provisions each type localcloud
    took over (``"localcloud"`` or ``"refused"``)."""
    provisioners, stacks, custom_resources = _engine()
    handlers: dict[str, dict[str, Any]] = provisioners._RESOURCE_HANDLERS
    providers = [provider_class(context) for provider_class in PROVIDERS]
    provided = {provider.resource_type for provider in providers}
    installed: dict[str, str] = {}
    for provider in providers:
        handlers[provider.resource_type] = _entry(provider)
        installed[provider.resource_type] = "localcloud"
    for resource_type in sorted(handlers):
        service = next((s for prefix, s in OWN_SERVICES.items() if resource_type.startswith(prefix)), None)
        if service is not None and resource_type not in provided:
            handlers[resource_type] = _refusal(resource_type, service, provided)
            installed[resource_type] = "refused"
    _run_on_worker_threads(stacks, provided)
    setattr(custom_resources, "invoke_custom_resource", _refuse_custom_resource)  # noqa: B010
    return installed


def _engine() -> tuple[ModuleType, ModuleType, ModuleType]:
    from ministack.services.cloudformation import (  # noqa: PLC0415 - after configure()
        custom_resource,
        provisioners,
        stacks,
    )

    seams = (
        isinstance(getattr(provisioners, "_RESOURCE_HANDLERS", None), dict),
        callable(getattr(stacks, "_runs_on_worker_thread", None)),
        callable(getattr(custom_resource, "invoke_custom_resource", None)),
    )
    if not all(seams):
        raise EngineMismatch(
            "MiniStack's CloudFormation engine lacks _RESOURCE_HANDLERS, _runs_on_worker_thread or "
            "invoke_custom_resource: localcloud's resource providers cannot be installed (see "
            "localcloud/cloudformation/engine.py)"
        )
    return provisioners, stacks, custom_resource


def _refuse_custom_resource(
    request_type: str, logical_id: str, props: dict[str, Any], *_args: Any, **_kwargs: Any
) -> tuple[str, dict[str, Any]]:
    if request_type == "Delete":
        return "", {}  # a refused custom resource was never created: nothing to delete
    raise ProviderError(
        f"localcloud does not run custom resources ({logical_id}, ServiceToken "
        f"{props.get('ServiceToken')!r}): nothing was sent to it (docs/localcloud.md, CloudFormation)"
    )


def _entry(provider: Provider) -> dict[str, Any]:
    return {
        "create": provider.handle_create,
        "update": provider.handle_update,
        "update_with_logical_id": True,
        "delete": provider.handle_delete,
    }


def _refusal(resource_type: str, service: str, provided: set[str]) -> dict[str, Any]:
    prefix = resource_type.rsplit("::", 1)[0] + "::"
    ours = sorted(t for t in provided if t.startswith(prefix))
    reason = (
        f"localcloud does not provision {resource_type}: localcloud serves {service} itself and "
        f"provisions {', '.join(ours) if ours else 'none of its resource types'} "
        "(docs/localcloud.md, CloudFormation)"
    )

    def refuse(*_args: Any) -> Any:
        raise ProviderError(reason)

    def nothing_to_delete(*_args: Any) -> None:
        """A refused resource was never created."""

    return {"create": refuse, "update": refuse, "delete": nothing_to_delete}


def _run_on_worker_threads(stacks: ModuleType, resource_types: set[str]) -> None:
    original: Callable[[str], bool] = getattr(stacks, _ORIGINAL_PREDICATE, stacks._runs_on_worker_thread)
    setattr(stacks, _ORIGINAL_PREDICATE, original)

    def runs_on_worker_thread(resource_type: str) -> bool:
        return resource_type in resource_types or original(resource_type)

    setattr(stacks, "_runs_on_worker_thread", runs_on_worker_thread)  # noqa: B010 - a module attribute mypy cannot see
