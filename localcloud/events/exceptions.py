"""EventBridge's error codes, one class each. EventBridge answers every client error with HTTP 400,
``ResourceNotFoundException`` included (unlike Lambda's and Scheduler's 404)."""

from __future__ import annotations

from localcloud.server.errors import AwsError, ValidationException

__all__ = [
    "EventsResourceNotFound",
    "EventsValidationException",
    "InvalidEventPatternException",
    "LimitExceededException",
]


class EventsResourceNotFound(AwsError):
    code = "ResourceNotFoundException"
    status = 400
    sender_fault = True


class EventsValidationException(ValidationException):
    """EventBridge's ValidationException (400)."""


class InvalidEventPatternException(AwsError):
    code = "InvalidEventPatternException"
    status = 400
    sender_fault = True

    def __init__(self, reason: str) -> None:
        super().__init__(f"Event pattern is not valid. Reason: {reason}")


class LimitExceededException(AwsError):
    code = "LimitExceededException"
    status = 400
    sender_fault = True
