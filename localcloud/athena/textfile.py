"""Athena's text format, turned into input DuckDB reads without surprises.

Hadoop's line reader (which Athena's text tables use) ends a line at LF, CRLF or a lone CR, and
``skip.header.line.count`` drops that many lines at the start of every file. A blank line is a
record whose fields are all missing, so it reads as a row of NULLs. DuckDB's CSV reader would
skip blank lines and auto-detects one line ending per file, so each object goes through this
byte-level pre-pass (a few ``bytes.replace`` calls: no row is parsed in Python) first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable


def normalise(data: bytes, *, skip_header_lines: int, null_marker: bytes) -> bytes:
    """One object's bytes as LF-terminated lines, header lines removed, blank lines as ``null_marker``.

    The result is empty or ends with LF, so the results of several objects can be concatenated.
    """
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    for _ in range(skip_header_lines):
        end = data.find(b"\n")
        if end < 0:
            return b""
        data = data[end + 1 :]
    if not data:
        return b""
    if not data.endswith(b"\n"):
        data += b"\n"
    if data.startswith(b"\n"):
        data = b"\n" + data
    if b"\n\n" in data:
        # Each blank line becomes a line holding only the NULL marker: one row, every column NULL.
        while b"\n\n" in data:
            data = data.replace(b"\n\n", b"\n" + null_marker + b"\n")
    if data.startswith(b"\n"):
        data = data[1:]
    return data


class TextCache:
    """Normalised object texts kept between queries, least recently used first out past ``budget`` bytes.

    A pipeline's queries read the same objects again and again (a day's validation and its month
    query read the month; the next day's read it again). The key holds the object's ETag, which
    changes with its content, and the table's header and NULL settings the text was normalised
    with; a store that gives no ETag is never cached.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._texts: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            text = self._texts.get(key)
            if text is not None:
                self._texts.move_to_end(key)
            return text

    def put(self, key: Hashable, text: bytes) -> None:
        if len(text) > self.budget:
            return
        with self._lock:
            previous = self._texts.pop(key, None)
            self._size += len(text) - (len(previous) if previous is not None else 0)
            self._texts[key] = text
            while self._size > self.budget:
                _, dropped = self._texts.popitem(last=False)
                self._size -= len(dropped)
