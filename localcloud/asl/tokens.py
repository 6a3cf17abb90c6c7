"""Task tokens for the ``.waitForTaskToken`` pattern: issued when such a Task starts (so
``$$.Task.Token`` can be sent out), answered by SendTaskSuccess / SendTaskFailure /
SendTaskHeartbeat through the host. The waiting side (the integration, part B) sleeps on the
execution's clock with ``TaskRequest.sleep(seconds, wake=waiter.event)``."""

from __future__ import annotations

import base64
import datetime as dt
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class InvalidToken(LookupError):
    pass


class TaskTimedOut(LookupError):
    pass


@dataclass
class TokenWaiter:
    token: str
    execution_arn: str
    event: threading.Event = field(default_factory=threading.Event)
    output: Any = None
    error: str | None = None
    cause: str | None = None
    succeeded: bool = False
    last_heartbeat: dt.datetime | None = None
    closed: bool = False


class TaskTokens:
    """Every token a host issued and is still waiting on."""

    def __init__(self) -> None:
        self._waiters: dict[str, TokenWaiter] = {}
        self._lock = threading.Lock()
        # Called with each new waiter. Under a virtual clock an answer from a thread outside the
        # execution would come too late (time jumps to the task's timeout when every participant
        # waits), so tests answer here, from inside.
        self.on_issue: Callable[[TokenWaiter], None] | None = None

    def issue(self, execution_arn: str) -> TokenWaiter:
        token = base64.urlsafe_b64encode(os.urandom(48)).decode("ascii")
        waiter = TokenWaiter(token, execution_arn)
        with self._lock:
            self._waiters[token] = waiter
        return waiter

    def announce(self, waiter: TokenWaiter) -> None:
        """The waiting integration calls this once the token has been sent out."""
        if self.on_issue is not None:
            self.on_issue(waiter)

    def waiter(self, token: str) -> TokenWaiter:
        with self._lock:
            waiter = self._waiters.get(token)
        if waiter is None:
            raise InvalidToken(f"Invalid Token: '{token[:20]}...'")
        return waiter

    def close(self, token: str) -> None:
        with self._lock:
            waiter = self._waiters.pop(token, None)
        if waiter is not None:
            waiter.closed = True

    def _open(self, token: str) -> TokenWaiter:
        waiter = self.waiter(token)
        if waiter.closed or waiter.event.is_set():
            raise TaskTimedOut("Task Timed Out: the task token is no longer valid")
        return waiter

    def succeed(self, token: str, output: Any) -> None:
        waiter = self._open(token)
        waiter.output = output
        waiter.succeeded = True
        waiter.event.set()

    def fail(self, token: str, error: str | None, cause: str | None) -> None:
        waiter = self._open(token)
        waiter.error = error
        waiter.cause = cause
        waiter.event.set()

    def heartbeat(self, token: str, now: dt.datetime) -> None:
        self._open(token).last_heartbeat = now
