"""A fault's effect on the wire: the error in the service's protocol, and a BatchWriteItem split
into what is written and what comes back as ``UnprocessedItems``."""

from __future__ import annotations

import json
import math
from typing import Any

from localcloud.faults.model import Fault
from localcloud.server.errors import error_class
from localcloud.server.http import Response
from localcloud.server.protocols import error_response

FAULT_HEADER = "x-localcloud-fault"


def fault_error(fault: Fault, *, protocol: str, json_version: str, request_id: str) -> Response:
    assert fault.error is not None and fault.status is not None
    error = error_class(fault.error, fault.status, sender_fault=fault.status < 500)(
        f"localcloud fault {fault.id}: {fault.error} set with `meterpipe local faults add` "
        "(clear it with `meterpipe local faults clear`)",
        headers={FAULT_HEADER: fault.id},
    )
    if protocol == "rest-json" and fault.service == "lambda":
        # Lambda's error body names who is at fault ("Type"), as localcloud's Lambda answers.
        error.fields["Type"] = "User" if fault.status < 500 else "Service"
    return error_response(protocol, error, request_id=request_id, json_version=json_version)


def throughput_exceeded(fault: Fault, *, request_id: str) -> Response:
    """DynamoDB's answer when it can process none of a batch's items."""
    error = error_class("ProvisionedThroughputExceededException", 400)(
        f"localcloud fault {fault.id}: none of the batch's items were processed (unprocessed "
        f"{fault.unprocessed:g}); the request rate for the table exceeds its throughput",
        headers={FAULT_HEADER: fault.id},
    )
    return error_response("json", error, request_id=request_id, json_version="1.0")


def split_batch(body: bytes, share: float) -> tuple[bytes, dict[str, list[Any]]] | None:
    """The request without the items a fault holds back (the last ``floor(share * n)`` of them,
    so retrying what comes back converges), and those items by table; None when it holds all."""
    document = json.loads(body)
    requests = document.get("RequestItems") or {}
    flat = [(table, item) for table, items in requests.items() for item in items]
    held = math.floor(share * len(flat))
    if held >= len(flat):
        return None
    kept, back = flat[: len(flat) - held], flat[len(flat) - held :]
    document["RequestItems"] = _by_table(kept)
    return json.dumps(document).encode(), _by_table(back)


def merge_unprocessed(response_body: bytes, held: dict[str, list[Any]]) -> bytes:
    document = json.loads(response_body or b"{}")
    unprocessed = document.setdefault("UnprocessedItems", {})
    for table, items in held.items():
        unprocessed.setdefault(table, []).extend(items)
    return json.dumps(document).encode()


def _by_table(pairs: list[tuple[str, Any]]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for table, item in pairs:
        grouped.setdefault(table, []).append(item)
    return grouped
