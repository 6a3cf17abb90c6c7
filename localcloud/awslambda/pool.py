"""Worker processes: one pool per function, warm workers reused, concurrency capped.

Each worker is ``python -m localcloud.awslambda.worker`` started with exactly the function's
environment (its variables plus the standard ones Lambda sets, the endpoint and fake
credentials), never the server's. A worker runs one invocation at a time; the pool keeps idle
workers warm for reuse and starts another when all are busy, up to the function's reserved
concurrency (past it: TooManyRequestsException, as Lambda throttles) and the account's limit.

Timeouts are enforced from outside: when the function's Timeout passes, the worker is killed and
the invocation reported as Lambda reports it (``Sandbox.Timedout``, "Task timed out after 3.00
seconds"). A worker that dies mid-invocation is reported as ``Runtime.ExitError``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localcloud.awslambda import code as code_packages
from localcloud.awslambda.exceptions import TooManyRequestsException
from localcloud.awslambda.logs import LogShipper
from localcloud.awslambda.models import LATEST, FunctionRecord

log = logging.getLogger("localcloud.lambda")

_PROTOCOL_LIMIT = 16 * 1024 * 1024  # one JSON line carries up to a 6 MB payload
INIT_SECONDS = 10.0  # Lambda's on-demand init limit
LOG_TAIL_BYTES = 4096


@dataclass(frozen=True)
class Invocation:
    request_id: str
    payload: bytes
    invoked_arn: str
    client_context: dict[str, Any] | None = None


@dataclass(frozen=True)
class InvokeResult:
    payload: bytes
    function_error: str | None = None  # "Unhandled" when the function failed
    log_tail: str = ""  # the invocation's last 4 KB of log, for LogType=Tail

    @property
    def error_type(self) -> str | None:
        if self.function_error is None:
            return None
        try:
            return str(json.loads(self.payload).get("errorType"))
        except (ValueError, AttributeError):
            return None


@dataclass(frozen=True)
class Environment:
    """What every worker gets besides the function's own variables."""

    endpoint_url: str
    region: str
    credentials: dict[str, str]


def _iso_now() -> str:
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _trace_id() -> str:
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled=0;Lineage=1"


class Worker:
    """One execution environment: a process running the function's handler."""

    def __init__(self, fn: FunctionRecord, env: Environment, logs: LogShipper) -> None:
        self.fn = fn
        self._env = env
        self._logs = logs
        now = dt.datetime.now(dt.UTC)
        self.log_stream = f"{now:%Y/%m/%d}/[{LATEST}]{secrets.token_hex(16)}"
        self.fingerprint = code_packages.fingerprint(fn.code)
        self.process: asyncio.subprocess.Process | None = None
        self.idle_since = time.monotonic()
        self.invocations = 0
        self._stderr_task: asyncio.Task[None] | None = None
        self._lines: list[str] = []
        self._reports: dict[str, asyncio.Event] = {}

    def environment(self) -> dict[str, str]:
        fn = self.fn
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": fn.code.path,
            "LAMBDA_RUNTIME_DIR": sys.prefix,
            "AWS_ENDPOINT_URL": self._env.endpoint_url,
            **fn.environment,
            # Set by Lambda itself (reserved: a function cannot override them).
            "_HANDLER": fn.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": fn.name,
            "AWS_LAMBDA_FUNCTION_VERSION": LATEST,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": fn.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": self._env.region,
            "AWS_DEFAULT_REGION": self._env.region,
            "AWS_ACCESS_KEY_ID": self._env.credentials["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": self._env.credentials["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": self._env.credentials["aws_session_token"],
        }
        return env

    async def start(self) -> dict[str, Any]:
        """Start the process and wait for its init: ``{"type": "ready"|"init_error", ...}``."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-s",
            "-m",
            "localcloud.awslambda.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=self.fn.code.path,
            env=self.environment(),
            limit=_PROTOCOL_LIMIT,
        )
        self._stderr_task = asyncio.create_task(self._read_logs(), name=f"lambda-logs-{self.fn.name}")
        init_limit = max(INIT_SECONDS, float(self.fn.timeout))
        try:
            message = await asyncio.wait_for(self._read_reply(), timeout=init_limit)
        except TimeoutError:
            await self.kill()
            return {"type": "init_timeout"}
        if message is None:
            await self.kill()
            return {"type": "init_error", "error": self._exit_error("")}
        return message

    async def invoke(self, invocation: Invocation, deadline_ms: int) -> dict[str, Any] | None:
        """Send one invocation; its reply, or None when the process died."""
        assert self.process is not None and self.process.stdin is not None
        self._lines = []
        self._reports[invocation.request_id] = asyncio.Event()
        message = {
            "request_id": invocation.request_id,
            "payload": invocation.payload.decode("utf-8", errors="replace"),
            "deadline_ms": deadline_ms,
            "invoked_function_arn": invocation.invoked_arn,
            "client_context": invocation.client_context,
            "trace_id": _trace_id(),
        }
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        await self.process.stdin.drain()
        reply = await self._read_reply()
        if reply is not None:
            # The REPORT line was written before the reply: wait for the log reader to reach it,
            # so the invocation's log tail is complete and in order.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reports[invocation.request_id].wait(), timeout=1.0)
        self._reports.pop(invocation.request_id, None)
        self.invocations += 1
        return reply

    def log_tail(self) -> str:
        text = "".join(line + "\n" for line in self._lines).encode()
        return base64.b64encode(text[-LOG_TAIL_BYTES:]).decode()

    def write_log(self, line: str) -> None:
        self._lines.append(line)
        self._logs.emit(self.fn.log_group, self.log_stream, line)

    async def kill(self) -> None:
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        if self._stderr_task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._stderr_task, timeout=2)

    async def retire(self) -> None:
        """End an idle worker gracefully: closing stdin ends its request loop."""
        process = self.process
        if process is not None and process.returncode is None and process.stdin is not None:
            process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), timeout=2)
            except TimeoutError:
                await self.kill()
        if self._stderr_task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._stderr_task, timeout=2)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def _exit_error(self, request_id: str) -> dict[str, Any]:
        code = self.process.returncode if self.process is not None else None
        status = f"signal: {_signal_name(-code)}" if code is not None and code < 0 else f"exit status {code}"
        prefix = f"RequestId: {request_id} " if request_id else ""
        return {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"{prefix}Error: Runtime exited with error: {status}",
        }

    async def _read_reply(self) -> dict[str, Any] | None:
        assert self.process is not None and self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            await self.process.wait()
            return None
        reply: dict[str, Any] = json.loads(line)
        return reply

    async def _read_logs(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        stream = self.process.stderr
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line longer than the limit: take what there is
                raw = await stream.read(_PROTOCOL_LIMIT)
            if not raw:
                return
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            self.write_log(line)
            if line.startswith("REPORT RequestId: "):
                request_id = line.split()[2]
                event = self._reports.get(request_id)
                if event is not None:
                    event.set()


def _signal_name(number: int) -> str:
    import signal  # noqa: PLC0415

    try:
        return {"SIGKILL": "killed", "SIGTERM": "terminated", "SIGSEGV": "segmentation fault"}.get(
            signal.Signals(number).name, signal.Signals(number).name
        )
    except ValueError:
        return str(number)


class ConcurrencyLimit:
    """The account's concurrency (Lambda's default quota is 1,000)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0


