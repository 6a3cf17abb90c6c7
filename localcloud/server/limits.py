"""The largest request body each API takes, and the error it answers past it, as AWS does.

Checked before a body is kept (from ``Content-Length``, or as a chunked body arrives), so a body
that no AWS API would take never fills memory or disk. Limits on what a body holds stay with the
services that read it: Step Functions' 256 KiB execution input (``InvalidExecutionInput``),
Lambda's 6 MB synchronous and 256 KB asynchronous payloads, DynamoDB's 400 KB items and 25-request
batches (MiniStack's own checks).
"""

from __future__ import annotations

from dataclasses import dataclass

from localcloud.server.errors import AwsError, error_class

MIB = 1024 * 1024
LAMBDA_ZIP_REQUEST = 69_905_067  # a 50 MB zip, base64-encoded in the JSON body (AWS's own figure)
LAMBDA_INVOKE_REQUEST = 6 * MIB
S3_OBJECT = 5 * 1024 * MIB  # a single PutObject or UploadPart
DYNAMODB_REQUEST = 16 * MIB  # BatchWriteItem's total request size
STATES_REQUEST = 2 * MIB  # a 1 MiB definition, or a 256 KiB payload, JSON-escaped in the body
CONTROL_REQUEST = MIB  # localcloud's own /_localcloud/ routes
DEFAULT_REQUEST = 8 * MIB


@dataclass(frozen=True)
class Limit:
    max_bytes: int
    code: str
    status: int
    message: str  # {size} and {limit} are filled in

    def error(self, size: int) -> AwsError:
        return error_class(self.code, self.status)(self.message.format(size=size, limit=self.max_bytes))


_TOO_BIG = "The request is {size} bytes, more than {limit} allowed"

# Per service: the limit and AWS's error for a body over it; Lambda and Step Functions depend on
# the operation (below).
_BY_SERVICE = {
    "s3": Limit(S3_OBJECT, "EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size"),
    "dynamodb": Limit(
        DYNAMODB_REQUEST,
        "ValidationException",
        400,
        "The request is {size} bytes: a DynamoDB request may not exceed 16 MB ({limit} bytes)",
    ),
    "states": Limit(STATES_REQUEST, "ValidationException", 400, _TOO_BIG),
    "logs": Limit(
        DEFAULT_REQUEST,
        "InvalidParameterException",
        400,
        "Upload too large: {size} bytes exceeds limit of {limit}",
    ),
    "athena": Limit(MIB, "InvalidRequestException", 400, _TOO_BIG),
    "glue": Limit(DEFAULT_REQUEST, "InvalidInputException", 400, _TOO_BIG),
    "iam": Limit(MIB, "ValidationError", 400, _TOO_BIG),
    "sts": Limit(MIB, "ValidationError", 400, _TOO_BIG),
}
_DEFAULT = Limit(MIB, "ValidationException", 400, _TOO_BIG)
_EXECUTION_INPUT = Limit(
    STATES_REQUEST,
    "InvalidExecutionInput",
    400,
    "Invalid State Machine Execution Input: 'the request is {size} bytes, more than the 262144 bytes an "
    "input may hold'",
)


def _lambda(operation: str) -> Limit:
    limit = LAMBDA_INVOKE_REQUEST if operation == "Invoke" else LAMBDA_ZIP_REQUEST
    aws_name = "InvokeFunction" if operation == "Invoke" else operation
    message = f"Request must be smaller than {{limit}} bytes for the {aws_name} operation"
    return Limit(limit, "RequestEntityTooLargeException", 413, message)


def body_limit(signing_name: str | None, operation: str | None) -> Limit:
    """The limit for a request to ``signing_name``'s ``operation`` (None: not known yet)."""
    if signing_name == "lambda":
        return _lambda(operation or "CreateFunction")
    if signing_name == "states" and operation in ("StartExecution", "StartSyncExecution"):
        return _EXECUTION_INPUT
    return _BY_SERVICE.get(signing_name or "", _DEFAULT)
