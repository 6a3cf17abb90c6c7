"""Helpers of the CDK tests: one synthesis of the app (the session fixture `synthesis` in
conftest.py), and readers for what it produced."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Template

from infra.app import build
from meterpipe.definitions import REPO_ROOT, walk_states

CDK_JSON = REPO_ROOT / "cdk.json"


@dataclass(frozen=True)
class Synthesis:
    template: Template
    raw: dict[str, Any]
    validation: dict[str, Any]
    outdir: Path

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.raw["Resources"].items() if r["Type"] == resource_type}

    def logical_id(self, resource_type: str, contains: str) -> str:
        matches = [k for k in self.resources(resource_type) if contains in k]
        assert len(matches) == 1, (resource_type, contains, matches)
        return matches[0]


def cdk_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]
    return context


def synthesise(outdir: Path, **overrides: Any) -> Synthesis:
    """The app as `cdk synth` builds it (cdk.json's context, plus ``overrides``), synthesised once."""
    app = App(context=cdk_context() | overrides, outdir=str(outdir))
    stack = build(app)
    app.synth()  # runs cdk-nag: unacknowledged findings raise here
    raw = json.loads((outdir / f"{stack.stack_name}.template.json").read_text(encoding="utf-8"))
    validation = json.loads((outdir / "validation-report.json").read_text(encoding="utf-8"))
    return Synthesis(template=Template.from_json(raw), raw=raw, validation=validation, outdir=outdir)


def render_intrinsics(value: Any) -> Any:
    """A CloudFormation value as text: Fn::Join joined, references as ``<Ref:X>`` / ``<X.Arn>``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Fn::Join":
            separator, parts = argument
            return separator.join(str(render_intrinsics(part)) for part in parts)
        if key == "Ref":
            return f"<Ref:{argument}>"
        if key == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
    if isinstance(value, list):
        return [render_intrinsics(v) for v in value]
    if isinstance(value, dict):
        return {k: render_intrinsics(v) for k, v in value.items()}
    return value


def deployed_definition(synthesis: Synthesis, name_contains: str) -> dict[str, Any]:
    """A state machine's definition as CloudFormation will deploy it (references as markers)."""
    logical_id = synthesis.logical_id("AWS::StepFunctions::StateMachine", name_contains)
    text = render_intrinsics(synthesis.raw["Resources"][logical_id]["Properties"]["DefinitionString"])
    definition: dict[str, Any] = json.loads(text)
    return definition


def all_states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(walk_states(definition))


def policy_statements(synthesis: Synthesis, role_contains: str | None = None) -> list[dict[str, Any]]:
    """Statements of all IAM policies and inline role policies, or of roles whose id has ``role_contains``."""
    statements: list[dict[str, Any]] = []
    for policy in synthesis.resources("AWS::IAM::Policy").values():
        roles = [render_intrinsics(r) for r in policy["Properties"].get("Roles", [])]
        if role_contains is None or any(role_contains in r for r in roles):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    for logical_id, role in synthesis.resources("AWS::IAM::Role").items():
        if role_contains is None or role_contains in logical_id:
            for inline in role["Properties"].get("Policies", []):
                statements += inline["PolicyDocument"]["Statement"]
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def granted(synthesis: Synthesis, role_contains: str) -> set[tuple[str, str]]:
    """(action, resource as text) pairs the roles whose id contains ``role_contains`` are allowed."""
    return {
        (action, str(render_intrinsics(resource)))
        for statement in policy_statements(synthesis, role_contains)
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }
