"""Requests for an AWS service localcloud does not serve: refused in the client's own protocol.

MiniStack is composed with the storage services only; a request for anything else (CloudFormation,
SQS, ...) would get its bare ``{"error": ...}`` JSON, which no AWS SDK can read as an error. So
localcloud answers such a request itself: ``NotImplemented``, HTTP 501 (an SDK does not retry it),
in the wire protocol the client spoke, so boto3 and the AWS CLI raise a ``ClientError`` whose code
and message say which service is not served and where to read what is.

The protocol is read off the request where the wire says it (``smithy-protocol: rpc-v2-cbor``;
``X-Amz-Target``: JSON; a form with ``Action``: Query, or EC2 for the EC2 model); otherwise the
request is REST and botocore's model of the signing name tells REST-XML from REST-JSON. A signing
name is not always a model's name (CloudWatch signs ``monitoring``, SESv2 signs ``ses``, whose model
is Query's), which is why the wire decides first.
"""

from __future__ import annotations

from botocore.exceptions import UnknownServiceError
from botocore.model import ServiceModel

from localcloud.server.errors import NotImplementedByLocalcloud
from localcloud.server.http import Request, Response
from localcloud.server.protocols import CBOR, error_response, service_model

DOCS = "docs/localcloud.md"


def unsupported_service(
    signing_name: str, request: Request, *, served: list[str], request_id: str
) -> Response:
    """The answer to a request signed for ``signing_name``, a service localcloud does not serve."""
    model = signing_model(signing_name)
    title = str(model.metadata.get("serviceId") or signing_name) if model else f"'{signing_name}'"
    error = NotImplementedByLocalcloud(
        f"localcloud does not serve {title} (requests signed for '{signing_name}'); it serves "
        f"{', '.join(served)}. See {DOCS} for what each of them supports."
    )
    protocol = wire_protocol(request, model)
    json_version = model.metadata.get("jsonVersion", "1.0") if model else "1.0"
    return error_response(protocol, error, request_id=request_id, json_version=json_version)


def wire_protocol(request: Request, model: ServiceModel | None) -> str:
    """botocore's name of the protocol the request was sent in."""
    headers = request.headers
    if headers.get("smithy-protocol") == "rpc-v2-cbor":
        return CBOR
    if "x-amz-target" in headers:
        return "json"
    resolved = model.resolved_protocol if model is not None else None
    form = headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    if "Action" in request.query or (form and b"Action=" in request.body):
        return "ec2" if resolved == "ec2" else "query"
    return "rest-xml" if resolved == "rest-xml" else "rest-json"


def signing_model(signing_name: str) -> ServiceModel | None:
    """botocore's model named like the signing name, when it signs with that name."""
    try:
        model = service_model(signing_name)
    except UnknownServiceError:
        return None
    return model if model.signing_name == signing_name else None
