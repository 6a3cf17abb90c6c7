"""EventBridge Scheduler's error codes, with their HTTP statuses."""

from __future__ import annotations

from localcloud.server.errors import AwsError, ValidationException


class ResourceNotFoundException(AwsError):
    code = "ResourceNotFoundException"
    status = 404
    sender_fault = True


class ConflictException(AwsError):
    code = "ConflictException"
    status = 409
    sender_fault = True


class SchedulerValidationException(ValidationException):
    """Scheduler's ValidationException (400)."""
