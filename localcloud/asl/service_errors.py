"""The Step Functions API errors the host raises (DescribeExecution, StartExecution, RedriveExecution,
...), apart from the interpreter's own: an endpoint maps each to its AWS error code."""

from __future__ import annotations


class ExecutionNotFound(LookupError):
    """ExecutionDoesNotExist."""


class ExecutionAlreadyExists(ValueError):
    """ExecutionAlreadyExists: the name is taken."""


class ExecutionNotRedrivable(ValueError):
    """ExecutionNotRedrivable, with AWS's reason."""


class StateMachineDoesNotExist(LookupError):
    """StateMachineDoesNotExist: the resolver knows no machine with this ARN."""


class ServiceRefused(Exception):
    """Another refusal of the Step Functions API, by its AWS error code (an endpoint's rehearsed
    fault: ``ExecutionLimitExceeded``, ``ThrottlingException``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
