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


def _lambda(operation: str, limit: int) -> Limit:
    aws_name = "InvokeFunction" if operation == "Invoke" else operation
    return Limit(
        limit,
        "RequestEntityTooLargeException",
        413,
        f"Request must be smaller than {{limit}} bytes for the {aws_name} operation",
    )


def body_limit(signing_name: str | None, operation: str | None) -> Limit:
    """The limit for a request to ``signing_name``'s ``operation`` (None: not known yet)."""
    if signing_name == "lambda":
        if operation == "Invoke":
            return _lambda("Invoke", LAMBDA_INVOKE_REQUEST)
        return _lambda(operation or "CreateFunction", LAMBDA_ZIP_REQUEST)
    if signing_name == "s3":
        return Limit(
            S3_OBJECT, "EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size"
        )
    if signing_name == "dynamodb":
        return Limit(
            DYNAMODB_REQUEST,
            "ValidationException",
            400,
            "The request is {size} bytes: a DynamoDB request may not exceed 16 MB ({limit} bytes)",
        )
    if signing_name == "states":
        if operation in ("StartExecution", "StartSyncExecution"):
            return Limit(
                STATES_REQUEST,
                "InvalidExecutionInput",
                400,
                "Invalid State Machine Execution Input: 'the request is {size} bytes, more than the "
                "262144 bytes an input may hold'",
            )
        return Limit(
            STATES_REQUEST,
            "ValidationException",
            400,
            "The request is {size} bytes, more than {limit} allowed",
        )
    if signing_name == "logs":
        return Limit(
            DEFAULT_REQUEST,
            "InvalidParameterException",
            400,
            "Upload too large: {size} bytes exceeds limit of {limit}",
        )
    if signing_name == "athena":
        return Limit(
            MIB, "InvalidRequestException", 400, "The request is {size} bytes, more than {limit} allowed"
        )
    if signing_name == "glue":
        return Limit(
            DEFAULT_REQUEST,
            "InvalidInputException",
            400,
            "The request is {size} bytes, more than {limit} allowed",
        )
    if signing_name in ("iam", "sts"):
        return Limit(MIB, "ValidationError", 400, "The request is {size} bytes, more than {limit} allowed")
    return Limit(MIB, "ValidationException", 400, "The request is {size} bytes, more than {limit} allowed")
