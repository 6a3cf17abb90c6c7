"""localcloud's own durable state: a SQLite store (WAL) that survives SIGKILL of the server."""

from __future__ import annotations

from localcloud.state.store import Collection, EventLog, Store

__all__ = ["Collection", "EventLog", "Store"]
