"""An append-only journal of the DynamoDB item writes made since MiniStack's last snapshot.

Why: MiniStack persists a service by copying its whole state, so keeping 1 M items durable meant a
29 s deep copy on the event loop and a 300 MB JSON file written again every few seconds. The
journal records each item write as it happens, as one JSON line holding the item's full new value
(or its deletion), and makes the lines durable (write + fsync) at each flush: a cost proportional
to what changed, not to what is held. MiniStack's own snapshot of DynamoDB is taken rarely, when
the journal has grown as large as the snapshot (``needs_compaction``), in a forked child
(``localcloud.server.snapshot``); the segments the snapshot covers are then deleted.

Files, under ``<state>/journal/dynamodb/``: numbered segments ``0000000042.jsonl``. A flush appends
to the current segment; a snapshot starts the next one (``rotate``) at the instant it forks, and
once it is on disk, removes the segments up to the one it covers (``drop_through``). At start, every
segment left is replayed in order over the loaded snapshot.

Lines: ``["put", table_id, pk, sk, item]``, ``["delete", table_id, pk, sk]`` and ``["reset",
table_id]`` (the table's items replaced wholesale; its new items follow as puts). Each holds the
whole value, never a change to apply, so replaying a segment the snapshot already holds is
harmless: replay from any point at or before the snapshot ends at the same state. That is what
lets a crash between writing a snapshot and removing its segments lose nothing. Tables are named
by their ``TableId``, unique to one CreateTable: lines of a table deleted (or deleted and created
again) since are skipped. A torn last line (a crash in the middle of a write) is ignored.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("localcloud.journal")

# A snapshot is due when the journal holds at least this much, and at least the snapshot's size
# (so snapshots cost, amortised, about as much as the journal they replace).
COMPACT_MIN_BYTES = 64 * 1024 * 1024
SUFFIX = ".jsonl"

Entry = list[Any]


def _segment_name(number: int) -> str:
    return f"{number:010d}{SUFFIX}"


class Journal:
    def __init__(self, folder: Path, *, compact_min_bytes: int = COMPACT_MIN_BYTES) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.compact_min_bytes = compact_min_bytes
        self._lock = threading.Lock()  # item writes are recorded from any thread (the TTL reaper)
        self._pending: list[str] = []
        self._pending_bytes = 0
        numbers = self.segments()
        self.current = (numbers[-1] + 1) if numbers else 1  # each run starts a segment of its own
        self.bytes_on_disk = sum((folder / _segment_name(n)).stat().st_size for n in numbers)

    # -- recording (the event loop, or any thread) ------------------------------------------------
    def record(self, entry: Entry) -> None:
        line = json.dumps(entry, separators=(",", ":"), ensure_ascii=False) + "\n"
        with self._lock:
            self._pending.append(line)
            self._pending_bytes += len(line)

    @property
    def size(self) -> int:
        """Bytes the journal holds: on disk plus recorded and not yet written."""
        return self.bytes_on_disk + self._pending_bytes

    def needs_compaction(self, snapshot_bytes: int) -> bool:
        return self.size >= max(self.compact_min_bytes, snapshot_bytes)

    # -- flushing and rotating (one at a time: the caller serialises them) ------------------------
    def take_pending(self) -> tuple[int, str]:
        """The lines recorded so far, and the segment they go to (taken on the event loop)."""
        with self._lock:
            lines, self._pending, self._pending_bytes = self._pending, [], 0
        return self.current, "".join(lines)

    def write(self, segment: int, text: str) -> None:
        """Append ``text`` to ``segment`` and make it durable (called off the event loop)."""
        if not text:
            return
        data = text.encode()
        with (self.folder / _segment_name(segment)).open("ab") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        self.bytes_on_disk += len(data)

    def rotate(self) -> int:
        """Start the next segment; returns the last one a snapshot taken now covers."""
        covered, self.current = self.current, self.current + 1
        return covered

    def drop_through(self, covered: int) -> None:
        """Remove the segments a snapshot on disk now holds."""
        for number in self.segments():
            if number <= covered:
                path = self.folder / _segment_name(number)
                size = path.stat().st_size
                path.unlink()
                self.bytes_on_disk -= size

    # -- replaying (at start, before anything is served) ------------------------------------------
    def segments(self) -> list[int]:
        return sorted(int(p.stem) for p in self.folder.glob(f"*{SUFFIX}") if p.stem.isdigit())

    def entries(self) -> Iterator[Entry]:
        for number in self.segments():
            path = self.folder / _segment_name(number)
            with path.open("rb") as handle:
                for line in handle:
                    if not line.endswith(b"\n"):
                        log.warning(
                            "%s ends with a partly written line (a crash while writing it); ignored", path
                        )
                        break
                    yield json.loads(line)

    def replay(self, apply: Callable[[Entry], bool]) -> tuple[int, int]:
        """Apply every entry in order; returns (applied, skipped: their table is gone)."""
        applied = skipped = 0
        for entry in self.entries():
            if apply(entry):
                applied += 1
            else:
                skipped += 1
        return applied, skipped