def default_max_workers() -> int:
    """How many worker processes one function may have at once on this machine."""
    configured = os.environ.get("LOCALCLOUD_LAMBDA_MAX_WORKERS")
    if configured:
        return max(1, int(configured))
    return max(4, 2 * (os.cpu_count() or 1))


class FunctionPool:
    """The warm workers of one function and how many invocations run now.

    Two limits, on purpose different. Concurrency (reserved, or the account's) is Lambda's: past
    it an invocation is throttled with TooManyRequestsException, as on AWS. Worker processes are
    this machine's: AWS would start hundreds of execution environments, but a laptop cannot, so
    at most ``max_workers`` processes run per function and further invocations wait for one
    (their Timeout counts from when a worker takes them). A Distributed Map fanning out 240 batches
    on two cores then runs them a few at a time instead of starting 240 Python processes.
    """

    def __init__(
        self,
        fn: FunctionRecord,
        *,
        env: Environment,
        logs: LogShipper,
        account: ConcurrencyLimit,
        worker_factory: Callable[[FunctionRecord], Worker] | None = None,
        max_workers: int | None = None,
    ) -> None:
        self.fn = fn
        self._env = env
        self._logs = logs
        self._account = account
        self._factory = worker_factory or (lambda record: Worker(record, env, logs))
        self.max_workers = max_workers or default_max_workers()
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._live = 0  # worker processes starting, busy or idle
        self._changed = asyncio.Condition()  # a slot or a worker was freed
        self._in_flight = 0  # invocations holding a concurrency slot (waiting, starting or running)
        self.cold_starts = 0
        self._retiring: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> int:
        return self._in_flight

    @property
    def warm(self) -> int:
        return len(self._idle)

    @property
    def processes(self) -> int:
        return self._live

    async def reconfigure(self, fn: FunctionRecord) -> None:
        """New code or configuration: warm workers go; busy ones finish, then go."""
        changed = fn.runtime_identity() != self.fn.runtime_identity()
        self.fn = fn
        if changed:
            await self.retire_idle()

    async def retire_idle(self, older_than: float | None = None) -> None:
        now = time.monotonic()
        async with self._changed:
            retire = [w for w in self._idle if older_than is None or now - w.idle_since > older_than]
            self._idle = [w for w in self._idle if w not in retire]
            self._live -= len(retire)
            self._changed.notify_all()
        await asyncio.gather(*(worker.retire() for worker in retire))

    async def shutdown(self) -> None:
        await self.retire_idle()
        await asyncio.gather(*(worker.kill() for worker in list(self._busy)))

    async def invoke(self, invocation: Invocation, *, wait_for_slot: bool = False) -> InvokeResult:
        await self._acquire(wait_for_slot)
        worker: Worker | None = None
        try:
            taken = await self._take_worker()
            if isinstance(taken, InvokeResult):  # the init failed
                return taken
            worker = taken
            return await self._run(worker, invocation)
        finally:
            await self._release(worker)

    async def _acquire(self, wait: bool) -> None:
        async with self._changed:
            while True:
                reserved = self.fn.reserved_concurrency
                if reserved is not None and self._in_flight >= reserved:
                    reason = "ReservedFunctionConcurrentInvocationLimitExceeded"
                elif self._account.in_use >= self._account.limit:
                    reason = "ConcurrentInvocationLimitExceeded"
                else:
                    break
                if not wait or reserved == 0:
                    raise TooManyRequestsException("Rate Exceeded.", Reason=reason)
                await self._changed.wait()
            self._in_flight += 1
            self._account.in_use += 1

    def _reusable(self, worker: Worker) -> bool:
        """Alive and started from the function's current configuration. Whether its code is still
        current is checked when an invocation takes it (``_take_worker``): that walks a source
        folder, once per invocation."""
        return worker.alive and worker.fn.runtime_identity() == self.fn.runtime_identity()

    def _retire_later(self, worker: Worker) -> None:
        task = asyncio.create_task(worker.retire())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _release(self, worker: Worker | None) -> None:
        async with self._changed:
            self._in_flight -= 1
            self._account.in_use -= 1
            if worker is not None:
                self._busy.discard(worker)
                if self._reusable(worker):
                    worker.idle_since = time.monotonic()
                    self._idle.append(worker)
                else:
                    self._live -= 1
                    self._retire_later(worker)
            self._changed.notify_all()

    async def _take_worker(self) -> Worker | InvokeResult:
        # The code as the invocation found it, once (a folder is walked): not at every wake-up while
        # it waits for a worker, where each worker freed woke every waiting invocation to walk the
        # folder again on the event loop (7% of the endpoint's CPU during a 1,000-customer backfill).
        current = code_packages.fingerprint(self.fn.code)
        async with self._changed:
            while True:
                stale_workers = [w for w in self._idle if not self._reusable(w) or w.fingerprint != current]
                for stale in stale_workers:
                    self._idle.remove(stale)
                    self._live -= 1
                    self._retire_later(stale)
                if self._idle:
                    worker = self._idle.pop()
                    self._busy.add(worker)
                    return worker
                if self._live < self.max_workers:
                    self._live += 1
                    break
                await self._changed.wait()
        worker = self._factory(self.fn)
        self.cold_starts += 1
        started = await worker.start()
        if started["type"] == "ready":
            async with self._changed:
                self._busy.add(worker)
            return worker
        await worker.kill()
        async with self._changed:
            self._live -= 1
            self._changed.notify_all()
        if started["type"] == "init_timeout":
            return self._timeout_result(worker, "", init=True)
        error = started["error"]
        return InvokeResult(
            payload=json.dumps(error).encode(), function_error="Unhandled", log_tail=worker.log_tail()
        )

    async def _run(self, worker: Worker, invocation: Invocation) -> InvokeResult:
        timeout = float(self.fn.timeout)
        deadline_ms = int((time.time() + timeout) * 1000)
        try:
            reply = await asyncio.wait_for(worker.invoke(invocation, deadline_ms), timeout=timeout)
        except TimeoutError:
            await worker.kill()
            return self._timeout_result(worker, invocation.request_id)
        if reply is None:
            error = worker._exit_error(invocation.request_id)
            worker.write_log(
                f"{_iso_now()} {invocation.request_id} {error['errorMessage']} {error['errorType']}"
            )
            worker.write_log(f"END RequestId: {invocation.request_id}")
            worker.write_log(
                f"REPORT RequestId: {invocation.request_id}\tStatus: error\tError Type: Runtime.ExitError"
            )
            return InvokeResult(json.dumps(error).encode(), "Unhandled", worker.log_tail())
        if reply.get("ok"):
            return InvokeResult(str(reply["payload"]).encode(), None, worker.log_tail())
        return InvokeResult(json.dumps(reply["error"]).encode(), "Unhandled", worker.log_tail())

    def _timeout_result(self, worker: Worker, request_id: str, *, init: bool = False) -> InvokeResult:
        timeout = float(self.fn.timeout)
        if init:
            timeout = max(INIT_SECONDS, timeout)
        worker.write_log(f"{_iso_now()} {request_id} Task timed out after {timeout:.2f} seconds")
        if request_id:
            worker.write_log(f"END RequestId: {request_id}")
            worker.write_log(
                f"REPORT RequestId: {request_id}\tDuration: {timeout * 1000:.2f} ms\tBilled Duration: "
                f"{int(timeout * 1000)} ms\tMemory Size: {self.fn.memory_size} MB\tStatus: timeout"
            )
        error = {
            "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
            "errorType": "Sandbox.Timedout",
        }
        return InvokeResult(json.dumps(error).encode(), "Unhandled", worker.log_tail())
