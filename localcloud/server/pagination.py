"""Opaque ``nextToken`` values for the list operations of localcloud's services.

A token names the operation it belongs to and the position to continue from, base64-encoded
so callers treat it as opaque (as AWS's are). A token from another operation, or one that does
not decode, is refused by the caller with the service's own error (``InvalidToken`` for Step
Functions, ``InvalidRequestException`` for Athena).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any, TypeVar

_T = TypeVar("_T")


class BadToken(ValueError):
    pass


def encode_token(scope: str, position: Any) -> str:
    raw = json.dumps({"s": scope, "p": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_token(scope: str, token: str) -> Any:
    """The position a token holds; raises :class:`BadToken` when it is not one of ``scope``'s."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, UnicodeError) as exc:
        raise BadToken(f"Invalid token: {token[:40]}") from exc
    if not isinstance(data, dict) or data.get("s") != scope or "p" not in data:
        raise BadToken(f"Invalid token: {token[:40]}")
    return data["p"]


def page(items: Sequence[_T], scope: str, token: str | None, limit: int) -> tuple[list[_T], str | None]:
    """One page of ``items`` (a stable order) from the offset ``token`` holds, and the next token."""
    start = 0
    if token:
        start = decode_token(scope, token)
        if not isinstance(start, int) or start < 0:
            raise BadToken(f"Invalid token: {token[:40]}")
    chunk = list(items[start : start + limit])
    following = start + limit
    return chunk, encode_token(scope, following) if following < len(items) else None
