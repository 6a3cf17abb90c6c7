"""AWS wire protocols, server side, driven by botocore's own service models.

botocore serialises requests and parses responses for a client; localcloud does the inverse with
the same model files, so every shape the AWS CLI or boto3 sends is understood the way AWS
understands it, by construction:

- ``RestJsonProtocol`` (Lambda, Scheduler): the operation is found from method + path against
  each operation's ``requestUri``; members come from the URI labels, the query string, headers
  and the JSON body (or a raw payload member); the output goes back the same way (status code,
  header members, payload or JSON body).
- ``JsonProtocol`` (Step Functions, Athena: JSON 1.0/1.1): the operation is the ``X-Amz-Target``
  header, members are the JSON body.
- ``error_response``: an AWS error in any of botocore's protocols (JSON, REST-JSON, Query, REST-XML,
  EC2, RPC v2 CBOR), for answering services localcloud does not serve (``unsupported``).

Both check the parsed input with botocore's ``ParamValidator`` (required members, types, minimum
lengths and values) and answer AWS's ``ValidationException`` when it fails.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator

from localcloud.server.errors import AwsError, UnknownOperationException, ValidationException
from localcloud.server.http import Request, Response

_MODEL_CACHE: dict[str, ServiceModel] = {}
CBOR = "smithy-rpc-v2-cbor"


def service_model(name: str) -> ServiceModel:
    """botocore's model for a service (cached: loading one parses a large JSON file)."""
    if name not in _MODEL_CACHE:
        _MODEL_CACHE[name] = botocore.session.get_session().get_service_model(name)
    return _MODEL_CACHE[name]


