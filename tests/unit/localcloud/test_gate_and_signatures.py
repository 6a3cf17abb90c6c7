"""The gate's rules and the server-side SigV4 check, against signatures botocore itself makes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from localcloud.server import sigv4
from localcloud.server.gate import Gate, Refused, check_origin
from localcloud.server.keys import KeyPair, KeyStore, ensure_keys_file, read_pairs
from localcloud.server.limits import LAMBDA_ZIP_REQUEST, body_limit
from localcloud.server.operations import operation_name

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
OWN = KeyPair("LCRUNOWN", "own-secret")


def _signed(service: str, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None):
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    (S3SigV4Auth if service == "s3" else SigV4Auth)(
        Credentials("AKIDEXAMPLE", SECRET), service, "us-east-1"
    ).add_auth(request)
    return request


def _check(gate: Gate, request: AWSRequest, body: bytes = b"", payload_hash: str | None = None) -> None:
    parts = urlsplit(request.url)
    headers = {k.lower(): v for k, v in request.headers.items()}
    signature = gate.read_signature(headers, {})
    payload = headers.get("x-amz-content-sha256") or payload_hash or sigv4.hashlib.sha256(body).hexdigest()
    gate.verify(
        signature,
        method=request.method,
        raw_path=parts.path,
        raw_query=parts.query,
        header_list=[("host", parts.netloc), *headers.items()],
        payload_hash=payload,
    )


@pytest.fixture
def gate(tmp_path: Path) -> Gate:
    keys = tmp_path / "credentials"
    keys.write_text(f"[dev]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = {SECRET}\n")
    return Gate(port=4566, keys=KeyStore(keys, own=OWN))


@pytest.mark.parametrize(
    ("service", "method", "path", "body", "headers"),
    [
        ("dynamodb", "POST", "/", b'{"TableName": "t"}', {"X-Amz-Target": "DynamoDB_20120810.DescribeTable"}),
        ("lambda", "POST", "/2015-03-31/functions/my%3Afn/invocations", b"{}", {}),
        ("lambda", "GET", "/2015-03-31/functions/?MaxItems=5&Marker=a%2Bb%20c", b"", {}),
        ("s3", "PUT", "/bucket/a%20b/c%2Bd/../e.txt", b"data", {"Content-Type": "text/csv"}),
        ("s3", "GET", "/bucket?list-type=2&prefix=iot%2Fyear%3D2024&delimiter=%2F", b"", {}),
        ("s3", "POST", "/bucket/k?uploads", b"", {}),
    ],
)
def test_signatures_made_by_botocore_verify(gate: Gate, service, method, path, body, headers) -> None:  # noqa: PLR0917
    _check(gate, _signed(service, method, f"http://127.0.0.1:4566{path}", body, headers), body)


def test_a_signature_over_another_body_or_path_does_not_verify(gate: Gate) -> None:
    request = _signed("dynamodb", "POST", "http://127.0.0.1:4566/", b'{"a": 1}')
    with pytest.raises(Refused) as refused:
        _check(gate, request, b'{"a": 2}')
    assert refused.value.kind == "bad-signature"
    request.url = "http://127.0.0.1:4566/other"
    with pytest.raises(Refused):
        _check(gate, request, b'{"a": 1}')


def test_an_old_signature_is_refused_as_expired(gate: Gate) -> None:
    request = _signed("dynamodb", "POST", "http://127.0.0.1:4566/", b"{}")
    headers = {k.lower(): v for k, v in request.headers.items()}
    signature = gate.read_signature(headers, {})
    later = signature.signed_at() + dt.timedelta(minutes=16)
    with pytest.raises(Refused) as refused:
        gate.verify(
            signature,
            method="POST",
            raw_path="/",
            raw_query="",
            header_list=list(headers.items()),
            payload_hash=sigv4.EMPTY_SHA256,
            now=later,
        )
    assert refused.value.kind == "expired"


def test_a_presigned_s3_url_verifies_and_expires(gate: Gate) -> None:
    request = AWSRequest(method="GET", url="http://127.0.0.1:4566/bucket/key.csv")
    S3SigV4QueryAuth(Credentials("AKIDEXAMPLE", SECRET), "s3", "us-east-1", expires=60).add_auth(request)
    parts = urlsplit(request.url)
    from urllib.parse import parse_qs

    signature = gate.read_signature({}, parse_qs(parts.query))
    assert signature.presigned and signature.expires_seconds == 60
    arguments = {
        "method": "GET",
        "raw_path": parts.path,
        "raw_query": parts.query,
        "header_list": [("host", "127.0.0.1:4566")],
        "payload_hash": sigv4.UNSIGNED_PAYLOAD,
    }
    gate.verify(signature, **arguments)
    with pytest.raises(Refused) as refused:
        gate.verify(signature, **arguments, now=signature.signed_at() + dt.timedelta(seconds=61))
    assert refused.value.kind == "expired"


def test_unknown_keys_are_refused_and_the_run_key_accepted(gate: Gate) -> None:
    assert gate.keys is not None
    assert gate.keys.secret("AKIDEXAMPLE") == SECRET
    assert gate.keys.secret(OWN.access_key) == OWN.secret_key
    assert gate.keys.secret("AKIDOTHER") is None


@pytest.mark.parametrize(
    ("headers", "query", "kind"),
    [
        ({}, {}, "unsigned"),
        ({"authorization": "AWS AKID:c2lnbmF0dXJl"}, {}, "malformed-signature"),  # SigV2 headers: not taken
        (
            {
                "authorization": "AWS4-HMAC-SHA256 Credential=AKID/2024/us-east-1/s3/aws4_request, "
                "SignedHeaders=host, Signature=" + "0" * 64,
                "x-amz-date": "20240101T000000Z",
            },
            {},
            "malformed-signature",
        ),
        ({}, {"X-Amz-Algorithm": ["AWS4-HMAC-SHA256"]}, "malformed-signature"),
    ],
)
def test_what_is_not_a_signature(headers, query, kind) -> None:
    with pytest.raises(Refused) as refused:
        Gate(port=1).read_signature(headers, query)
    assert refused.value.kind == kind


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"host": "127.0.0.1:4566"}, True),
        ({"host": "localhost:4566"}, True),
        ({"host": "LOCALHOST:4566"}, True),
        ({"host": "lake.localhost:4566"}, True),
        ({"host": "127.0.0.1:4567"}, False),
        ({"host": "127.0.0.1"}, False),
        ({"host": "evil.example:4566"}, False),
        ({"host": "localhost.evil.example:4566"}, False),
        ({"host": "127.0.0.2:4566"}, False),
        ({}, False),
        ({"host": "127.0.0.1:4566", "origin": "http://localhost:3000"}, False),
        ({"host": "127.0.0.1:4566", "origin": "null"}, False),
        ({"host": "127.0.0.1:4566", "sec-fetch-site": "cross-site", "sec-fetch-mode": "cors"}, False),
        ({"host": "127.0.0.1:4566", "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"}, True),
        ({"host": "127.0.0.1:4566", "sec-fetch-site": "none"}, True),
    ],
)
def test_who_may_call(headers: dict[str, str], allowed: bool) -> None:
    gate = Gate(port=4566)
    if allowed:
        gate.check_caller(headers)
    else:
        with pytest.raises(Refused):
            gate.check_caller(headers)


def test_an_allowed_origin_is_served_with_cors_naming_it() -> None:
    gate = Gate(port=4566, allowed_origins=frozenset({"http://localhost:3000"}))
    headers = {"host": "127.0.0.1:4566", "origin": "http://localhost:3000"}
    gate.check_caller(headers)
    answer = gate.preflight_headers(
        "http://localhost:3000",
        {"access-control-request-method": "PUT", "access-control-request-headers": "x-amz-date, bad header"},
    )
    assert answer["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert answer["Access-Control-Allow-Methods"] == "PUT"
    assert answer["Access-Control-Allow-Headers"] == "x-amz-date"  # only plain header names are echoed


@pytest.mark.parametrize(
    "value", ["*", "http://*.example.com", "localhost:3000", "http://a.example/path", ""]
)
def test_allow_origin_takes_one_origin_never_a_wildcard(value: str) -> None:
    with pytest.raises(ValueError, match="--allow-origin"):
        check_origin(value)
    assert check_origin("http://localhost:3000/") == "http://localhost:3000"


def test_refusals_are_counted_every_time_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    gate = Gate(port=1)
    refusal = Refused("origin", "from a page", detail="http://a.example")
    for _ in range(3):
        gate.record(refusal, method="POST", path="/")
    assert gate.refusals == {"origin": 3}
    assert len([r for r in caplog.records if "from a page" in r.getMessage()]) == 1


def test_refusals_are_403_with_each_protocols_code() -> None:
    refusal = Refused("bad-signature", "no")
    assert [refusal.error(p).code for p in ("json", "rest-json", "query", "rest-xml")] == [
        "InvalidSignatureException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "SignatureDoesNotMatch",
    ]
    assert {refusal.error(p).status for p in ("json", "query", "rest-xml")} == {403}


def test_the_keys_file_is_created_private_with_one_pair(tmp_path: Path) -> None:
    path = ensure_keys_file(tmp_path / "credentials")
    assert path.stat().st_mode & 0o777 == 0o600
    pairs = read_pairs(path)
    assert list(pairs) == ["localcloud"]
    assert ensure_keys_file(path) == path and read_pairs(path) == pairs  # never overwritten


@pytest.mark.parametrize(
    ("service", "method", "path", "query", "headers", "expected"),
    [
        ("s3", "PUT", "/b/k", {}, {}, "PutObject"),
        ("s3", "PUT", "/b/k", {}, {"x-amz-copy-source": "b/j"}, "CopyObject"),
        ("s3", "PUT", "/b/k", {"partNumber": ["1"], "uploadId": ["u"]}, {}, "UploadPart"),
        ("s3", "GET", "/b", {"list-type": ["2"]}, {}, "ListObjectsV2"),
        ("s3", "POST", "/b", {"delete": [""]}, {}, "DeleteObjects"),
        ("s3", "GET", "/", {}, {"host": "lake.localhost:4566"}, "ListObjects"),
        ("lambda", "POST", "/2015-03-31/functions/f/invocations", {}, {}, "Invoke"),
        ("lambda", "PUT", "/2015-03-31/functions/f/code", {}, {}, "UpdateFunctionCode"),
        ("dynamodb", "POST", "/", {}, {"x-amz-target": "DynamoDB_20120810.BatchWriteItem"}, "BatchWriteItem"),
        ("states", "POST", "/", {}, {"x-amz-target": "AWSStepFunctions.StartExecution"}, "StartExecution"),
        ("sts", "POST", "/", {"Action": ["GetCallerIdentity"]}, {}, "GetCallerIdentity"),
    ],
)
def test_the_operation_of_a_request(service, method, path, query, headers, expected) -> None:  # noqa: PLR0917
    assert operation_name(service, method=method, raw_path=path, headers=headers, query=query) == expected


def test_body_limits_are_awss() -> None:
    create = body_limit("lambda", "CreateFunction")
    assert create.max_bytes == LAMBDA_ZIP_REQUEST == 69_905_067
    error = create.error(70_000_000)
    assert (error.code, error.status) == ("RequestEntityTooLargeException", 413)
    assert error.message == "Request must be smaller than 69905067 bytes for the CreateFunction operation"
    assert (
        body_limit("lambda", "Invoke").error(7_000_000).message.endswith("for the InvokeFunction operation")
    )
    assert body_limit("s3", "PutObject").max_bytes == 5 * 1024**3
    assert body_limit("dynamodb", "BatchWriteItem").max_bytes == 16 * 1024 * 1024
    assert body_limit("states", "StartExecution").error(3_000_000).code == "InvalidExecutionInput"
