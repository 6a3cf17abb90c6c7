"""Requests as a web page, a hostile tool or a careful SDK would send them: exact headers, an
optional SigV4 signature made with botocore's own signer, any Host."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def signed_headers(
    endpoint: str,
    method: str,
    path: str,
    *,
    service: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    key: str = "testing",
    secret: str = "testing",
) -> dict[str, str]:
    request = AWSRequest(method=method, url=f"{endpoint}{path}", data=body, headers=headers or {})
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    signer(Credentials(key, secret), service, "us-east-1").add_auth(request)
    return dict(request.headers.items())


def send(
    endpoint: str,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    sign_as: str | None = None,
    key: str = "testing",
    secret: str = "testing",
    host: str | None = None,
) -> Answer:
    """One request; ``sign_as`` signs it for that service, ``host`` replaces the Host header (after
    signing, as DNS rebinding would)."""
    headers = dict(headers or {})
    if sign_as is not None:
        headers = signed_headers(
            endpoint, method, path, service=sign_as, body=body, headers=headers, key=key, secret=secret
        )
    if host is not None:
        headers = {k: v for k, v in headers.items() if k.lower() != "host"}
        headers["Host"] = host
    parts = urlsplit(endpoint)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        connection.putrequest(method, path, skip_host="host" in {k.lower() for k in headers})
        for name, value in headers.items():
            connection.putheader(name, value)
        if body and "content-length" not in {k.lower() for k in headers}:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()
