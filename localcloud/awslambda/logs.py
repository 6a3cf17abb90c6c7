"""Function logs to CloudWatch Logs, as Lambda writes them: group ``/aws/lambda/<name>``, one
stream per execution environment (worker process) named ``YYYY/MM/DD/[$LATEST]<32 hex>``.

A background thread batches lines (a second's worth while they keep coming) and sends them with
ordinary boto3 calls to the endpoint (CreateLogGroup/CreateLogStream once, then PutLogEvents), so
invocations never wait on logging.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

log = logging.getLogger("localcloud.lambda")

SEND_INTERVAL = 1.0  # seconds between two sends while lines keep coming
_BATCH = 1000


class LogShipper:
    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client
        self._queue: queue.Queue[tuple[str, str, int, str] | None] = queue.Queue()
        self._known_groups: set[str] = set()
        self._known_streams: set[tuple[str, str]] = set()
        self._thread = threading.Thread(target=self._run, name="lambda-logs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def emit(self, group: str, stream: str, message: str, timestamp_ms: int | None = None) -> None:
        self._queue.put((group, stream, timestamp_ms or int(time.time() * 1000), message))

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        pending: list[tuple[str, str, int, str]] = []
        last_sent = float("-inf")
        stopping = False
        while not stopping:
            # A line after a quiet spell goes at once; lines that follow within SEND_INTERVAL wait
            # for it to pass and go together: one PutLogEvents a stream a second under load
            # rather than one a line (each call costs the endpoint a request).
            wait = max(0.0, last_sent + SEND_INTERVAL - time.monotonic()) if pending else None
            try:
                item = self._queue.get(timeout=wait)  # 0: what is there, without waiting
                if item is None:
                    stopping = True
                else:
                    pending.append(item)
                    while len(pending) < _BATCH:
                        more = self._queue.get_nowait()
                        if more is None:
                            stopping = True
                            break
                        pending.append(more)
            except queue.Empty:
                pass
            due = stopping or len(pending) >= _BATCH or time.monotonic() >= last_sent + SEND_INTERVAL
            if pending and due:
                try:
                    self._send(pending)
                except Exception:
                    log.warning(
                        "could not ship %d Lambda log lines to CloudWatch Logs", len(pending), exc_info=True
                    )
                pending = []
                last_sent = time.monotonic()

    def _send(self, items: list[tuple[str, str, int, str]]) -> None:
        client = self._client()
        by_stream: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for group, stream, timestamp, message in items:
            by_stream[(group, stream)].append({"timestamp": timestamp, "message": message})
        for (group, stream), events in by_stream.items():
            if group not in self._known_groups:
                with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                    client.create_log_group(logGroupName=group)
                self._known_groups.add(group)
            if (group, stream) not in self._known_streams:
                with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                    client.create_log_stream(logGroupName=group, logStreamName=stream)
                self._known_streams.add((group, stream))
            events.sort(key=lambda event: event["timestamp"])
            client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)

    def forget_group(self, group: str) -> None:
        """The function was deleted: its group may be recreated."""
        self._known_groups.discard(group)
        self._known_streams = {key for key in self._known_streams if key[0] != group}
