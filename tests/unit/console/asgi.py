"""Calling the console's ASGI app in-process, as a server would: one request, the whole answer."""

from __future__ import annotations

import asyncio
import html
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def shown(self) -> str:
        """The text as a browser shows it (entities such as ``&#39;`` read back)."""
        return html.unescape(self.text)

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    app: Any,
    method: str,
    path: str,
    *,
    host: str | None,
    headers: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Answer:
    raw_path, _, query = path.partition("?")
    sent = dict(headers or {})
    if host is not None:
        sent["host"] = host
    body = b""
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        sent["content-type"] = "application/x-www-form-urlencoded"
    scope = {
        "type": "http",
        "method": method,
        "path": urllib.parse.unquote(raw_path),
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in sent.items()],
    }
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in messages if m["type"] == "http.response.start")
    return Answer(
        status=start["status"],
        headers={k.decode(): v.decode() for k, v in start["headers"]},
        body=b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body"),
    )
