"""What every provider is: the create, update and delete of one resource type, made through the
AWS API of the service that owns it, as CloudFormation's own resource handlers make them.

A provider runs on a worker thread of the stack operation (never on the event loop) and calls
localcloud's endpoint with an ordinary boto3 client, so a resource made by a template and one made
by ``aws stepfunctions create-state-machine`` go through the same code and the same checks. A
refusal by the service (``ClientError``) becomes the resource's status reason in CloudFormation's
own words: ``Resource handler returned message: "<the service's message> (Service: Sfn, Status
Code: 400, Request ID: ...)" (RequestToken: ..., HandlerErrorCode: InvalidRequest)``.
"""

from __future__ import annotations

import secrets
import string
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from localcloud.server.registry import ServiceContext

Properties = dict[str, Any]
Provisioned = tuple[str, dict[str, Any]]  # (physical id, what Fn::GetAtt reads)

_SUFFIX_ALPHABET = string.ascii_uppercase + string.digits


class ProviderError(Exception):
    """A resource cannot be made as the template says; the message is its status reason."""


class Provider(ABC):
    resource_type: ClassVar[str]
    service: ClassVar[str]  # boto3's name of the service whose API the provider calls
    service_title: ClassVar[str]  # how CloudFormation's reasons name that service ("Sfn", "Lambda")
    not_found: ClassVar[frozenset[str]]  # error codes meaning "already gone" (a delete succeeds)

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def client(self) -> Any:
        return self.context.shared_client(self.service)

    @abstractmethod
    def create(self, logical_id: str, props: Properties, stack_name: str) -> Provisioned: ...

    @abstractmethod
    def update(
        self, physical_id: str, old: Properties, new: Properties, stack_name: str, logical_id: str
    ) -> Provisioned:
        """Change the resource in place. The properties whose change replaces the resource
        (a new name, a new state machine type) are replaced by the engine before this is called:
        it creates the successor and deletes the predecessor in the cleanup phase."""

    @abstractmethod
    def delete(self, physical_id: str, props: Properties) -> None: ...

    # -- what the engine calls: service refusals become CloudFormation's reasons ----------------
    def handle_create(self, logical_id: str, props: Properties, stack_name: str) -> Provisioned:
        with self._reasons():
            return self.create(logical_id, props, stack_name)

    def handle_update(
        self,
        physical_id: str,
        old: Properties,
        new: Properties,
        stack_name: str,
        logical_id: str | None = None,
    ) -> Provisioned:
        with self._reasons():
            return self.update(physical_id, old, new, stack_name, logical_id or physical_id)

    def handle_delete(self, physical_id: str, props: Properties) -> None:
        with self._reasons():
            try:
                self.delete(physical_id, props)
            except ClientError as error:
                # CloudFormation's handlers treat a resource that is already gone as deleted.
                if error.response.get("Error", {}).get("Code") not in self.not_found:
                    raise

    @contextmanager
    def _reasons(self) -> Iterator[None]:
        try:
            yield
        except ClientError as error:
            raise ProviderError(handler_message(self.service_title, error)) from error


def handler_message(service_title: str, error: ClientError) -> str:
    details = error.response.get("Error", {})
    metadata = error.response.get("ResponseMetadata", {})
    status = int(metadata.get("HTTPStatusCode", 400))
    code = str(details.get("Code", ""))
    return (
        f'Resource handler returned message: "{details.get("Message", code)} (Service: {service_title}, '
        f'Status Code: {status}, Request ID: {metadata.get("RequestId", "")})" '
        f"(RequestToken: {uuid.uuid4()}, HandlerErrorCode: {_handler_error_code(code, status)})"
    )


def _handler_error_code(code: str, status: int) -> str:
    """CloudFormation's handler error codes (the resource provider contract's HandlerErrorCode)."""
    if "NotFound" in code or "DoesNotExist" in code:
        return "NotFound"
    if "AlreadyExist" in code or "Conflict" in code:
        return "AlreadyExists"
    if "Throttl" in code or "TooManyRequests" in code:
        return "Throttling"
    if status >= 500:
        return "ServiceInternalError"
    return "InvalidRequest"


def physical_name(stack_name: str, logical_id: str, max_length: int) -> str:
    """A name for a resource the template leaves unnamed, as CloudFormation makes them:
    ``<stack>-<logical id>-<12 random characters>``, the first two shortened to fit."""
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(12))
    room = max_length - len(suffix) - 2
    stack_part = stack_name[: max(room // 2, room - len(logical_id))]
    logical_part = logical_id[: room - len(stack_part)]
    return f"{stack_part}-{logical_part}-{suffix}"


def tag_list(props: Properties, *, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    """A template's ``Tags`` ([{Key, Value}]) in the casing an API wants."""
    return [{key: str(tag["Key"]), value: str(tag.get("Value", ""))} for tag in props.get("Tags") or []]


def tag_map(props: Properties) -> dict[str, str]:
    return {str(tag["Key"]): str(tag.get("Value", "")) for tag in props.get("Tags") or []}


def tag_changes(old: Properties, new: Properties) -> tuple[list[str], dict[str, str]]:
    """An update's tags: the keys the template dropped, and the tags it added or changed."""
    before, after = tag_map(old), tag_map(new)
    return sorted(before.keys() - after.keys()), {k: v for k, v in after.items() if before.get(k) != v}


def camel(value: Any) -> Any:
    """A template's PascalCase structure in the camelCase of the Step Functions API."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [camel(item) for item in value]
    return value
