"""Which AWS service a request is for, identified the way AWS does.

Signed requests name their service in the SigV4 credential scope
(``Credential=AKID/20240101/us-east-1/lambda/aws4_request``), in the Authorization header or, for
presigned URLs, the ``X-Amz-Credential`` query parameter. Unsigned requests fall back on the
JSON protocol's ``X-Amz-Target`` prefix, then on the REST paths of the services localcloud serves.
"""

from __future__ import annotations

import re

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"^[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request$")

_TARGET_PREFIXES = {
    "AWSStepFunctions": "states",
    "AmazonAthena": "athena",
    "AWSEvents": "events",
    "DynamoDB_20120810": "dynamodb",
    "AWSGlue": "glue",
    "Logs_20140328": "logs",
}

# Unsigned REST requests of the services localcloud serves itself.
_UNSIGNED_PATHS = (
    (re.compile(r"^/20\d\d-\d\d-\d\d/(functions|tags|event-source-mappings|layers)(/|$)"), "lambda"),
    (re.compile(r"^/(schedules|schedule-groups)(/|$)"), "scheduler"),
)


def signing_name(method: str, path: str, headers: dict[str, str], query: dict[str, list[str]]) -> str | None:
    """The service's signing name, or None when the request does not say (MiniStack decides)."""
    found = _CREDENTIAL_SCOPE.search(headers.get("authorization", ""))
    if found:
        return found.group(1)
    for credential in query.get("X-Amz-Credential", []):
        found = _QUERY_SCOPE.match(credential)
        if found:
            return found.group(1)
    target = headers.get("x-amz-target", "")
    if target:
        return _TARGET_PREFIXES.get(target.split(".", 1)[0])
    for pattern, service in _UNSIGNED_PATHS:
        if pattern.match(path):
            return service
    return None
