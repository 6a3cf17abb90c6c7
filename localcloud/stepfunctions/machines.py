"""State machines as the Step Functions API holds them: records, names, ARNs, definition checks.

A state machine is stored whole in the ``states.machines`` collection by ARN. Its definition is
validated with the interpreter's validator for the machine's type (every problem with its JSON
Pointer).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from localcloud.asl import IntegrationFactory, Problem, validate_definition
from localcloud.asl.history import iso, parse_iso
from localcloud.stepfunctions.exceptions import InvalidArn, InvalidDefinition, InvalidName

STANDARD = "STANDARD"
EXPRESS = "EXPRESS"
DEFAULT_LOGGING: dict[str, Any] = {"level": "OFF", "includeExecutionData": False}
DEFAULT_TRACING: dict[str, Any] = {"enabled": False}

# Names of state machines and executions: 1-80 characters, none of whitespace, brackets,
# wildcards, the special characters below or control characters (the API reference's rule).
_FORBIDDEN = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
_MACHINE_ARN = re.compile(
    r"^arn:(aws|aws-cn|aws-us-gov):states:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):stateMachine:"
    r"(?P<name>[^:]+)(?P<qualifier>:.+)?$"
)
_EXECUTION_ARN = re.compile(
    r"^arn:(aws|aws-cn|aws-us-gov):states:[a-z0-9-]+:\d{12}:(execution|express):[^:]+:[^:]+(:.+)?$"
)


def check_name(name: str) -> None:
    if not 1 <= len(name) <= 80 or _FORBIDDEN.search(name):
        raise InvalidName(f"Invalid Name: '{name}'")


def check_machine_arn(arn: str) -> str:
    """The state machine name of an unqualified state machine ARN; InvalidArn otherwise."""
    match = _MACHINE_ARN.match(arn)
    if match is None:
        raise InvalidArn(f"Invalid Arn: 'Resource type not valid in this context: {arn}'")
    if match.group("qualifier"):
        raise InvalidArn(
            f"Invalid Arn: '{arn}': localcloud has no state machine versions or aliases; "
            "use the unqualified state machine ARN"
        )
    return match.group("name")


def check_execution_arn(arn: str) -> None:
    if not _EXECUTION_ARN.match(arn):
        raise InvalidArn(f"Invalid Arn: 'Resource type not valid in this context: {arn}'")


def definition_problems(
    definition: str, machine_type: str, integrations: IntegrationFactory | None = None
) -> list[Problem]:
    """Every problem of a definition for a machine of ``machine_type`` (an EXPRESS machine cannot
    wait for a job or a task token, nor run a Distributed Map)."""
    return validate_definition(definition, integrations, machine_type)


def raise_invalid(problems: list[Problem]) -> None:
    """AWS's InvalidDefinition: every problem, with its location, in one message."""
    listed = ", ".join(str(problem) for problem in problems)
    raise InvalidDefinition(f"Invalid State Machine Definition: '{listed}'")


@dataclass
class StateMachineRecord:
    arn: str
    name: str
    definition: str
    role_arn: str
    type: str
    creation_date: dt.datetime
    update_date: dt.datetime | None = None
    logging: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_LOGGING))
    tracing: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_TRACING))
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    revision_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def describe(self) -> dict[str, Any]:
        """DescribeStateMachine's answer."""
        answer: dict[str, Any] = {
            "stateMachineArn": self.arn,
            "name": self.name,
            "status": "ACTIVE",
            "definition": self.definition,
            "roleArn": self.role_arn,
            "type": self.type,
            "creationDate": self.creation_date,
            "loggingConfiguration": self.logging,
            "tracingConfiguration": self.tracing,
            "revisionId": self.revision_id,
        }
        if self.description:
            answer["description"] = self.description
        return answer

    def list_item(self) -> dict[str, Any]:
        return {
            "stateMachineArn": self.arn,
            "name": self.name,
            "type": self.type,
            "creationDate": self.creation_date,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "name": self.name,
            "definition": self.definition,
            "role_arn": self.role_arn,
            "type": self.type,
            "creation_date": iso(self.creation_date),
            "update_date": iso(self.update_date) if self.update_date else None,
            "logging": self.logging,
            "tracing": self.tracing,
            "description": self.description,
            "tags": self.tags,
            "revision_id": self.revision_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StateMachineRecord:
        values = dict(data)
        values["creation_date"] = parse_iso(values["creation_date"])
        values["update_date"] = parse_iso(values["update_date"]) if values.get("update_date") else None
        return cls(**values)