def snake_case(operation: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", operation).lower()


# --------------------------------------------------------------------------------------------
# Value conversion between the wire and Python, by shape
# --------------------------------------------------------------------------------------------


def _parse_timestamp(value: Any) -> dt.datetime:
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    text = str(value)
    try:
        return dt.datetime.fromtimestamp(float(text), dt.UTC)
    except ValueError:
        pass
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def from_json_value(shape: Shape, value: Any) -> Any:
    """A JSON body value to Python: blobs decoded, timestamps to aware datetimes."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        assert isinstance(shape, StructureShape)
        return {
            name: from_json_value(shape.members[name], item)
            for name, item in value.items()
            if name in shape.members
        }
    if kind == "list" and isinstance(value, list):
        return [from_json_value(shape.member, item) for item in value]  # type: ignore[attr-defined]
    if kind == "map" and isinstance(value, dict):
        return {key: from_json_value(shape.value, item) for key, item in value.items()}  # type: ignore[attr-defined]
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError as exc:
            raise ValidationException(f"Value for {shape.name} is not valid base64") from exc
    if kind == "timestamp":
        try:
            return _parse_timestamp(value)
        except ValueError as exc:
            raise ValidationException(f"Value '{value}' for {shape.name} is not a valid timestamp") from exc
    return value


def to_json_value(shape: Shape, value: Any) -> Any:
    """A Python value to its JSON body form: datetimes to epoch seconds, bytes to base64."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        assert isinstance(shape, StructureShape)
        return {
            name: to_json_value(shape.members[name], item)
            for name, item in value.items()
            if name in shape.members and item is not None
        }
    if kind == "list":
        return [to_json_value(shape.member, item) for item in value]  # type: ignore[attr-defined]
    if kind == "map":
        return {key: to_json_value(shape.value, item) for key, item in value.items()}  # type: ignore[attr-defined]
    if kind == "blob" and isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if kind == "timestamp" and isinstance(value, dt.datetime):
        fmt = shape.serialization.get("timestampFormat", "unixTimestamp")
        if fmt == "iso8601":
            return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        # AWS answers epoch seconds with millisecond precision.
        return int(value.timestamp() * 1000) / 1000
    return value


def _from_text(shape: Shape, values: list[str]) -> Any:
    """A query-string or header value to Python."""
    kind = shape.type_name
    if kind == "list":
        return [_from_text(shape.member, [v]) for v in values]  # type: ignore[attr-defined]
    text = values[-1]
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            return text.lower() == "true"
        if kind == "timestamp":
            return _parse_timestamp(text)
    except ValueError as exc:
        raise ValidationException(f"Value '{text}' is not a valid {kind}") from exc
    return text


def _to_text(shape: Shape, value: Any) -> str:
    if shape.type_name == "timestamp" and isinstance(value, dt.datetime):
        return formatdate(value.timestamp(), usegmt=True)
    if shape.type_name == "boolean":
        return "true" if value else "false"
    return str(value)


def _validate(operation: OperationModel, params: dict[str, Any]) -> None:
    if operation.input_shape is None:
        return
    report = ParamValidator().validate(params, operation.input_shape)
    if report.has_errors():
        raise ValidationException(report.generate_report())


# --------------------------------------------------------------------------------------------
# REST-JSON
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    operation: OperationModel
    method: str
    pattern: re.Pattern[str]
    required_query: tuple[str, ...]
    literal_length: int
    # Required members the request carries in headers (lower-case) and in the query string: what
    # tells CopyObject from PutObject, UploadPart from PutObject (``operations`` uses them).
    required_headers: tuple[str, ...]
    required_query_members: tuple[str, ...]


def compile_route(operation: OperationModel) -> Route:
    uri = operation.http["requestUri"]
    path, _, literal_query = uri.partition("?")
    regex = ""
    position = 0
    for match in re.finditer(r"\{([^}]+?)(\+?)\}", path):
        regex += re.escape(path[position : match.start()])
        greedy = match.group(2) == "+"
        regex += f"(?P<{match.group(1)}>{'.+' if greedy else '[^/]+'})"
        position = match.end()
    regex += re.escape(path[position:])
    literal = re.sub(r"\{[^}]+\}", "", path)
    required = tuple(part.split("=")[0] for part in literal_query.split("&") if part)
    located: dict[str, list[str]] = {"header": [], "querystring": []}
    shape = operation.input_shape
    if isinstance(shape, StructureShape):
        for name in shape.required_members:
            serialization = shape.members[name].serialization
            if serialization.get("location") in located:
                located[serialization["location"]].append(str(serialization.get("name", name)))
    return Route(
        operation=operation,
        method=operation.http["method"],
        pattern=re.compile(f"^{regex}/?$"),
        required_query=required,
        literal_length=len(literal),
        required_headers=tuple(name.lower() for name in located["header"]),
        required_query_members=tuple(located["querystring"]),
    )


ErrorBody = Callable[[AwsError], dict[str, Any]]


def _default_error_body(error: AwsError) -> dict[str, Any]:
    return {"Message": error.message, **error.fields}


class RestJsonProtocol:
    """Parse requests and serialise responses of one REST-JSON service from botocore's model."""

    def __init__(self, service: str, *, error_body: ErrorBody = _default_error_body) -> None:
        self.model = service_model(service)
        self._routes = sorted(
            (compile_route(self.model.operation_model(name)) for name in self.model.operation_names),
            key=lambda route: -route.literal_length,
        )
        self._error_body = error_body

    def parse(self, request: Request) -> tuple[str, dict[str, Any]]:
        """The operation name and its input members; raises UnknownOperationException."""
        route, labels = self._match(request)
        operation = route.operation
        params: dict[str, Any] = {}
        shape = operation.input_shape
        if shape is not None:
            payload_name = shape.serialization.get("payload")
            body_members: dict[str, Shape] = {}
            for name, member in shape.members.items():
                location = member.serialization.get("location")
                wire = member.serialization.get("name", name)
                if location == "uri":
                    if wire in labels:
                        params[name] = _from_text(member, [unquote(labels[wire])])
                elif location == "querystring":
                    if wire in request.query:
                        params[name] = _from_text(member, request.query[wire])
                elif location == "header":
                    if wire.lower() in request.headers:
                        params[name] = _from_text(member, [request.headers[wire.lower()]])
                elif name == payload_name:
                    if member.type_name == "blob":
                        params[name] = request.body
                    elif request.body:
                        params[name] = from_json_value(member, self._json(request.body))
                elif location is None:
                    body_members[name] = member
            if body_members and request.body and payload_name is None:
                document = self._json(request.body)
                if not isinstance(document, dict):
                    raise ValidationException("The request body must be a JSON object")
                for name, member in body_members.items():
                    if name in document and document[name] is not None:
                        params[name] = from_json_value(member, document[name])
        _validate(operation, params)
        return operation.name, params

    def serialize(self, operation_name: str, output: dict[str, Any] | None) -> Response:
        operation = self.model.operation_model(operation_name)
        status = int(operation.http.get("responseCode", 200))
        headers: dict[str, str] = {}
        shape = operation.output_shape
        output = output or {}
        if shape is None:
            return Response(status=status, headers=headers, body=b"")
        payload_name = shape.serialization.get("payload")
        document: dict[str, Any] = {}
        body: bytes | None = None
        for name, member in shape.members.items():
            if name not in output or output[name] is None:
                continue
            value = output[name]
            location = member.serialization.get("location")
            if location == "statusCode":
                status = int(value)
            elif location == "header":
                headers[member.serialization.get("name", name)] = _to_text(member, value)
            elif name == payload_name:
                if member.type_name == "blob":
                    body = value if isinstance(value, bytes) else str(value).encode()
                else:
                    body = json.dumps(to_json_value(member, value)).encode()
            elif location is None:
                document[name] = to_json_value(member, value)
        if body is None:
            body = json.dumps(document).encode() if payload_name is None else b""
        headers.setdefault("Content-Type", "application/json")
        return Response(status=status, headers=headers, body=body)

    def error(self, error: AwsError) -> Response:
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": error.code, **error.headers}
        return Response(
            status=error.status, headers=headers, body=json.dumps(self._error_body(error)).encode()
        )

    def _match(self, request: Request) -> tuple[Route, dict[str, str]]:
        path = request.raw_path.split("?", 1)[0]
        for route in self._routes:
            if route.method != request.method:
                continue
            found = route.pattern.match(path)
            if found and all(key in request.query for key in route.required_query):
                return route, found.groupdict()
        raise UnknownOperationException(
            f"No {self.model.service_name} operation matches {request.method} {request.path}"
        )

    @staticmethod
    def _json(body: bytes) -> Any:
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationException(f"The request body is not valid JSON: {exc}") from exc


# --------------------------------------------------------------------------------------------
# JSON 1.0 / 1.1 (X-Amz-Target)
# --------------------------------------------------------------------------------------------


class JsonProtocol:
    """Parse and serialise a JSON-protocol service (Step Functions, Athena) from botocore's model."""

    def __init__(self, service: str) -> None:
        self.model = service_model(service)
        self.target_prefix = self.model.metadata["targetPrefix"]
        self.json_version = self.model.metadata.get("jsonVersion", "1.0")
        self.content_type = f"application/x-amz-json-{self.json_version}"

    def parse(self, request: Request) -> tuple[str, dict[str, Any]]:
        target = request.headers.get("x-amz-target", "")
        prefix, _, name = target.partition(".")
        if prefix != self.target_prefix or name not in self.model.operation_names:
            raise UnknownOperationException(
                f"Unknown {self.model.service_name} operation: {target or '(none)'}"
            )
        operation = self.model.operation_model(name)
        try:
            document = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationException(f"The request body is not valid JSON: {exc}") from exc
        params = from_json_value(operation.input_shape, document) if operation.input_shape else {}
        _validate(operation, params)
        return name, params

    def serialize(self, operation_name: str, output: dict[str, Any] | None) -> Response:
        operation = self.model.operation_model(operation_name)
        shape = operation.output_shape
        document = to_json_value(shape, output or {}) if shape is not None else {}
        return Response(
            status=200, headers={"Content-Type": self.content_type}, body=json.dumps(document).encode()
        )

    def error(self, error: AwsError) -> Response:
        return error_response("json", error, json_version=self.json_version)


# --------------------------------------------------------------------------------------------
# Errors in any protocol
# --------------------------------------------------------------------------------------------


def error_response(
    protocol: str, error: AwsError, *, request_id: str | None = None, json_version: str = "1.0"
) -> Response:
    """``error`` shaped as botocore's parser for ``protocol`` reads an error."""
    headers = dict(error.headers)
    if request_id is not None:
        headers["x-amzn-RequestId"] = request_id
    if protocol == "json":
        body = {"__type": error.code, "message": error.message, **error.fields}
        headers["Content-Type"] = f"application/x-amz-json-{json_version}"
        return Response(error.status, headers, json.dumps(body).encode())
    if protocol == "rest-json":
        headers.update({"Content-Type": "application/json", "x-amzn-ErrorType": error.code})
        return Response(
            error.status, headers, json.dumps({"message": error.message, **error.fields}).encode()
        )
    if protocol == CBOR:
        headers.update({"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"})
        return Response(
            error.status, headers, _cbor_text_map({"__type": error.code, "message": error.message})
        )
    code, message, rid = escape(error.code), escape(error.message), escape(request_id or "")
    if protocol == "ec2":
        xml = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            f"<RequestID>{rid}</RequestID></Response>"
        )
    else:  # query, rest-xml
        fault = "Sender" if error.sender_fault else "Receiver"
        xml = (
            f"<ErrorResponse><Error><Type>{fault}</Type><Code>{code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>{rid}</RequestId></ErrorResponse>"
        )
    headers["Content-Type"] = "text/xml"
    return Response(error.status, headers, xml.encode())


def _cbor_text_map(values: dict[str, str]) -> bytes:
    """A CBOR map of text strings (RFC 8949: major types 5 and 3), all an error body needs."""

    def head(major: int, length: int) -> bytes:
        if length < 24:
            return bytes([major << 5 | length])
        if length < 0x100:
            return bytes([major << 5 | 24, length])
        if length < 0x10000:
            return bytes([major << 5 | 25]) + length.to_bytes(2, "big")
        return bytes([major << 5 | 26]) + length.to_bytes(4, "big")

    out = bytearray(head(5, len(values)))
    for key, value in values.items():
        for text in (key, value):
            data = text.encode("utf-8")
            out += head(3, len(data)) + data
    return bytes(out)
