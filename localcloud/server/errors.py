"""AWS errors as exceptions: one tiny class per error code, carrying its HTTP status.

A service raises ``SomeServiceError("message")``; its protocol turns it into the wire shape AWS
uses (header ``x-amzn-ErrorType`` and a JSON body for REST-JSON, ``__type`` for JSON 1.0/1.1), so
boto3 raises ``ClientError`` with the same ``Error.Code`` it gets from AWS.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar


class AwsError(Exception):
    code: ClassVar[str] = "InternalFailure"
    status: ClassVar[int] = 500
    sender_fault: ClassVar[bool] = False

    def __init__(self, message: str, *, headers: dict[str, str] | None = None, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        self.fields = fields  # extra members of the error body (e.g. Reason)


class ValidationException(AwsError):
    code = "ValidationException"
    status = 400
    sender_fault = True


class ResourceNotFoundException(AwsError):
    """The code and status Lambda and Scheduler (and most REST-JSON services) share."""

    code = "ResourceNotFoundException"
    status = 404
    sender_fault = True


class UnknownOperationException(AwsError):
    code = "UnknownOperationException"
    status = 404
    sender_fault = True


class NotImplementedByLocalcloud(AwsError):
    """An operation AWS has that localcloud does not implement (yet): loud, naming it."""

    code = "NotImplemented"
    status = 501


@cache
def error_class(code: str, status: int, *, sender_fault: bool = True) -> type[AwsError]:
    """An AWS error class made from its code and status, for errors chosen at run time (a
    fault's ``--error``, a body-size refusal), so they go through the same protocol serialisers."""
    return type(code, (AwsError,), {"code": code, "status": status, "sender_fault": sender_fault})
