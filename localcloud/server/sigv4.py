"""AWS Signature Version 4, server side: read a request's signature, and check it against a secret.

A signed request carries it in the ``Authorization`` header
(``AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=...,
Signature=<64 hex>``) or, presigned, in the query (``X-Amz-Algorithm``, ``X-Amz-Credential``,
``X-Amz-Date``, ``X-Amz-SignedHeaders``, ``X-Amz-Signature``). :func:`read_signature` parses either
form; :func:`expected_signature` recomputes it as the SigV4 specification says (the canonical
request, the string to sign, the derived signing key), so a signature made by boto3, the AWS CLI or
an AWS SDK for JavaScript matches when, and only when, it was made with the same secret.

The canonical URI follows botocore: S3 signs the path as sent; every other service signs it with
dot segments removed and each segment percent-encoded once more.

S3 URLs presigned the older way (``AWSAccessKeyId``, ``Signature``, ``Expires``: what boto3's
``generate_presigned_url`` makes for S3 unless told ``signature_version="s3v4"``) are read too,
and checked as S3 checks them (HMAC-SHA1 over botocore's canonical string).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, unquote, urlsplit

from botocore.auth import HmacV1Auth
from botocore.awsrequest import HTTPHeaders
from botocore.credentials import Credentials
from botocore.utils import normalize_url_path

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_SKEW = dt.timedelta(minutes=15)  # AWS refuses requests signed more than 15 minutes away
MAX_PRESIGN_SECONDS = 7 * 24 * 3600

_HEADER = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
_CREDENTIAL = re.compile(
    r"^(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request$"
)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


class SignatureProblem(ValueError):
    """Why a request's signature cannot be read (no signature, or not SigV4's shape)."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class Signature:
    access_key: str
    date: str  # YYYYMMDD of the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str  # YYYYMMDDTHHMMSSZ
    presigned: bool
    expires_seconds: int | None = None
    version: int = 4  # 2: an S3 URL presigned with AWSAccessKeyId/Signature/Expires

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"

    def signed_at(self) -> dt.datetime:
        return dt.datetime.strptime(self.amz_date, _AMZ_DATE).replace(tzinfo=dt.UTC)


def read_signature(headers: dict[str, str], query: dict[str, list[str]]) -> Signature:
    """The request's SigV4 signature; raises SignatureProblem when it has none or a malformed one."""
    authorization = headers.get("authorization")
    if authorization is not None:
        found = _HEADER.match(authorization.strip())
        if not found:
            raise SignatureProblem(
                "the Authorization header is not an AWS Signature Version 4 header "
                "(AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...)"
            )
        amz_date = headers.get("x-amz-date", "")
        return _signature(found["credential"], found["signed"], found["signature"], amz_date, presigned=False)
    if "X-Amz-Signature" in query or "X-Amz-Algorithm" in query:
        params = {name: values[0] for name, values in query.items() if name.startswith("X-Amz-") and values}
        if params.get("X-Amz-Algorithm") != ALGORITHM:
            raise SignatureProblem(f"a presigned request must say X-Amz-Algorithm={ALGORITHM}")
        missing = [
            name
            for name in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")
            if not params.get(name)
        ]
        if missing:
            raise SignatureProblem(f"the presigned request lacks {', '.join(missing)}")
        if not re.fullmatch(r"[0-9a-f]{64}", params["X-Amz-Signature"]):
            raise SignatureProblem("X-Amz-Signature is not 64 hexadecimal digits")
        expires = params.get("X-Amz-Expires")
        if expires is not None and not (expires.isdigit() and 1 <= int(expires) <= MAX_PRESIGN_SECONDS):
            raise SignatureProblem(f"X-Amz-Expires must be between 1 and {MAX_PRESIGN_SECONDS} seconds")
        return _signature(
            params["X-Amz-Credential"],
            params["X-Amz-SignedHeaders"],
            params["X-Amz-Signature"],
            params["X-Amz-Date"],
            presigned=True,
            expires=int(expires) if expires else None,
        )
    if {"AWSAccessKeyId", "Signature", "Expires"} <= set(query):
        expires = query["Expires"][0]
        if not expires.isdigit():
            raise SignatureProblem("Expires of a presigned S3 URL is seconds since the epoch")
        when = dt.datetime.fromtimestamp(int(expires), dt.UTC).strftime(_AMZ_DATE)
        return Signature(
            access_key=query["AWSAccessKeyId"][0],
            date=when[:8],
            region="",
            service="s3",
            signed_headers=(),
            signature=query["Signature"][0],
            amz_date=when,
            presigned=True,
            version=2,
        )
    raise SignatureProblem(
        "the request is not signed: AWS APIs need an AWS Signature Version 4 Authorization header "
        "or presigned query parameters",
        missing=True,
    )


