"""Lambda's error codes, one class each, with the HTTP status Lambda answers them with."""

from __future__ import annotations

from typing import Any

from localcloud.server.errors import AwsError, ResourceNotFoundException

__all__ = [
    "InvalidParameterValueException",
    "InvalidRequestContentException",
    "RequestTooLargeException",
    "ResourceConflictException",
    "ResourceNotFoundException",
    "ServiceException",
    "TooManyRequestsException",
    "error_body",
]


def error_body(error: AwsError) -> dict[str, Any]:
    """Lambda's error body: ``{"Type": "User"|"Service", "message": ...}`` plus extra members."""
    return {"Type": "User" if error.sender_fault else "Service", "message": error.message, **error.fields}


class ResourceConflictException(AwsError):
    code = "ResourceConflictException"
    status = 409
    sender_fault = True


class InvalidParameterValueException(AwsError):
    code = "InvalidParameterValueException"
    status = 400
    sender_fault = True


class InvalidRequestContentException(AwsError):
    code = "InvalidRequestContentException"
    status = 400
    sender_fault = True


class RequestTooLargeException(AwsError):
    code = "RequestTooLargeException"
    status = 413
    sender_fault = True


class TooManyRequestsException(AwsError):
    code = "TooManyRequestsException"
    status = 429
    sender_fault = True


class ServiceException(AwsError):
    code = "ServiceException"
    status = 500
