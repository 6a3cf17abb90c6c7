"""Step Functions' error codes (botocore's ``stepfunctions`` model), one class each.

Every one of them is a client error answered with HTTP 400 and ``__type`` = the code, which is
what boto3 turns into ``ClientError`` with that ``Error.Code`` (and ``sfn.exceptions.<Code>``).
``ValidationException`` is the shared one from ``localcloud.server.errors``.
"""

from __future__ import annotations

from localcloud.server.errors import AwsError, ValidationException

__all__ = [
    "ExecutionAlreadyExists",
    "ExecutionDoesNotExist",
    "ExecutionLimitExceeded",
    "ExecutionNotRedrivable",
    "InvalidArn",
    "InvalidDefinition",
    "InvalidExecutionInput",
    "InvalidLoggingConfiguration",
    "InvalidName",
    "InvalidOutput",
    "InvalidToken",
    "InvalidTracingConfiguration",
    "MissingRequiredParameter",
    "ResourceNotFound",
    "StateMachineAlreadyExists",
    "StateMachineDoesNotExist",
    "StateMachineTypeNotSupported",
    "StepFunctionsError",
    "TaskDoesNotExist",
    "TaskTimedOut",
    "TooManyTags",
    "ValidationException",
]


class StepFunctionsError(AwsError):
    status = 400
    sender_fault = True


class ExecutionAlreadyExists(StepFunctionsError):
    code = "ExecutionAlreadyExists"


class ExecutionDoesNotExist(StepFunctionsError):
    code = "ExecutionDoesNotExist"


class ExecutionLimitExceeded(StepFunctionsError):
    code = "ExecutionLimitExceeded"


class ExecutionNotRedrivable(StepFunctionsError):
    code = "ExecutionNotRedrivable"


class InvalidArn(StepFunctionsError):
    code = "InvalidArn"


class InvalidDefinition(StepFunctionsError):
    code = "InvalidDefinition"


class InvalidExecutionInput(StepFunctionsError):
    code = "InvalidExecutionInput"


class InvalidLoggingConfiguration(StepFunctionsError):
    code = "InvalidLoggingConfiguration"


class InvalidName(StepFunctionsError):
    code = "InvalidName"


class InvalidOutput(StepFunctionsError):
    code = "InvalidOutput"


class InvalidToken(StepFunctionsError):
    code = "InvalidToken"


class InvalidTracingConfiguration(StepFunctionsError):
    code = "InvalidTracingConfiguration"


class MissingRequiredParameter(StepFunctionsError):
    code = "MissingRequiredParameter"


class ResourceNotFound(StepFunctionsError):
    code = "ResourceNotFound"


class StateMachineAlreadyExists(StepFunctionsError):
    code = "StateMachineAlreadyExists"


class StateMachineDoesNotExist(StepFunctionsError):
    code = "StateMachineDoesNotExist"


class StateMachineTypeNotSupported(StepFunctionsError):
    code = "StateMachineTypeNotSupported"


class TaskDoesNotExist(StepFunctionsError):
    code = "TaskDoesNotExist"


class TaskTimedOut(StepFunctionsError):
    code = "TaskTimedOut"


class TooManyTags(StepFunctionsError):
    code = "TooManyTags"
