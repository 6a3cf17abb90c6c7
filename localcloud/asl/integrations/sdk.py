"""What the service integrations share: calling a boto3-shaped client, turning its errors into ASL
error names with AWS's causes, and turning its responses into the JSON Step Functions returns.

Two families, as on AWS:

* **optimized** integrations (``lambda:invoke``, ``dynamodb:*``, ``athena:*``, ``states:*``)
  name errors ``<Prefix>.<ErrorCode>`` with the service's own prefix (``DynamoDB.``, ``Athena.``,
  ``Lambda.``, ``StepFunctions.``), describe them as the AWS SDK for Java 1.x does (``... (Service:
  AmazonDynamoDBv2; Status Code: 400; Error Code: ...; Request ID: ...; Proxy: null)``), write
  timestamps as epoch milliseconds and add ``SdkHttpMetadata``/``SdkResponseMetadata`` to
  request-response results;
* **AWS SDK** integrations (``aws-sdk:*``, see :mod:`.aws_sdk`) follow the SDK for Java 2.x.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from localcloud.asl.errors import StatesFailure


@dataclass(frozen=True)
class ServiceError:
    """A failed service call: the error code AWS returned (None when the call never got an
    answer), its message, HTTP status and request id."""

    code: str | None
    message: str
    status: Any
    request_id: str
    no_answer: bool = False  # the request got no answer at all (nothing listens, the connection failed)
    extended_request_id: str = ""  # S3's x-amz-id-2 (botocore's HostId)


# What a client raises when its request gets no answer.
_NO_ANSWER = (
    botocore.exceptions.ConnectionError,
    botocore.exceptions.HTTPClientError,
    ConnectionError,
    TimeoutError,
)


def service_error(exc: BaseException) -> ServiceError:
    """Read a botocore ClientError (or anything shaped like one)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict) or "Error" not in response:
        return ServiceError(None, str(exc), None, "", no_answer=isinstance(exc, _NO_ANSWER))
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    return ServiceError(
        str(error.get("Code")) if error.get("Code") else None,
        str(error.get("Message") or ""),
        meta.get("HTTPStatusCode"),
        str(meta.get("RequestId") or ""),
        extended_request_id=str(meta.get("HostId") or ""),
    )


# What localcloud's endpoint answers for a service it does not serve (``NotImplemented``, HTTP 501).
NOT_SERVED = ("NotImplemented", 501)


def unreachable(error: ServiceError) -> bool:
    """Whether the call reached no service: no answer at all, or an endpoint that does not serve it."""
    return error.no_answer or (error.code, error.status) == NOT_SERVED


def unreachable_failure(error_prefix: str, title: str, resource: str, detail: str = "") -> StatesFailure:
    """The failure of a call no service answered, as AWS reports one (the SDK's client exception,
    ``<Prefix>.SdkClientException`` with ``Unable to execute HTTP request: ...``), saying which
    service localcloud does not emulate and how to run the state offline anyway."""
    reason = detail or f"localcloud does not emulate {title}"
    return StatesFailure(
        f"{error_prefix}.SdkClientException",
        f"Unable to execute HTTP request: {reason} (resource {resource}); mock this state in a Step "
        "Functions Local mock configuration file (SFN_MOCK_CONFIG) to run it offline",
    )


def optimized_failure(
    exc: BaseException, *, prefix: str, service: str, fallback: str, exception_suffix: bool = False
) -> StatesFailure:
    """An optimized integration's failure: ``<prefix>.<ErrorCode>`` (``<prefix>.<fallback>`` when
    the service named none, ``<prefix>.SdkClientException`` when no service answered); with
    ``exception_suffix`` the name ends in ``Exception`` (``SNS.NotFoundException``)."""
    error = service_error(exc)
    if unreachable(error) or (error.code is None and error.status is None):
        return StatesFailure(
            f"{prefix}.SdkClientException", f"Unable to execute HTTP request: {error.message}"
        )
    code = error.code or fallback
    name = code if not exception_suffix or code.endswith("Exception") else code + "Exception"
    return StatesFailure(
        f"{prefix}.{name}",
        f"{error.message} (Service: {service}; Status Code: {error.status}; Error Code: {code}; "
        f"Request ID: {error.request_id}; Proxy: null)",
    )


def describe_failure(exc: BaseException, service: str) -> str:
    """A failed call in words: the service's message and codes, or the exception's text."""
    error = service_error(exc)
    if error.code is None and error.status is None:
        return error.message
    return (
        f"{error.message or error.code} (Service: {service}, Status Code: {error.status}, "
        f"Error Code: {error.code}, Request ID: {error.request_id})"
    )


def call(
    client: Any, method: str, kwargs: dict[str, Any], on_error: Callable[[BaseException], StatesFailure]
) -> Any:
    """``client.<method>(**kwargs)``; any failure becomes ``on_error(exc)``."""
    try:
        return getattr(client, method)(**kwargs)
    except StatesFailure:
        raise
    except Exception as exc:
        raise on_error(exc) from exc


def sdk_metadata(response: dict[str, Any]) -> dict[str, Any]:
    """The ``SdkHttpMetadata`` and ``SdkResponseMetadata`` optimized integrations add."""
    meta = response.get("ResponseMetadata") or {}
    headers = meta.get("HTTPHeaders") or {}
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {k: [v] for k, v in headers.items()},
            "HttpHeaders": dict(headers),
            "HttpStatusCode": meta.get("HTTPStatusCode", 200),
        },
        "SdkResponseMetadata": {"RequestId": meta.get("RequestId", "")},
    }


def epoch_millis(value: dt.datetime) -> int:
    """Java 1.x SDK's Date as JSON: milliseconds since the epoch."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return round(value.timestamp() * 1000)


def java_instant(value: dt.datetime) -> str:
    """Java's ``Instant.toString()``: ISO 8601 in UTC, fractions only when not zero."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        millis, micros = divmod(value.microsecond, 1000)
        text += f".{millis:03d}" if not micros else f".{value.microsecond:06d}"
    return text + "Z"


def plain_json(value: Any, timestamp: Callable[[dt.datetime], Any] = epoch_millis) -> Any:
    """A boto3 response as JSON data: timestamps through ``timestamp``, bytes as base64, streams
    read as UTF-8 text, ``ResponseMetadata`` dropped."""
    if isinstance(value, dict):
        return {k: plain_json(v, timestamp) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple):
        return [plain_json(v, timestamp) for v in value]
    if isinstance(value, dt.datetime):
        return timestamp(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if hasattr(value, "read"):
        return value.read().decode("utf-8", errors="replace")
    return value
