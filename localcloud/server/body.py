"""Request bodies with bounded memory.

A body is read to the end before any service sees it: up to :data:`SPOOL_THRESHOLD` in memory,
past it into an anonymous temporary file (``tempfile.SpooledTemporaryFile``), never past the
limit of the API it is for. A body over the limit is read to the end and thrown away as it
arrives (so the client, which is still sending, gets the error instead of a broken connection),
then refused with the API's own error.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]

SPOOL_THRESHOLD = 1024 * 1024


class BodyTooLarge(Exception):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the request body is {size} bytes, more than the {limit} allowed")
        self.size = size
        self.limit = limit


class ClientGone(Exception):
    """The client disconnected before its body was complete."""


class Body:
    """A whole request body: its size, its SHA-256 when asked for, its bytes on demand."""

    def __init__(self, *, digest: bool) -> None:
        self._file: Any = tempfile.SpooledTemporaryFile(max_size=SPOOL_THRESHOLD)  # noqa: SIM115 - closed by close()
        self._hash = hashlib.sha256() if digest else None
        self.size = 0

    def _write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        if self._hash is not None:
            self._hash.update(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        if self._hash is None:
            self._hash = hashlib.sha256()
            self._file.seek(0)
            while chunk := self._file.read(SPOOL_THRESHOLD):
                self._hash.update(chunk)
        return self._hash.hexdigest()

    def read(self) -> bytes:
        self._file.seek(0)
        data: bytes = self._file.read()
        return data

    def close(self) -> None:
        self._file.close()

    @classmethod
    def of(cls, data: bytes) -> Body:
        body = cls(digest=False)
        body._write(data)
        return body


async def read_body(
    receive: Receive, *, limit: int, declared: int | None, digest: bool = False, drain_excess: bool = True
) -> Body:
    """The whole body; raises BodyTooLarge past ``limit``, after draining what the client sends
    (``drain_excess=False``: a client that said ``Expect: 100-continue`` has sent nothing yet)."""
    if declared is not None and declared > limit:
        if drain_excess:
            await drain(receive)
        raise BodyTooLarge(declared, limit)
    body = Body(digest=digest)
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            if chunk:
                if body.size + len(chunk) > limit:
                    size = body.size + len(chunk)
                    if message.get("more_body"):
                        size += await drain(receive)
                    raise BodyTooLarge(size, limit)
                body._write(chunk)
            if not message.get("more_body"):
                return body
    except BaseException:
        body.close()
        raise


async def drain(receive: Receive) -> int:
    """Read and discard the rest of a body; returns how many bytes were thrown away."""
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return size
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            return size


def replay(data: bytes, receive: Receive) -> Receive:
    """An ASGI ``receive`` that gives ``data`` as the whole body in one message (an app joining
    chunks then holds one copy, not two), then waits on the client as the original would."""
    sent = False

    async def again() -> MutableMapping[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": data, "more_body": False}
        return await receive()

    return again
