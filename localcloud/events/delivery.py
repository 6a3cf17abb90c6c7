"""Delivering matched events to their targets: a durable outbox and one worker thread.

When an event matches a rule, one delivery per target is written to the outbox
(``events.outbox`` in localcloud's store) in the caller's transaction, so an event a service
emits is in the outbox exactly when the state it reports is saved (Step Functions emits at its
checkpoints). The worker takes deliveries in the order they were written and calls each target
(``targets.deliver``); a delivery leaves the outbox once it succeeded or failed for good. So
delivery is asynchronous (it never blocks or fails whoever emitted the event), in order, and at
least once: deliveries left when localcloud stopped or was killed are made at the next start, and
one under way at a SIGKILL is made again.

A failure is logged once with its reason. Throttling, service errors and a connection that fails
are retried (at most :data:`MAX_ATTEMPTS` attempts, a second apart, as localcloud's Scheduler does;
EventBridge retries for up to 24 hours); anything else (no such state machine, a bad input) is not.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from localcloud.events import targets
from localcloud.state import Store

log = logging.getLogger("localcloud.events")

OUTBOX = "events.outbox"
MAX_ATTEMPTS = 3
RETRY_SECONDS = 1.0
_RETRYABLE = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerException",
    }
)

Delivery = dict[str, Any]  # {"rule": arn, "target": Target shape, "event": event}


class Outbox:
    """Deliveries waiting, and the worker that makes them."""

    def __init__(self, store: Store, client: Callable[[str], Any]) -> None:
        self._pending = store.collection(OUTBOX)
        self._client = client
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._sequence = itertools.count()
        self.delivered = 0
        self.failed = 0

    def add(self, deliveries: list[Delivery]) -> None:
        """Write deliveries (inside the caller's transaction, if it has one) and wake the worker,
        which reads them once that transaction has committed (the store serialises it)."""
        for delivery in deliveries:
            self._pending.put(f"{time.time_ns():020d}-{next(self._sequence):09d}", delivery)
        if deliveries:
            self._wake.set()

    def pending(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        self._stopping.clear()
        self._wake.set()  # deliveries left by the last run go first
        self._thread = threading.Thread(target=self._run, name="events-delivery", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the delivery under way; what is left stays for the next start."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait()
            self._wake.clear()
            try:
                self._drain()
            except Exception:  # never let the worker die: the next wake-up tries again
                log.exception("delivering events failed; will retry")
                self._stopping.wait(RETRY_SECONDS)
                self._wake.set()

    def _drain(self) -> None:
        while not self._stopping.is_set():
            batch = self._pending.items()[:100]
            if not batch:
                return
            for key, delivery in batch:
                if self._stopping.is_set():
                    return
                if self._attempt(delivery):
                    self._pending.delete(key)

    def _attempt(self, delivery: Delivery) -> bool:
        """Deliver, retrying what may pass; True when the delivery is done with (made or given up)."""
        target, event = delivery["target"], delivery["event"]
        reason = ""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                started = targets.deliver(target, event, self._client)
            except targets.Undeliverable as exc:
                reason = str(exc)
                break
            except ClientError as exc:
                error = exc.response.get("Error", {})
                reason = f"{error.get('Code', '')}: {error.get('Message', '')}"
                if error.get("Code") not in _RETRYABLE:
                    break
            except (BotoConnectionError, HTTPClientError) as exc:
                reason = str(exc)
            except (BotoCoreError, ValueError, TypeError) as exc:
                reason = str(exc)
                break
            else:
                self.delivered += 1
                log.info(
                    "rule %s delivered event %s (%s) to %s: %s",
                    delivery["rule"],
                    event.get("id"),
                    event.get("detail-type"),
                    target["Arn"],
                    started,
                )
                return True
            if attempt < MAX_ATTEMPTS and self._stopping.wait(RETRY_SECONDS):
                return False  # stopping: the delivery stays in the outbox for the next start
        self.failed += 1
        log.warning(
            "rule %s could not deliver event %s (%s) to target %s (%s): %s",
            delivery["rule"],
            event.get("id"),
            event.get("detail-type"),
            target["Id"],
            target["Arn"],
            reason,
        )
        return True
