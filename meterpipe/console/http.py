"""The little HTTP the console needs over ASGI: a request, a response, and the guard that keeps every
page to the developer's own browser.

The guard is localcloud's rule for a local server that can act: a request is answered only when
its ``Host`` is the loopback name or address the console listens on, with its port (no DNS
rebinding); a request that comes from another origin (``Origin`` or ``Sec-Fetch-Site``) is refused,
a top-level navigation excepted (a link followed from elsewhere may open a page, never act); and
every action (a POST) carries the console's CSRF token, which only its own pages hold.
"""

from __future__ import annotations

import hmac
import json
import secrets
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

LOOPBACK_NAMES = ("127.0.0.1", "localhost")
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_BODY_BYTES = 64 * 1024  # forms of a few fields; nothing bigger is ever posted

# No script, style, image or connection from anywhere but the console itself; no framing.
SECURITY_HEADERS = (
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    # same-origin: no referrer leaves the console, and its own forms still send their Origin (with
    # no-referrer, Chromium sends `Origin: null`, which the guard must refuse).
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    ("cross-origin-resource-policy", "same-origin"),
    ("cache-control", "no-store"),
)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes = b""

    @classmethod
    def from_scope(cls, scope: dict[str, Any], body: bytes) -> Request:
        query = urllib.parse.parse_qs(
            scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
        )
        return cls(
            method=str(scope.get("method", "GET")).upper(),
            path=str(scope.get("path", "/")),
            query={key: values[-1] for key, values in query.items()},
            headers={
                name.decode("latin-1").lower(): value.decode("latin-1")
                for name, value in scope.get("headers", [])
            },
            body=body,
        )

    @property
    def form(self) -> dict[str, str]:
        if "application/x-www-form-urlencoded" not in self.headers.get("content-type", ""):
            return {}
        parsed = urllib.parse.parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[-1] for key, values in parsed.items()}

    @property
    def wants_json(self) -> bool:
        return "application/json" in self.headers.get("accept", "")


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode())

    @classmethod
    def json(cls, data: Any, status: int = 200, *, download: str | None = None) -> Response:
        response = cls(status, (json.dumps(data, indent=2) + "\n").encode(), "application/json")
        if download:
            response.headers.append(("content-disposition", f'attachment; filename="{download}"'))
        return response

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(303, b"", "text/plain", [("location", location)])

    def asgi_headers(self) -> list[tuple[bytes, bytes]]:
        headers = [("content-type", self.content_type), ("content-length", str(len(self.body)))]
        headers += list(SECURITY_HEADERS) + self.headers
        return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


@dataclass(frozen=True)
class Guard:
    """Who may talk to the console: its own loopback host and port, its own origin, its token."""

    port: int
    csrf_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset(f"{name}:{self.port}" for name in LOOPBACK_NAMES)

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(f"http://{host}" for host in self.hosts)

    def refusal(self, request: Request) -> str | None:
        """Why the request is refused, or None."""
        host = request.headers.get("host", "")
        if host not in self.hosts:
            return f"Host {host or '(none)'!r} is not this console's ({', '.join(sorted(self.hosts))})"
        origin = request.headers.get("origin")
        navigation = request.method == "GET" and request.headers.get("sec-fetch-mode") == "navigate"
        if origin is not None and origin not in self.origins and not navigation:
            return f"cross-origin request from {origin!r}"
        site = request.headers.get("sec-fetch-site")
        if site == "cross-site" and not navigation:
            return "cross-site request"
        if request.method not in ("GET", "HEAD"):
            if origin is None and site not in (None, "same-origin", "none"):
                return "an action from another site"
            given = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.csrf_token.encode()):
                return "missing or wrong CSRF token: reload the page and try again"
        return None
