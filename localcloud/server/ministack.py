"""MiniStack, composed in-process: the storage services (S3, DynamoDB with PartiQL, Glue, IAM,
STS, CloudWatch Logs), CloudFormation with the services a CDK stack and its bootstrap stack use
besides (KMS, SNS, CloudWatch alarms, SSM parameters, ECR repositories), behind localcloud's
endpoint.

MiniStack reads its settings from environment variables when its modules are imported, so
``configure()`` sets them first and only then is ``ministack.app`` imported. What we set, and why:

- ``SERVICES``: only the services the project uses answer. A request that names another service
  never reaches MiniStack (``unsupported`` answers it in the client's protocol); an unsigned one
  MiniStack cannot place gets its bare "Unsupported service" JSON.
- ``SFTP_ENABLED=0``, ``IOT_MTLS_ENABLED=0``: MiniStack's extra listeners (SFTP, an MQTT broker on
  0.0.0.0:8883) stay off. Besides, localcloud never runs MiniStack's ASGI lifespan, which is what
  starts them, along with its EventBridge and Scheduler firing loops and its Docker reaper.
- ``PERSIST_STATE``/``STATE_DIR`` and ``S3_PERSIST``/``S3_DATA_DIR``: state under the home folder.
  S3 writes object bodies to disk as they arrive; the other services' state is a JSON snapshot per
  service in MiniStack's own format. ``MiniStack`` below journals DynamoDB's item writes and
  flushes the journal every second; it snapshots a service (in a forked child) when something the
  journal does not hold changed, and DynamoDB when its journal has grown as large as its snapshot.
  DynamoDB's number checks answer from a cache per number text (``dynamodb_numbers``).

MiniStack's own Lambda, Step Functions, Athena, Scheduler and EventBridge modules are replaced
by guards before anything can import them: localcloud serves those APIs itself, and a MiniStack
code path reaching its own copy (an S3 notification to Lambda, say) fails loudly instead of
running a second, different implementation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import threading
import time
import types
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from localcloud.server import dynamodb_journal, dynamodb_numbers, snapshot
from localcloud.server.journal import COMPACT_MIN_BYTES, Journal

log = logging.getLogger("localcloud.ministack")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# signing name -> MiniStack module (whose name is also its persistence key)
MINISTACK_SERVICES: dict[str, str] = {
    "s3": "s3",
    "dynamodb": "dynamodb",
    "glue": "glue",
    "iam": "iam",
    "sts": "sts",
    "logs": "cloudwatch_logs",
    "cloudformation": "cloudformation",
    "ssm": "ssm",
    "kms": "kms",
    "sns": "sns",
    "monitoring": "cloudwatch",
    "ecr": "ecr",
}

# CloudFormation provisions resources of every other service in a task that runs after its request
# has answered, so its requests mark every service dirty (its clients poll DescribeStacks until the
# stack settles: the save after the last poll holds everything the operation made).
_CHANGES_EVERY_SERVICE = "cloudformation"

# MiniStack modules whose APIs localcloud serves itself (or, for the firing loops, never wants).
REPLACED_MODULES = (
    "lambda_svc",
    "lambda_durable",
    "stepfunctions",
    "athena",
    "scheduler",
    "eventbridge",
    "pipes",
)

# The daemon threads MiniStack's lifespan starts to fire its own schedules and rules
# (``ministack.services.scheduler.start_scheduler`` and ``...eventbridge.start_scheduler``, by these
# names in the pinned version). localcloud never runs that lifespan and never imports those modules.
FIRING_THREAD_NAMES = ("evb-scheduler-ticker", "eb-scheduler")

_READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Query", "Scan", "BatchGet", "Search", "Filter", "Test")

SAVE_INTERVAL_SECONDS = 1.0
SNAPSHOT_TIMEOUT_SECONDS = 600.0


class ReplacedByLocalcloud(AttributeError):
    """Raised on any use of a MiniStack module that localcloud replaces (an AttributeError, so
    ``hasattr`` probes stay harmless)."""


class _Guard(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise ReplacedByLocalcloud(
            f"{self.__name__} is not available inside localcloud: localcloud serves this API itself"
        )


def settings(home: Path | None, *, port: int, region: str, account_id: str) -> dict[str, str]:
    """The environment MiniStack must see at import."""
    env = {
        "SERVICES": ",".join(MINISTACK_SERVICES),
        "SFTP_ENABLED": "0",
        "IOT_MTLS_ENABLED": "0",
        "GATEWAY_PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "MINISTACK_REGION": region,
        "MINISTACK_ACCOUNT_ID": account_id,
        "AUTH": "false",
        "CLOUDTRAIL_RECORDING": "0",
        "MINISTACK_TEST_NO_AUTOSTART": "1",
        # No Docker daemon is ever consulted (Glue jobs and the like are not served).
        "DOCKER_HOST": "unix:///nonexistent/localcloud-has-no-docker.sock",
        "LOG_LEVEL": os.environ.get("LOCALCLOUD_MINISTACK_LOG_LEVEL", "WARNING"),
        "PERSIST_STATE": "0" if home is None else "1",
        "S3_PERSIST": "0" if home is None else "1",
    }
    if home is not None:
        env["STATE_DIR"] = str(home / "ministack" / "state")
        env["S3_DATA_DIR"] = str(home / "ministack" / "s3")
    return env


def configure(home: Path | None, *, port: int, region: str, account_id: str) -> None:
    """Set MiniStack's environment and install the guards. Must run before MiniStack is imported."""
    if "ministack.app" in sys.modules or "ministack.core.persistence" in sys.modules:
        raise RuntimeError(
            "MiniStack was imported before localcloud configured it; its settings would be ignored"
        )
    os.environ.update(settings(home, port=port, region=region, account_id=account_id))
    if home is not None:
        (home / "ministack" / "state").mkdir(parents=True, exist_ok=True)
        (home / "ministack" / "s3").mkdir(parents=True, exist_ok=True)
    for module in REPLACED_MODULES:
        sys.modules[f"ministack.services.{module}"] = _Guard(f"ministack.services.{module}")


