"""Which API operation a request calls, for every service behind the endpoint, read the way each
protocol says it: the ``X-Amz-Target`` suffix (JSON 1.0/1.1), the ``Action`` parameter (Query), or
method, path, query keys and required headers against botocore's routes (REST-JSON, REST-XML).

Faults match requests by it, and body limits depend on it (a Lambda ``CreateFunction`` may carry
a 50 MB zip, an ``Invoke`` 6 MB). Step Functions and Athena, JSON services localcloud answers
itself, parse their operation the same way (``protocols.JsonProtocol``).
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import parse_qs

from localcloud.server.protocols import Route, compile_route, service_model

# SigV4 signing name -> botocore's model name, where they differ.
MODEL_NAMES = {"states": "stepfunctions", "monitoring": "cloudwatch"}
_VHOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]*)\.localhost(:\d+)?$")


def model_name(signing_name: str) -> str:
    return MODEL_NAMES.get(signing_name, signing_name)


@cache
def _routes(signing_name: str) -> tuple[Route, ...]:
    model = service_model(model_name(signing_name))
    routes = [compile_route(model.operation_model(name)) for name in model.operation_names]
    # The most specific route first: more required query keys and headers, then longer literals
    # (GET /bucket?list-type=2 is ListObjectsV2, not ListObjects; a PUT with x-amz-copy-source is
    # CopyObject, not PutObject).
    routes.sort(key=lambda r: (-_specificity(r), -r.literal_length))
    return tuple(routes)


def _specificity(route: Route) -> int:
    return len(route.required_query) + len(route.required_query_members) + len(route.required_headers)


@cache
def protocol(signing_name: str) -> str:
    return str(service_model(model_name(signing_name)).resolved_protocol)


def operation_name(
    signing_name: str,
    *,
    method: str,
    raw_path: str,
    headers: dict[str, str],
    query: dict[str, list[str]],
    body: bytes | None = None,
) -> str | None:
    """The operation's name (``BatchWriteItem``, ``PutObject``, ``Invoke``), or None when the
    request names none of the service's operations (or, Query with no ``Action`` in the URL,
    before its body is read)."""
    kind = protocol(signing_name)
    if kind == "json":
        _, _, name = headers.get("x-amz-target", "").partition(".")
        return name or None
    if kind in ("query", "ec2"):
        actions = query.get("Action")
        if not actions and body is not None:
            actions = parse_qs(body.decode("latin-1")).get("Action")
        return actions[0] if actions else None
    path = raw_path.split("?", 1)[0] or "/"
    if signing_name == "s3":
        found = _VHOST.match(headers.get("host", ""))
        if found:  # virtual-hosted style: bucket.localhost:port
            path = f"/{found['bucket']}{path}" if path != "/" else f"/{found['bucket']}"
    for route in _routes(signing_name):
        if (
            route.method == method
            and route.pattern.match(path)
            and all(key in query for key in (*route.required_query, *route.required_query_members))
            and all(name in headers for name in route.required_headers)
        ):
            return str(route.operation.name)
    return None
