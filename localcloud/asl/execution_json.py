"""An execution as Step Functions describes it inside JSON payloads (the ``.sync`` result of
``states:startExecution``, a Distributed Map's NONE-form results and result files):
DescribeExecution's fields in PascalCase, keys in alphabetical order as AWS writes them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from localcloud.asl.payload import to_json
from localcloud.asl.store import ExecutionRecord


def describe_execution_json(
    record: ExecutionRecord,
    *,
    parsed: bool,
    timestamp: Callable[[Any], Any],
    redrive_status: str,
    redrive_reason: str | None,
) -> dict[str, Any]:
    """``parsed``: Input and Output as JSON values (``.sync:2``) rather than JSON text;
    ``timestamp`` writes StartDate/StopDate (epoch milliseconds or ISO 8601, by payload)."""
    out: dict[str, Any] = {}
    if record.cause is not None:
        out["Cause"] = record.cause
    if record.error is not None:
        out["Error"] = record.error
    out["ExecutionArn"] = record.execution_arn
    out["Input"] = record.input if parsed else to_json(record.input)
    out["InputDetails"] = {"Included": True}
    out["Name"] = record.name
    if record.status == "SUCCEEDED":
        out["Output"] = record.output if parsed else to_json(record.output)
        out["OutputDetails"] = {"Included": True}
    out["RedriveCount"] = record.redrive_count
    out["RedriveStatus"] = redrive_status
    if redrive_reason is not None:
        out["RedriveStatusReason"] = redrive_reason
    out["StartDate"] = timestamp(record.start_date)
    out["StateMachineArn"] = record.state_machine_arn
    out["Status"] = record.status
    if record.stop_date is not None:
        out["StopDate"] = timestamp(record.stop_date)
    return out