def own_machinery() -> dict[str, list[str]]:
    """What of MiniStack's replaced machinery this process holds (``/_localcloud/health`` shows it):
    the modules that are localcloud's guards (MiniStack's own never imported, so nothing in them can
    start) and MiniStack's schedule- and rule-firing threads that are running (none, ever)."""
    return {
        "replaced_modules": sorted(
            module
            for module in REPLACED_MODULES
            if isinstance(sys.modules.get(f"ministack.services.{module}"), _Guard)
        ),
        "firing_threads": sorted(t.name for t in threading.enumerate() if t.name in FIRING_THREAD_NAMES),
    }


def is_mutation(method: str, headers: dict[str, str]) -> bool:
    if method in ("GET", "HEAD", "OPTIONS"):
        return False
    target = headers.get("x-amz-target", "")
    if target:
        operation = target.rsplit(".", 1)[-1]
        return not operation.startswith(_READ_ONLY_PREFIXES)
    return True


class SnapshotFailed(RuntimeError):
    pass


class MiniStack:
    """MiniStack's ASGI app plus the persistence localcloud runs for it.

    DynamoDB item writes go to the journal (``localcloud.server.journal``), made durable at each
    flush; every other change makes its service dirty, and a flush snapshots the dirty services in
    a forked child (``localcloud.server.snapshot``) and waits for it. DynamoDB's own snapshot is
    taken in the background once the journal has grown as large as it (a compaction). Snapshots run
    in two lanes, DynamoDB's and the others', one child at a time in each: a slow compaction of a
    large table never holds up a flush of, say, CloudWatch Logs.
    """

    def __init__(self, *, persist: bool) -> None:
        import ministack.app as ministack_app  # noqa: PLC0415 - only after configure()
        from ministack.core import persistence  # noqa: PLC0415

        self._app = ministack_app.app
        self._ministack_app = ministack_app
        self._persistence = persistence
        self.persist = persist
        self._dirty: set[str] = set()
        self._saver: asyncio.Task[None] | None = None
        self._compaction: asyncio.Task[None] | None = None
        self._journal: Journal | None = None
        self._unhook: Callable[[], None] | None = None
        self._journal_lock: asyncio.Lock | None = None
        self._lanes: dict[str, asyncio.Lock] = {}
        self.stats: dict[str, Any] = {
            "snapshots": {"dynamodb": 0, "others": 0},
            "snapshot_failures": 0,
            "last_snapshot_pause_seconds": 0.0,
            "last_snapshot_seconds": 0.0,
            "journal_replayed": 0,
        }
        self.last_save_seconds = 0.0
        # Import the services now: S3 loads its persisted objects at import.
        self._modules = {key: ministack_app._get_module(module) for key, module in MINISTACK_SERVICES.items()}
        dynamodb_numbers.install(self._modules["dynamodb"])

    @property
    def state_dir(self) -> Path:
        return Path(self._persistence.STATE_DIR)

    async def start(self) -> None:
        # Worker threads inside MiniStack (Glue, say) call handlers back through this loop.
        self._ministack_app._MAIN_LOOP = asyncio.get_running_loop()
        self._journal_lock = asyncio.Lock()
        self._lanes = {"dynamodb": asyncio.Lock(), "others": asyncio.Lock()}
        if not self.persist:
            return
        snapshot.remove_stale_staging(self.state_dir)
        for module_name in set(MINISTACK_SERVICES.values()):
            data = self._persistence.load_state(module_name)
            if data:
                self._ministack_app._get_module(module_name).load_persisted_state(data)
        dynamodb = self._modules["dynamodb"]
        journal = Journal(self.state_dir / "journal" / "dynamodb", compact_min_bytes=_compact_min_bytes())
        began = time.perf_counter()
        applied, skipped = journal.replay(dynamodb_journal.replayer(dynamodb))
        if applied or skipped:
            log.info(
                "replayed %d DynamoDB item writes from the journal in %.1f s (%d of tables since deleted)",
                applied,
                time.perf_counter() - began,
                skipped,
            )
        self.stats["journal_replayed"] = applied
        self._journal = journal
        self._unhook = dynamodb_journal.install(dynamodb, journal, lambda: self._dirty.add("dynamodb"))
        self._saver = asyncio.create_task(self._save_periodically(), name="ministack-persistence")

    async def stop(self) -> None:
        for task in (self._saver, self._compaction):
            if task is not None:
                task.cancel()  # a compaction in progress: its child is killed, the journal stays
                with contextlib.suppress(asyncio.CancelledError, SnapshotFailed):
                    await task
        if self.persist:
            # Anything MiniStack changed without a request (none known) is saved too; DynamoDB's
            # items are in the journal, so its snapshot is taken only when something else changed.
            self._dirty.update(key for key in MINISTACK_SERVICES if key != "dynamodb")
            await self.save()
        if self._unhook is not None:
            self._unhook()

    def mark_dirty(self, signing_name: str | None, method: str, headers: dict[str, str]) -> None:
        if not self.persist:
            return
        if signing_name == _CHANGES_EVERY_SERVICE:
            self._dirty.update(MINISTACK_SERVICES)
            return
        if not is_mutation(method, headers):
            return
        if signing_name == "dynamodb" and _operation(headers) in dynamodb_journal.JOURNALED_OPERATIONS:
            return  # its writes are journaled as they happen
        if signing_name in MINISTACK_SERVICES:
            self._dirty.add(signing_name)
        else:
            self._dirty.update(MINISTACK_SERVICES)  # unsigned (anonymous S3 ...): save everything

    async def save(self) -> None:
        """Make everything MiniStack holds durable: the journal written and synced, then the dirty
        services snapshotted (each lane one child at a time, so a newer snapshot never loses to an
        older one). Step Functions' checkpoints and the periodic save both call it."""
        if not self.persist or self._journal is None:
            return
        assert self._journal_lock is not None
        async with self._journal_lock:  # lines go to disk in the order they were recorded
            segment, text = self._journal.take_pending()
            await asyncio.to_thread(self._journal.write, segment, text)
        dirty, self._dirty = self._dirty, set()
        lanes = []
        if "dynamodb" in dirty:
            lanes.append(self._snapshot("dynamodb", ["dynamodb"]))
        others = sorted(dirty - {"dynamodb"})
        if others:
            lanes.append(self._snapshot("others", others))
        results = await asyncio.gather(*lanes, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            self._dirty |= dirty  # try again next time
            raise failed[0]

    async def settle(self) -> None:
        """:meth:`save`, then wait for the snapshots already under way (the periodic save may have
        taken the dirty services a moment before): once this returns, a SIGKILL loses nothing
        done before the call. ``POST /_localcloud/checkpoint`` uses it; a flush does not wait (a
        stalled snapshot child must not hold the Step Functions checkpoints)."""
        await self.save()
        for lane in self._lanes.values():
            async with lane:
                pass

    async def _snapshot(self, lane: str, keys: list[str]) -> None:
        journal = self._journal
        assert journal is not None
        async with self._lanes[lane]:
            modules = {MINISTACK_SERVICES[key]: self._modules[key] for key in keys}
            staging = self.state_dir / f"{snapshot.STAGING_PREFIX}{lane}-{uuid.uuid4().hex}"
            began = time.perf_counter()
            # No await between these two: every journal line taken after the rotation was recorded
            # after the fork, so the segments up to ``covered`` are all in this snapshot.
            covered = journal.rotate() if lane == "dynamodb" else None
            pid = snapshot.fork(modules, self._persistence, staging)
            self.last_save_seconds = self.stats["last_snapshot_pause_seconds"] = time.perf_counter() - began
            try:
                code = await _wait_child(pid, SNAPSHOT_TIMEOUT_SECONDS)
                if code != 0:
                    raise SnapshotFailed(
                        f"the snapshot of {', '.join(modules)} failed (exit {code}); see the log"
                    )
                await asyncio.to_thread(snapshot.install, staging, self.state_dir, list(modules))
                if covered is not None:
                    await asyncio.to_thread(journal.drop_through, covered)
            except BaseException:
                self.stats["snapshot_failures"] += 1
                await asyncio.to_thread(shutil.rmtree, staging, True)
                raise
            self.stats["snapshots"][lane] += 1
            self.stats["last_snapshot_seconds"] = round(time.perf_counter() - began, 3)

    def _compact_if_due(self) -> None:
        journal = self._journal
        previous = self._compaction
        if journal is None or (previous is not None and not previous.done()):
            return
        if previous is not None and not previous.cancelled() and previous.exception() is not None:
            log.error("compacting the DynamoDB journal failed (the journal stays): %s", previous.exception())
        snapshot_file = self.state_dir / "dynamodb.json"
        size = snapshot_file.stat().st_size if snapshot_file.exists() else 0
        if journal.needs_compaction(size):
            self._compaction = asyncio.create_task(
                self._snapshot("dynamodb", ["dynamodb"]), name="journal-compaction"
            )

    async def _save_periodically(self) -> None:
        while True:
            await asyncio.sleep(SAVE_INTERVAL_SECONDS)
            try:
                await self.save()
                self._compact_if_due()
            except Exception:
                log.exception("saving MiniStack's state failed; will retry")

    def storage(self) -> dict[str, Any]:
        """What ``/_localcloud/health`` shows of persistence."""
        journal = self._journal
        return {
            **self.stats,
            "journal_bytes": journal.size if journal is not None else 0,
            "compacting": self._compaction is not None and not self._compaction.done(),
            "snapshotting": sorted(lane for lane, lock in self._lanes.items() if lock.locked()),
            "dirty": sorted(self._dirty),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def _operation(headers: dict[str, str]) -> str:
    return headers.get("x-amz-target", "").rsplit(".", 1)[-1]


def _compact_min_bytes() -> int:
    return int(os.environ.get("LOCALCLOUD_JOURNAL_COMPACT_BYTES", str(COMPACT_MIN_BYTES)))


async def _wait_child(pid: int, timeout: float) -> int:
    """The child's exit code, polled without a thread (cancellable: the child is then killed)."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() > deadline:
                raise SnapshotFailed(f"the snapshot child {pid} ran past {timeout:.0f} s")
            await asyncio.sleep(0.02)
    except BaseException:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        raise
