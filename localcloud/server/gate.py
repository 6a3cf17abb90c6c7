"""What every request must show before any service sees it: only the developer's own clients
drive localcloud, never a web page they happen to have open.

localcloud runs code (a Lambda function is a program on the developer's machine), and a browser
will send a ``Content-Type: text/plain`` POST to ``http://127.0.0.1:4566`` from any page without
asking first. So, in this order:

1. **Host** must name the endpoint: ``127.0.0.1:<port>``, ``localhost:<port>`` or
   ``<bucket>.localhost:<port>`` (S3's virtual-hosted style). A page that rebinds its own name to
   127.0.0.1 (DNS rebinding) still sends its name, and is refused.
2. **Origin**, when a request has one (browsers send it on every cross-origin request that could
   change something), must be one given with ``--allow-origin``; none is by default. A
   cross-site request without Origin (``Sec-Fetch-Site: cross-site``) is refused too, unless it
   is the developer following a link (``Sec-Fetch-Mode: navigate``). CORS answers name the
   allowed origin itself, never ``*``.
3. **A SigV4 signature** on every AWS API request: an ``Authorization`` header or presigned query
   parameters. Any access key does by default (as with any offline emulator); with
   ``--verify-signatures`` the signature must be right for a key of the keys file
   (``keys.KeyStore``). localcloud's control routes (``/_localcloud/...``) are not AWS APIs and
   take no signature; writes to them must be ``Content-Type: application/json``, which no page
   can send without a CORS preflight.

A refusal is an AWS error, HTTP 403, in the protocol the client spoke, naming the reason; it is
logged once per distinct reason (a page retrying in a loop does not flood the log), without the
request's query string, body or credentials.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from dataclasses import dataclass, field

from localcloud.server import sigv4
from localcloud.server.errors import AwsError, error_class
from localcloud.server.keys import KeyStore

log = logging.getLogger("localcloud.gate")

DOCS = "docs/localcloud.md#what-localcloud-refuses"
_LOGGED_LIMIT = 1000  # distinct refusals remembered for logging once (then counted only)

# Headers a browser app may read from localcloud's answers (CORS for --allow-origin only).
EXPOSED_HEADERS = (
    "x-amzn-RequestId, x-amzn-ErrorType, x-amz-request-id, x-amz-id-2, x-amz-version-id, "
    "x-amz-delete-marker, x-amz-function-error, x-amz-log-result, x-amz-executed-version, "
    "ETag, Content-Length, Date"
)
_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")

# Each refusal's error code in each protocol family (AWS's own codes), all answered with 403.
_CODES: dict[str, dict[str, str]] = {
    "host": {"json": "AccessDeniedException", "query": "AccessDenied", "rest-xml": "AccessDenied"},
    "origin": {"json": "AccessDeniedException", "query": "AccessDenied", "rest-xml": "AccessDenied"},
    "cross-site": {"json": "AccessDeniedException", "query": "AccessDenied", "rest-xml": "AccessDenied"},
    "content-type": {"json": "AccessDeniedException", "query": "AccessDenied", "rest-xml": "AccessDenied"},
    "unsigned": {
        "json": "MissingAuthenticationTokenException",
        "query": "MissingAuthenticationToken",
        "rest-xml": "AccessDenied",
    },
    "malformed-signature": {
        "json": "IncompleteSignatureException",
        "query": "IncompleteSignature",
        "rest-xml": "AuthorizationHeaderMalformed",
    },
    "unknown-key": {
        "json": "UnrecognizedClientException",
        "query": "InvalidClientTokenId",
        "rest-xml": "InvalidAccessKeyId",
    },
    "bad-signature": {
        "json": "InvalidSignatureException",
        "query": "SignatureDoesNotMatch",
        "rest-xml": "SignatureDoesNotMatch",
    },
    "expired": {
        "json": "InvalidSignatureException",
        "query": "SignatureDoesNotMatch",
        "rest-xml": "AccessDenied",
    },
}


class Refused(Exception):
    """A request localcloud will not serve: ``kind`` names the rule, ``detail`` the offending value
    (a host, an origin) when there is one, ``reason`` is the sentence the client reads."""

    def __init__(self, kind: str, reason: str, *, detail: str = "") -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.detail = detail

    def error(self, protocol: str) -> AwsError:
        family = "json" if protocol in ("json", "rest-json", "smithy-rpc-v2-cbor") else protocol
        family = "query" if family == "ec2" else family
        code = _CODES[self.kind].get(family, _CODES[self.kind]["json"])
        return error_class(code, 403)(f"localcloud refused the request: {self.reason}. See {DOCS}")


@dataclass
class Gate:
    port: int
    allowed_origins: frozenset[str] = frozenset()
    keys: KeyStore | None = None  # None: any key is accepted (the signature's shape is checked)
    refusals: dict[str, int] = field(default_factory=dict)
    _logged: set[tuple[str, str]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def verifies(self) -> bool:
        return self.keys is not None

    # -- 1 and 2: who is asking -----------------------------------------------------------------
    def check_caller(self, headers: dict[str, str]) -> None:
        host = headers.get("host", "").strip().lower()
        if not self._host_allowed(host):
            raise Refused(
                "host",
                f"the Host header {host or '(none)'!r} does not name this endpoint "
                f"(127.0.0.1:{self.port} or localhost:{self.port}); requests for any other name are "
                "refused, so that a web page rebinding its own name to 127.0.0.1 cannot reach it",
                detail=host,
            )
        origin = headers.get("origin")
        if origin is not None and origin not in self.allowed_origins:
            raise Refused(
                "origin",
                f"requests from web pages are refused, and this one came from {origin!r}; to let a web "
                f"app you trust call localcloud, start it with --allow-origin {origin}",
                detail=origin,
            )
        if (
            origin is None
            and headers.get("sec-fetch-site") in ("cross-site", "same-site")
            and headers.get("sec-fetch-mode") != "navigate"
        ):
            raise Refused(
                "cross-site",
                "a web page on another site sent this request (Sec-Fetch-Site: "
                f"{headers.get('sec-fetch-site')}); requests from web pages are refused",
                detail=headers.get("sec-fetch-site", ""),
            )

    def _host_allowed(self, host: str) -> bool:
        name, _, port = host.rpartition(":")
        if port != str(self.port):
            return False
        return name in ("127.0.0.1", "localhost") or name.endswith(".localhost")

    def allowed_origin(self, headers: dict[str, str]) -> str | None:
        origin = headers.get("origin")
        return origin if origin is not None and origin in self.allowed_origins else None

    # -- 3: signatures ----------------------------------------------------------------------------
    def read_signature(self, headers: dict[str, str], query: dict[str, list[str]]) -> sigv4.Signature:
        try:
            return sigv4.read_signature(headers, query)
        except sigv4.SignatureProblem as problem:
            raise Refused("unsigned" if problem.missing else "malformed-signature", str(problem)) from None

    def verify(
        self,
        signature: sigv4.Signature,
        *,
        method: str,
        raw_path: str,
        raw_query: str,
        header_list: list[tuple[str, str]],
        payload_hash: str,
        now: dt.datetime | None = None,
    ) -> None:
        """Check the signature against the keys (``--verify-signatures`` only)."""
        if self.keys is None:
            return
        secret = self.keys.secret(signature.access_key)
        if secret is None:
            raise Refused(
                "unknown-key",
                "the access key of the signature is not one localcloud accepts: with --verify-signatures "
                f"it accepts the keys of {self.keys.path or 'its keys file'}",
            )
        now = now or dt.datetime.now(dt.UTC)
        signed_at = signature.signed_at()
        if signature.version == 2:
            if now > signed_at:
                raise Refused("expired", "the presigned request has expired")
            if not sigv4.matches_v2(
                secret, signature, method=method, raw_path=raw_path, raw_query=raw_query, headers=header_list
            ):
                raise Refused(
                    "bad-signature",
                    "the request signature we calculated does not match the signature you provided; "
                    "check your key and signing method",
                )
            return
        if signature.presigned:
            if signature.expires_seconds is not None and now > signed_at + dt.timedelta(
                seconds=signature.expires_seconds
            ):
                raise Refused("expired", "the presigned request has expired")
        elif abs(now - signed_at) > sigv4.MAX_SKEW:
            raise Refused(
                "expired",
                f"the signature was made at {signature.amz_date}, more than 15 minutes from now "
                "(check this machine's clock)",
            )
        canonical = sigv4.canonical_request(
            method=method,
            raw_path=raw_path,
            raw_query=raw_query,
            header_list=header_list,
            signature=signature,
            payload_hash=payload_hash,
        )
        if not sigv4.matches(secret, signature, canonical):
            raise Refused(
                "bad-signature",
                "the request signature we calculated does not match the signature you provided; "
                "check your key and signing method",
            )

    # -- bookkeeping -------------------------------------------------------------------------------
    def record(self, refusal: Refused, *, method: str, path: str) -> None:
        """Count a refusal; log it the first time this rule refuses this value."""
        key = (refusal.kind, refusal.detail)
        with self._lock:
            self.refusals[refusal.kind] = self.refusals.get(refusal.kind, 0) + 1
            first = key not in self._logged and len(self._logged) < _LOGGED_LIMIT
            if first:
                self._logged.add(key)
        if first:
            log.warning(
                "refused %s %s (%s): %s [logged once; /_localcloud/health counts refusals]",
                method,
                path[:200],
                refusal.kind,
                refusal.reason,
            )

    def preflight_headers(self, origin: str, headers: dict[str, str]) -> dict[str, str]:
        """The answer to an allowed origin's CORS preflight: that origin, the method and headers it
        asked for (each a plain token), never ``*``."""
        method = headers.get("access-control-request-method", "")
        asked = [h.strip() for h in headers.get("access-control-request-headers", "").split(",") if h.strip()]
        answer = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": method if _TOKEN.match(method) else "GET",
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        }
        allowed = [h for h in asked if _TOKEN.match(h)]
        if allowed:
            answer["Access-Control-Allow-Headers"] = ", ".join(allowed)
        if headers.get("access-control-request-private-network") == "true":
            answer["Access-Control-Allow-Private-Network"] = "true"
        return answer

    @staticmethod
    def response_cors_headers(origin: str | None) -> list[tuple[bytes, bytes]]:
        if origin is None:
            return []
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
            (b"vary", b"Origin"),
        ]


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


def check_origin(origin: str) -> str:
    """An --allow-origin value as browsers send it (``scheme://host[:port]``, no path, no ``*``);
    raises ValueError saying what is wrong."""
    value = origin.strip().rstrip("/")
    if value == "*" or "*" in value:
        raise ValueError("--allow-origin takes one origin, never a wildcard: localcloud runs code")
    if not _ORIGIN.match(value):
        raise ValueError(
            f"--allow-origin {origin!r} is not an origin: write scheme://host[:port], e.g. http://localhost:3000"
        )
    return value
