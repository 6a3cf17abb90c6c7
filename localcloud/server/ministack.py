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
  service, which ``MiniStack`` below saves every ~2 s when something changed, and on shutdown.

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
import sys
import threading
import time
import types
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

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

SAVE_INTERVAL_SECONDS = 2.0


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


class MiniStack:
    """MiniStack's ASGI app plus the persistence loop localcloud runs for it."""

    def __init__(self, *, persist: bool) -> None:
        import ministack.app as ministack_app  # noqa: PLC0415 - only after configure()
        from ministack.core import persistence  # noqa: PLC0415

        self._app = ministack_app.app
        self._ministack_app = ministack_app
        self._persistence = persistence
        self.persist = persist
        self._dirty: set[str] = set()
        self._saver: asyncio.Task[None] | None = None
        self._interval = SAVE_INTERVAL_SECONDS
        self.last_save_seconds = 0.0
        self._save_lock: asyncio.Lock | None = None
        # Import the services now: S3 loads its persisted objects at import.
        self._modules = {key: ministack_app._get_module(module) for key, module in MINISTACK_SERVICES.items()}

    async def start(self) -> None:
        # Worker threads inside MiniStack (Glue, say) call handlers back through this loop.
        self._ministack_app._MAIN_LOOP = asyncio.get_running_loop()
        if self.persist:
            for module_name in set(MINISTACK_SERVICES.values()):
                data = self._persistence.load_state(module_name)
                if data:
                    self._ministack_app._get_module(module_name).load_persisted_state(data)
            self._saver = asyncio.create_task(self._save_periodically(), name="ministack-persistence")

    async def stop(self) -> None:
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
        if self.persist:
            self._dirty = set(MINISTACK_SERVICES)
            await self.save()

    def mark_dirty(self, signing_name: str | None, method: str, headers: dict[str, str]) -> None:
        if not self.persist:
            return
        if signing_name == _CHANGES_EVERY_SERVICE:
            self._dirty.update(MINISTACK_SERVICES)
            return
        if not is_mutation(method, headers):
            return
        if signing_name in MINISTACK_SERVICES:
            self._dirty.add(signing_name)
        else:
            self._dirty.update(MINISTACK_SERVICES)  # unsigned (anonymous S3 ...): save everything

    async def save(self) -> None:
        """Snapshot the dirty services on the loop (consistent: MiniStack's handlers run there),
        then write the files off the loop. Saves run one at a time, so an older snapshot never
        overwrites a newer one (the periodic save and Step Functions' checkpoints both call it)."""
        if self._save_lock is None:
            self._save_lock = asyncio.Lock()
        async with self._save_lock:
            await self._save()

    async def _save(self) -> None:
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        try:
            started = time.perf_counter()
            snapshots = {}
            for key in dirty:
                module_name = MINISTACK_SERVICES[key]
                snapshots[module_name] = self._ministack_app._get_module(module_name).get_state()
            self.last_save_seconds = time.perf_counter() - started
            # Keep snapshotting under ~10% of the loop's time even when the state grows large.
            self._interval = max(SAVE_INTERVAL_SECONDS, self.last_save_seconds * 10)
            await asyncio.to_thread(self._write, snapshots)
        except BaseException:
            self._dirty |= dirty  # try again next time
            raise

    def _write(self, snapshots: dict[str, Any]) -> None:
        for module_name, state in snapshots.items():
            if state is not None:
                self._persistence.save_state(module_name, state)

    async def _save_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.save()
            except Exception:
                log.exception("saving MiniStack's state failed; will retry")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)
