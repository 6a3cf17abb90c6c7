"""Fake task services for the conformance runner, built from a fixture's ``services``."""

from __future__ import annotations

import io
import json
import threading
from typing import Any

from botocore.exceptions import ClientError


def function_name(name_or_arn: str) -> str:
    """The function name inside a bare name, a partial ARN or a full ARN (qualifier dropped)."""
    if ":function:" in name_or_arn:
        return name_or_arn.split(":function:", 1)[1].split(":", 1)[0]
    return name_or_arn


class FakeLambda:
    """A boto3-shaped Lambda client answering ``invoke`` from canned entries, in order (the last repeats)."""

    def __init__(self, functions: dict[str, list[dict[str, Any]]]) -> None:
        self.functions = {name: list(entries) for name, entries in functions.items()}
        self.calls: list[dict[str, Any]] = []
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        name = function_name(kwargs["FunctionName"])
        payload = kwargs.get("Payload")
        with self._lock:
            self.calls.append({"FunctionName": name, "Payload": json.loads(payload) if payload else None})
            entries = self.functions.get(name)
            if not entries:
                raise ClientError(
                    {
                        "Error": {
                            "Code": "ResourceNotFoundException",
                            "Message": f"Function not found: {name}",
                        },
                        "ResponseMetadata": {"HTTPStatusCode": 404, "RequestId": "fake-request"},
                    },
                    "Invoke",
                )
            count = self._counts.get(name, 0)
            self._counts[name] = count + 1
            entry = entries[min(count, len(entries) - 1)]
        meta = {"HTTPStatusCode": 200, "RequestId": "fake-request", "HTTPHeaders": {}}
        if "raise" in entry:
            body = dict(entry["raise"])
            body.setdefault("requestId", "fake-request")
            body.setdefault("stackTrace", [])
            return _response(body, meta, function_error="Unhandled")
        if entry.get("timeout"):
            body = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": "RequestId: fake-request Error: Task timed out after 3.00 seconds",
            }
            return _response(body, meta, function_error="Unhandled")
        if "service_error" in entry:
            error = entry["service_error"]
            raise ClientError(
                {
                    "Error": {
                        "Code": error.get("code", "ServiceException"),
                        "Message": error.get("message", ""),
                    },
                    "ResponseMetadata": {
                        "HTTPStatusCode": error.get("status", 500),
                        "RequestId": "fake-request",
                    },
                },
                "Invoke",
            )
        if kwargs.get("InvocationType") == "Event":
            return {
                "StatusCode": 202,
                "Payload": io.BytesIO(b""),
                "ResponseMetadata": {**meta, "HTTPStatusCode": 202},
            }
        return _response(entry.get("return"), meta)


def _response(body: Any, meta: dict[str, Any], function_error: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "StatusCode": 200,
        "ExecutedVersion": "$LATEST",
        "Payload": io.BytesIO(json.dumps(body).encode("utf-8")),
        "ResponseMetadata": meta,
    }
    if function_error:
        response["FunctionError"] = function_error
    return response


class NotServed:
    """A client for a service nothing serves in the case: every call is answered as localcloud's
    endpoint answers a service it does not serve (``NotImplemented``, HTTP 501), so no call ever
    leaves the machine."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.message = f"localcloud does not serve {service}"

    def __getattr__(self, method: str) -> Any:
        def refuse(**_kwargs: Any) -> Any:
            raise ClientError(
                {
                    "Error": {
                        "Code": "NotImplemented",
                        "Message": f"localcloud does not serve {self.service}",
                    },
                    "ResponseMetadata": {"HTTPStatusCode": 501, "RequestId": "req-not-served"},
                },
                method,
            )

        return refuse
