"""Conformance cases that cannot pass yet, and why. Part B of the interpreter (issue 3) empties this.

``PENDING`` maps a case path prefix (relative to ``cases/``) to the reason. ``part_b_reason`` spots
cases that use a part-B feature wherever they live, so a new fixture needs no entry here.
"""

from __future__ import annotations

from typing import Any

PART_B = "part B of the interpreter (issue 3)"

PENDING: dict[str, str] = {
    "map_distributed/": f"Distributed Map: {PART_B}",
}

# Resource ARN prefixes of the integrations part B adds.
_PART_B_RESOURCES = (
    "arn:aws:states:::athena:",
    "arn:aws:states:::states:",
    "arn:aws:states:::dynamodb:",
    "arn:aws:states:::s3:",
    "arn:aws:states:::aws-sdk:",
    "arn:aws:states:::sqs:",
    "arn:aws:states:::sns:",
    "arn:aws:states:::events:",
)


def part_b_reason(case: dict[str, Any]) -> str | None:
    """Why a case needs part B (a feature it uses), or None."""
    text = str(case.get("definition"))
    for prefix in _PART_B_RESOURCES:
        if prefix in text:
            return f"{prefix}* integration: {PART_B}"
    if ".waitForTaskToken" in text or case.get("services", {}).get("callbacks"):
        return f".waitForTaskToken callbacks: {PART_B}"
    if "'DISTRIBUTED'" in text or "ItemReader" in text or "ItemBatcher" in text or "ResultWriter" in text:
        return f"Distributed Map: {PART_B}"
    return None


def pending_reason(relative_path: str, case: dict[str, Any]) -> str | None:
    for prefix, reason in PENDING.items():
        if relative_path.startswith(prefix):
            return reason
    return part_b_reason(case)
