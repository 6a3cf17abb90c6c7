"""Conformance cases that cannot pass yet, and why. Part B of the interpreter (issue 3) empties this.

``PENDING`` maps a case path prefix (relative to ``cases/``) to the reason. ``part_b_reason`` spots
cases that use a part-B feature wherever they live, so a new fixture needs no entry here.
"""

from __future__ import annotations

from typing import Any

PART_B = "part B of the interpreter (issue 3)"

PENDING: dict[str, str] = {
    # Fixtures whose expectation disagrees with the AWS documentation; reported to the lead, to be
    # fixed in the fixture (or here, if the fixture is right).
    "choice/choice_jsonata_condition_true.json": (
        "disputed fixture: it uses Result in JSONata Pass states, which the Pass state reference lists "
        "as 'JSONPath only' (https://docs.aws.amazon.com/step-functions/latest/dg/state-pass.html); "
        "the interpreter rejects that definition"
    ),
    "context_object/context_execution_start_time.json": (
        "disputed fixture: it expects 2024-01-01T00:00:00.000Z; the Context object documentation says "
        "timestamps drop trailing fractional zeros (2024-01-01T00:00:00Z), which the interpreter does"
    ),
}

# Resource ARN prefixes of the integrations part B adds.
_PART_B_RESOURCES = (
    "arn:aws:states:::athena:",
    "arn:aws:states:::states:",
    "arn:aws:states:::dynamodb:",
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
    if ".waitForTaskToken" in text and "lambda:invoke.waitForTaskToken" not in text:
        return f".waitForTaskToken callbacks of other services: {PART_B}"
    return None


def pending_reason(relative_path: str, case: dict[str, Any]) -> str | None:
    for prefix, reason in PENDING.items():
        if relative_path.startswith(prefix):
            return reason
    return part_b_reason(case)
