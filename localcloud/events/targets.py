"""Rule targets: which ones localcloud delivers to, what they receive, and the call that delivers.

Two kinds, as EventBridge calls them:

- a Step Functions state machine: ``StartExecution`` with the input below (a new execution name
  each time);
- a Lambda function: an asynchronous ``Invoke`` (InvocationType ``Event``) with the input as payload.

The input is the whole event (JSON), or the target's ``Input`` (JSON text, sent as it is), or the
part of the event its ``InputPath`` selects. ``InputTransformer`` is not applied: such a target is
refused at PutTargets, as are targets of any other service, each in ``FailedEntries`` with a
message naming what localcloud does not deliver to. The call is an ordinary boto3 call to the
endpoint, so it reaches the target as any client would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from botocore.exceptions import UnknownServiceError

from localcloud.asl.jsonpath import InvalidPath, PathNotFound, compile_path
from localcloud.events.exceptions import EventsValidationException
from localcloud.server.protocols import service_model

STATES = "states"
LAMBDA = "lambda"
DOCS = "docs/localcloud.md"

_STATE_MACHINE = re.compile(r"^arn:aws[a-zA-Z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[\w-]+$")
_FUNCTION = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]+(:[\w$-]+)?$")
_ARN = re.compile(r"^arn:[^:]+:([^:]+):")


class Undeliverable(Exception):
    """A delivery that cannot succeed (the reason is logged once; the event is not retried)."""


def kind(arn: str) -> str | None:
    if _STATE_MACHINE.match(arn):
        return STATES
    if _FUNCTION.match(arn):
        return LAMBDA
    return None


def refusal(target: dict[str, Any]) -> str | None:
    """Why localcloud does not deliver to ``target`` (a PutTargets FailedEntries message), or None."""
    arn = target["Arn"]
    if kind(arn) is None:
        return (
            f"localcloud's EventBridge does not deliver to {_service_title(arn)} targets ({arn}): it "
            f"delivers to Step Functions state machines and Lambda functions. See {DOCS}."
        )
    if target.get("InputTransformer") is not None:
        return (
            f"localcloud's EventBridge does not apply InputTransformer (target {target['Id']}): give "
            f"the target Input or InputPath, or let it read the whole event. See {DOCS}."
        )
    return None


def check(target: dict[str, Any]) -> None:
    """What EventBridge refuses for the whole PutTargets call (ValidationException)."""
    given = [name for name in ("Input", "InputPath", "InputTransformer") if target.get(name) is not None]
    if len(given) > 1:
        raise EventsValidationException(
            f"Only one of Input, InputPath, or InputTransformer must be provided (target {target['Id']})."
        )
    if target.get("Input") is not None:
        try:
            json.loads(target["Input"])
        except ValueError as exc:
            raise EventsValidationException(
                f"Parameter Input is not valid: it is not JSON (target {target['Id']}): {exc}"
            ) from exc
    if target.get("InputPath") is not None:
        _input_path(target["InputPath"], target["Id"])
    if kind(target["Arn"]) == STATES and not target.get("RoleArn"):
        raise EventsValidationException(f"RoleArn is required for target {target['Arn']}.")


def _input_path(text: str, target_id: str) -> Any:
    try:
        path = compile_path(text)
    except InvalidPath as exc:
        raise EventsValidationException(
            f"Parameter InputPath is not valid (target {target_id}): {exc}"
        ) from exc
    if path.root != "$":
        raise EventsValidationException(
            f"Parameter InputPath is not valid (target {target_id}): a path into the event starts with '$.'"
        )
    return path


def target_input(target: dict[str, Any], event: dict[str, Any]) -> str:
    """The text the target receives for ``event``."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath") is not None:
        try:
            selected = _input_path(target["InputPath"], target["Id"]).get(event)
        except PathNotFound as exc:
            raise Undeliverable(f"InputPath {target['InputPath']} selects nothing in the event") from exc
        return json.dumps(selected, separators=(",", ":"))
    return json.dumps(event, separators=(",", ":"))


def deliver(target: dict[str, Any], event: dict[str, Any], client: Callable[[str], Any]) -> str:
    """Call the target with the event; what was started, for the log."""
    payload = target_input(target, event)
    arn = target["Arn"]
    if kind(arn) == STATES:
        started = client("stepfunctions").start_execution(stateMachineArn=arn, input=payload)
        return str(started["executionArn"])
    if kind(arn) == LAMBDA:
        client("lambda").invoke(FunctionName=arn, InvocationType="Event", Payload=payload.encode())
        return f"invoked {arn}"
    raise Undeliverable(f"localcloud's EventBridge does not deliver to {arn}")


def _service_title(arn: str) -> str:
    found = _ARN.match(arn)
    if found is None:
        return f"'{arn}'"
    service = found.group(1)
    try:
        return str(service_model(service).metadata.get("serviceId") or service)
    except UnknownServiceError:
        return f"'{service}'"
