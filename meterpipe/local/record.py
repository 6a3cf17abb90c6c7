"""What ``meterpipe local up`` deployed, recorded in the home folder in the form of a stack's
outputs (``DescribeStacks``' ``StackName`` and ``Outputs``), so the CLI reads a local deployment
exactly as it reads a deployed stack (``meterpipe.ops.pipeline.Deployment.from_outputs``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final, Literal

from meterpipe.local.home import local_command
from meterpipe.ops.pipeline import Deployment, NotDeployed

RECORD_FILE: Final = "deployment.json"
LOCAL_STACK_NAME: Final = "meterpipe-local"


def path(home: Path) -> Path:
    return home / RECORD_FILE


def write(home: Path, deployment: Deployment) -> Literal["created", "updated", "unchanged"]:
    """Record ``deployment``'s outputs (every value a string, as CloudFormation gives them)."""
    document = {
        "StackName": LOCAL_STACK_NAME,
        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in deployment.to_outputs().items()],
    }
    text = json.dumps(document, indent=2) + "\n"
    target = path(home)
    before = target.read_text(encoding="utf-8") if target.exists() else None
    if before == text:
        return "unchanged"
    partial = target.with_suffix(".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)  # never a half-written record
    return "created" if before is None else "updated"


def read(home: Path) -> Deployment:
    """The deployment recorded for ``home``; :class:`NotDeployed` says how to make one."""
    where = path(home)
    try:
        document = json.loads(where.read_text(encoding="utf-8"))
        outputs = {o["OutputKey"]: o["OutputValue"] for o in document["Outputs"]}
    except FileNotFoundError:
        raise NotDeployed(
            f"nothing is deployed to the localcloud of {home}: deploy it with `{local_command('up', home)}`"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise NotDeployed(
            f"{where} is not a deployment record ({error}): deploy again with `{local_command('up', home)}`"
        ) from None
    return Deployment.from_outputs(outputs, where=str(where), stack_name=None)