def _signature(
    credential: str,
    signed: str,
    signature: str,
    amz_date: str,
    *,
    presigned: bool,
    expires: int | None = None,
) -> Signature:
    scope = _CREDENTIAL.match(credential)
    if not scope:
        raise SignatureProblem("the credential is not AKID/YYYYMMDD/region/service/aws4_request")
    try:
        dt.datetime.strptime(amz_date, _AMZ_DATE)
    except ValueError:
        raise SignatureProblem(
            "the request has no X-Amz-Date (YYYYMMDDTHHMMSSZ) to check its signature against"
        ) from None
    names = tuple(signed.lower().split(";"))
    if "host" not in names:
        raise SignatureProblem("SignedHeaders must include host")
    return Signature(
        access_key=scope["key"],
        date=scope["date"],
        region=scope["region"],
        service=scope["service"],
        signed_headers=names,
        signature=signature,
        amz_date=amz_date,
        presigned=presigned,
        expires_seconds=expires,
    )


def canonical_query(raw_query: str, *, presigned: bool) -> str:
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name, value = unquote(name), unquote(value)
        if presigned and name == "X-Amz-Signature":
            continue
        pairs.append((quote(name, safe="-_.~"), quote(value, safe="-_.~")))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def canonical_uri(raw_path: str, service: str) -> str:
    if service == "s3":
        return raw_path or "/"
    return quote(normalize_url_path(raw_path or "/"), safe="/~")


def canonical_request(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    header_list: list[tuple[str, str]],
    signature: Signature,
    payload_hash: str,
) -> str:
    values: dict[str, list[str]] = {}
    for name, value in header_list:
        values.setdefault(name.lower(), []).append(" ".join(value.split()))
    lines = [f"{name}:{','.join(values.get(name, []))}" for name in sorted(signature.signed_headers)]
    return "\n".join(
        [
            method.upper(),
            canonical_uri(raw_path, signature.service),
            canonical_query(raw_query, presigned=signature.presigned),
            "\n".join(lines) + "\n",
            ";".join(sorted(signature.signed_headers)),
            payload_hash,
        ]
    )


def string_to_sign(signature: Signature, request_digest: str) -> str:
    return "\n".join([ALGORITHM, signature.amz_date, signature.scope, request_digest])


def signing_key(secret: str, signature: Signature) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (signature.date, signature.region, signature.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def expected_signature(secret: str, signature: Signature, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return hmac.new(
        signing_key(secret, signature), string_to_sign(signature, digest).encode(), hashlib.sha256
    ).hexdigest()


def matches(secret: str, signature: Signature, canonical: str) -> bool:
    return hmac.compare_digest(expected_signature(secret, signature, canonical), signature.signature)


def matches_v2(
    secret: str,
    signature: Signature,
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
) -> bool:
    """An S3 URL presigned with signature version 2: HMAC-SHA1 of S3's canonical string (the
    method, Content-MD5, Content-Type, the Expires time, the x-amz- headers, the resource)."""
    auth = HmacV1Auth(Credentials(signature.access_key, secret))
    http_headers = HTTPHeaders()
    for name, value in headers:
        http_headers[name] = value
    values = {name: value.strip() for name, value in headers}
    expires = str(int(signature.signed_at().timestamp()))
    lines = [method.upper(), values.get("content-md5", ""), values.get("content-type", ""), expires]
    custom = auth.canonical_custom_headers(cast(Any, http_headers))
    if custom:
        lines.append(custom)
    lines.append(auth.canonical_resource(urlsplit(f"{raw_path}?{raw_query}")))
    digest = hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha1).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), signature.signature)
