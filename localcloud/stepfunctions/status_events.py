"""Step Functions' "Step Functions Execution Status Change" events, as AWS sends them to EventBridge.

AWS: "the detail section in the event data provides the same information as the DescribeExecution
API", for STANDARD executions only (EXPRESS executions emit none), at each status change: RUNNING
when an execution starts and when it is redriven, then SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
localcloud also emits FAILED for the executions a restart of localcloud failed.

The detail, built from DescribeExecution's answer:

- ``executionArn``, ``stateMachineArn``, ``name``, ``status``: strings;
- ``startDate``: epoch milliseconds (an integer); ``stopDate``: the same, or null while running;
- ``input``: the execution input (JSON text); ``inputDetails``: ``{"included": true}``;
- ``output``: the output (JSON text) of a SUCCEEDED execution, else null; ``outputDetails``:
  ``{"included": true}`` when SUCCEEDED, else null;
- ``redriveCount``: an integer; ``redriveDate``: epoch milliseconds, only once redriven;
- ``redriveStatus``: ``REDRIVABLE``, ``NOT_REDRIVABLE`` (or, for a Distributed Map's child,
  ``REDRIVABLE_BY_MAP_RUN``); ``redriveStatusReason``: only when NOT_REDRIVABLE;
- ``error``, ``cause``: strings, only when the execution has them (a failure, a time-out, a stop
  that gave them).

As AWS's quota for event size requires, when the escaped input and output together exceed 248 KB
the input is left out (``input`` null, ``inputDetails.included`` false), and an escaped output over
248 KB is left out the same way.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from localcloud.events.models import ServiceEvent

SOURCE = "aws.states"
DETAIL_TYPE = "Step Functions Execution Status Change"
MAX_ESCAPED_BYTES = 248 * 1024


def _millis(value: dt.datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def _escaped_size(text: str | None) -> int:
    return 0 if text is None else len(json.dumps(text).encode())


def status_change(described: dict[str, Any], when: dt.datetime) -> ServiceEvent:
    """The event for an execution as DescribeExecution describes it (``described``), at ``when``."""
    status = described["status"]
    input_text: str | None = described["input"]
    output_text: str | None = described.get("output")
    output_included = True
    if _escaped_size(output_text) > MAX_ESCAPED_BYTES:
        output_text, output_included = None, False
    input_included = _escaped_size(input_text) + _escaped_size(output_text) <= MAX_ESCAPED_BYTES
    if not input_included:
        input_text = None
    succeeded = status == "SUCCEEDED"
    detail: dict[str, Any] = {
        "executionArn": described["executionArn"],
        "stateMachineArn": described["stateMachineArn"],
        "name": described["name"],
        "status": status,
        "startDate": _millis(described["startDate"]),
        "stopDate": _millis(described.get("stopDate")),
        "input": input_text,
        "inputDetails": {"included": input_included},
        "output": output_text if succeeded else None,
        "outputDetails": {"included": output_included} if succeeded else None,
        "redriveCount": described.get("redriveCount", 0),
    }
    if described.get("redriveDate") is not None:
        detail["redriveDate"] = _millis(described["redriveDate"])
    detail["redriveStatus"] = described["redriveStatus"]
    for optional in ("redriveStatusReason", "error", "cause"):
        if described.get(optional) is not None:
            detail[optional] = described[optional]
    return ServiceEvent(
        source=SOURCE,
        detail_type=DETAIL_TYPE,
        detail=detail,
        resources=[described["executionArn"]],
        time=when,
    )
