"""EventBridge Scheduler's error codes, with their HTTP statuses."""

from __future__ import annotations

from localcloud.server.errors import AwsError, ResourceNotFoundException, ValidationException

__all__ = ["ConflictException", "ResourceNotFoundException", "SchedulerValidationException"]


class ConflictException(AwsError):
    code = "ConflictException"
    status = 409
    sender_fault = True


class SchedulerValidationException(ValidationException):
    """Scheduler's ValidationException (400)."""
