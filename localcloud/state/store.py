"""The store every localcloud service keeps its state in.

One SQLite database in WAL mode with ``synchronous=NORMAL``: every committed write is in the WAL
before the call returns, so killing the server (SIGKILL) loses nothing that was committed; only a
power cut could lose the last transactions, which is not a failure localcloud guards against.

Two shapes cover what the services hold:

- a ``Collection`` of JSON documents by key (functions, schedules, state machines, executions,
  map runs ...), written whole;
- an ``EventLog``: append-only numbered events per stream (an execution's history), read forwards
  or backwards from a position, which is what GetExecutionHistory pages over.

Services get named collections/logs (``store.collection("lambda.functions")``) and group writes
that must land together in ``with store.transaction():``. The store is thread-safe: one
connection behind a re-entrant lock (SQLite serialises writers anyway, and the writes are small).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    key        TEXT NOT NULL,
    doc        TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (collection, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    log    TEXT NOT NULL,
    stream TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    event  TEXT NOT NULL,
    PRIMARY KEY (log, stream, seq)
) WITHOUT ROWID;
"""

Document = dict[str, Any]


class Store:
    """A SQLite-backed store. ``Store(None)`` keeps everything in memory (unit tests)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(
            ":memory:" if path is None else str(path),
            check_same_thread=False,
            isolation_level=None,  # explicit BEGIN/COMMIT below
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(_SCHEMA)

    def collection(self, name: str) -> Collection:
        return Collection(self, name)

    def log(self, name: str) -> EventLog:
        return EventLog(self, name)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes so they land together (re-entrant: inner blocks join the outer one)."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._conn.execute("COMMIT")

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            if self.path is not None:
                # Fold the WAL back into the database file so a clean stop leaves one file.
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()


class Collection:
    """JSON documents by key."""

    def __init__(self, store: Store, name: str) -> None:
        self._store = store
        self.name = name

    def put(self, key: str, doc: Document) -> None:
        self.put_text(key, json.dumps(doc, separators=(",", ":")))

    def put_text(self, key: str, text: str) -> None:
        """A document already encoded as JSON (``get`` parses it back)."""
        self._store.execute(
            "INSERT INTO documents (collection, key, doc, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (collection, key) DO UPDATE SET doc = excluded.doc, "
            "updated_at = excluded.updated_at",
            (self.name, key, text, time.time()),
        )

    def get(self, key: str) -> Document | None:
        rows = self._store.execute(
            "SELECT doc FROM documents WHERE collection = ? AND key = ?", (self.name, key)
        )
        return json.loads(rows[0][0]) if rows else None

    def delete(self, key: str) -> bool:
        with self._store.transaction():
            existed = bool(
                self._store.execute(
                    "SELECT 1 FROM documents WHERE collection = ? AND key = ?", (self.name, key)
                )
            )
            self._store.execute("DELETE FROM documents WHERE collection = ? AND key = ?", (self.name, key))
        return existed

    def items(self, prefix: str = "") -> list[tuple[str, Document]]:
        """Every (key, document) whose key starts with ``prefix``, in key order."""
        rows = self._store.execute(
            "SELECT key, doc FROM documents WHERE collection = ? AND substr(key, 1, ?) = ? ORDER BY key",
            (self.name, len(prefix), prefix),
        )
        return [(key, json.loads(doc)) for key, doc in rows]

    def values(self, prefix: str = "") -> list[Document]:
        return [doc for _, doc in self.items(prefix)]

    def __len__(self) -> int:
        rows = self._store.execute("SELECT count(*) FROM documents WHERE collection = ?", (self.name,))
        return int(rows[0][0])


class EventLog:
    """Append-only, numbered (1, 2, ...) events per stream."""

    def __init__(self, store: Store, name: str) -> None:
        self._store = store
        self.name = name

    def append(self, stream: str, *events: Document) -> list[int]:
        """Append events; returns their sequence numbers."""
        with self._store.transaction():
            last = self.length(stream)
            seqs = []
            for offset, event in enumerate(events, start=1):
                self._store.execute(
                    "INSERT INTO events (log, stream, seq, event) VALUES (?, ?, ?, ?)",
                    (self.name, stream, last + offset, json.dumps(event, separators=(",", ":"))),
                )
                seqs.append(last + offset)
        return seqs

    def read(
        self, stream: str, *, after: int | None = None, limit: int | None = None, reverse: bool = False
    ) -> list[tuple[int, Document]]:
        """Events past position ``after`` (exclusive; in reverse order: before it), oldest first
        unless ``reverse``."""
        clauses = ["log = ?", "stream = ?"]
        params: list[Any] = [self.name, stream]
        if after is not None:
            clauses.append("seq < ?" if reverse else "seq > ?")
            params.append(after)
        sql = (
            f"SELECT seq, event FROM events WHERE {' AND '.join(clauses)} "
            f"ORDER BY seq {'DESC' if reverse else 'ASC'}"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [(seq, json.loads(event)) for seq, event in self._store.execute(sql, tuple(params))]

    def length(self, stream: str) -> int:
        rows = self._store.execute(
            "SELECT coalesce(max(seq), 0) FROM events WHERE log = ? AND stream = ?", (self.name, stream)
        )
        return int(rows[0][0])

    def delete_stream(self, stream: str) -> None:
        self._store.execute("DELETE FROM events WHERE log = ? AND stream = ?", (self.name, stream))
