"""A fault: what a matching call gets instead of (or besides) its answer.

``service`` is the endpoint prefix AWS signs requests with (``dynamodb``, ``lambda``, ``athena``,
``s3``, ``states``, ``glue``, and ``events``, ``logs``, ``iam``, ``sts``, ``scheduler``),
``operation`` the API operation's name in botocore's model (``BatchWriteItem``). Effects, any of
them together:

- ``error``: answer with that error code, with the HTTP status AWS uses for it in that service
  (from botocore's model where it says, else AWS's usual: 5xx for internal and unavailable
  errors, 503 for S3's ``SlowDown``, 400 otherwise), in the service's protocol;
- ``unprocessed``: a share of a ``BatchWriteItem``'s items handed back as ``UnprocessedItems``
  (the rest written), as DynamoDB does when a table is over its throughput; all of them is
  ``ProvisionedThroughputExceededException``, as DynamoDB answers when it can process none;
- ``delay``: seconds to wait before answering.

A fault applies to every matching call until cleared, or with ``probability`` to each call at
random, or to the next ``count`` calls (then it is spent).
"""

from __future__ import annotations

import difflib
import re
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from botocore.model import ServiceModel

from localcloud.server.protocols import service_model

SERVICES = (
    "athena",
    "dynamodb",
    "events",
    "glue",
    "iam",
    "lambda",
    "logs",
    "s3",
    "scheduler",
    "states",
    "sts",
)
_MODEL_NAMES = {"states": "stepfunctions"}
MAX_DELAY_SECONDS = 900.0
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9.]{0,127}$")

# Codes AWS answers with a 5xx in every service (a model rarely says, JSON services never do).
_SERVER_CODES = {
    "InternalFailure": 500,
    "InternalError": 500,
    "InternalServerError": 500,
    "InternalServerException": 500,
    "InternalServiceException": 500,
    "ServiceException": 500,
    "ServiceFailure": 500,
    "ServiceUnavailable": 503,
    "ServiceUnavailableException": 503,
    "SlowDown": 503,
}


class FaultSpecError(ValueError):
    """A fault that cannot be set, with the reason (shown to the user as is)."""


class UnknownFault(KeyError):
    pass


@cache
def model(service: str) -> ServiceModel:
    return service_model(_MODEL_NAMES.get(service, service))


def error_code_and_status(service: str, code: str) -> tuple[str, int]:
    """The wire code and HTTP status of ``code`` in ``service`` (a model's shape name, like IAM's
    ``NoSuchEntityException``, becomes its wire code ``NoSuchEntity``)."""
    for shape in model(service).error_shapes:
        wire = shape.metadata.get("error", {}).get("code", shape.name)
        if code in (shape.name, wire):
            status = shape.metadata.get("error", {}).get("httpStatusCode")
            if status is None:
                status = _SERVER_CODES.get(wire, 500 if shape.metadata.get("fault") else 400)
            return str(wire), int(status)
    return code, _SERVER_CODES.get(code, 400)


@dataclass
class Fault:
    service: str
    operation: str
    error: str | None = None
    status: int | None = None
    unprocessed: float | None = None
    delay: float = 0.0
    probability: float | None = None
    count: int | None = None  # calls it still applies to (None: until cleared)
    id: str = field(default_factory=lambda: f"flt-{uuid.uuid4().hex[:8]}")
    created_at: float = field(default_factory=time.time)
    hits: int = 0

    @property
    def spent(self) -> bool:
        return self.count is not None and self.count <= 0

    def awaits(self, service: str, operation: str) -> bool:
        """Whether a call of ``service``'s ``operation`` may still meet this fault."""
        return self.service == service and self.operation == operation and not self.spent

    def describe(self) -> str:
        effects = []
        if self.delay:
            effects.append(f"delay {self.delay:g} s")
        if self.error:
            effects.append(f"error {self.error} (HTTP {self.status})")
        if self.unprocessed is not None:
            effects.append(f"{self.unprocessed:.0%} of items unprocessed")
        when = "every call"
        if self.probability is not None:
            when = f"{self.probability:.0%} of calls"
        if self.count is not None:
            when += f", {self.count} more" if not self.spent else ", spent"
        return f"{self.service} {self.operation}: {', '.join(effects)}; {when}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "service": self.service,
            "operation": self.operation,
            "error": self.error,
            "status": self.status,
            "unprocessed": self.unprocessed,
            "delay": self.delay,
            "probability": self.probability,
            "count": self.count,
            "hits": self.hits,
            "spent": self.spent,
            "created_at": self.created_at,
            "description": self.describe(),
        }


def _number(spec: dict[str, Any], name: str, kind: type) -> Any:
    value = spec.get(name)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (kind is int and not isinstance(value, int))
    ):
        raise FaultSpecError(f"{name} must be a{'n integer' if kind is int else ' number'}, not {value!r}")
    return kind(value)


def parse(spec: Any) -> Fault:
    """A Fault from its JSON form (the control API's body); raises FaultSpecError naming the field."""
    if not isinstance(spec, dict):
        raise FaultSpecError(
            "a fault is a JSON object: {service, operation, error?, unprocessed?, delay?, ...}"
        )
    known = {"service", "operation", "error", "unprocessed", "delay", "probability", "count"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise FaultSpecError(
            f"unknown field(s): {', '.join(unknown)}; a fault has {', '.join(sorted(known))}"
        )
    service = spec.get("service")
    if service not in SERVICES:
        raise FaultSpecError(
            f"service must be one of {', '.join(SERVICES)} (the endpoint prefix), not {service!r}"
        )
    operation = spec.get("operation")
    operations = model(service).operation_names
    if operation not in operations:
        close = difflib.get_close_matches(str(operation), operations, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise FaultSpecError(f"{service} has no operation {operation!r}{hint}")
    error = spec.get("error")
    status = None
    if error is not None:
        if not isinstance(error, str) or not _CODE.match(error):
            raise FaultSpecError(f"error must be an error code such as ThrottlingException, not {error!r}")
        error, status = error_code_and_status(service, error)
    unprocessed = _number(spec, "unprocessed", float)
    if unprocessed is not None:
        if (service, operation) != ("dynamodb", "BatchWriteItem"):
            raise FaultSpecError("unprocessed applies to dynamodb BatchWriteItem only")
        if not 0 < unprocessed <= 1:
            raise FaultSpecError(
                f"unprocessed is a share of the items, above 0 and at most 1, not {unprocessed}"
            )
    delay = _number(spec, "delay", float) or 0.0
    if not 0 <= delay <= MAX_DELAY_SECONDS:
        raise FaultSpecError(f"delay is seconds from 0 to {MAX_DELAY_SECONDS:g}, not {delay}")
    probability = _number(spec, "probability", float)
    if probability is not None and not 0 < probability <= 1:
        raise FaultSpecError(f"probability is above 0 and at most 1, not {probability}")
    count = _number(spec, "count", int)
    if count is not None and count < 1:
        raise FaultSpecError(f"count is at least 1, not {count}")
    if error is None and unprocessed is None and not delay:
        raise FaultSpecError("a fault needs an effect: error, unprocessed or delay")
    return Fault(
        service=service,
        operation=str(operation),
        error=error,
        status=status,
        unprocessed=unprocessed,
        delay=delay,
        probability=probability,
        count=count,
    )
