"""localcloud's own services and the registry the server routes to.

A service is identified by its SigV4 signing name (``lambda``, ``scheduler``, ``states``,
``athena``): the request's credential scope names it, exactly as AWS routes. A service gets a
``ServiceContext`` at start (the store, the clock, a boto3 client factory pointing back at the
endpoint) and answers ``Request`` -> ``Response``.

``ProtocolService`` does the common part: parse with the service's protocol (botocore model),
call the method named after the operation in snake case (``CreateFunction`` -> ``create_function``),
serialise its dict, and turn ``AwsError`` into AWS's error shape. An operation without a method
answers ``NotImplemented`` naming it, never a silent success.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import boto3
from botocore.config import Config

from localcloud.clock import Clock
from localcloud.faults import Faults
from localcloud.server.errors import AwsError, NotImplementedByLocalcloud
from localcloud.server.http import Request, Response
from localcloud.server.protocols import JsonProtocol, RestJsonProtocol, snake_case
from localcloud.state import Store

log = logging.getLogger("localcloud")

# Fake, fixed credentials for localcloud's own callers when it accepts any key (the default); with
# --verify-signatures they get a random key of the run instead (``ServiceContext.credentials``).
FAKE_CREDENTIALS = {
    "aws_access_key_id": "localcloud",
    "aws_secret_access_key": "localcloud",
    "aws_session_token": "localcloud",
}
# What localcloud's own clients add to their User-Agent: the endpoint tells their retried attempts
# apart (``localcloud.faults``).
INTERNAL_AGENT = "localcloud-internal"

PreviousShutdown = Literal["clean", "crash", "first-start"]


@dataclass
class ServiceContext:
    store: Store
    clock: Clock
    home: Path
    endpoint_url: str
    region: str
    account_id: str
    previous_shutdown: PreviousShutdown = "first-start"
    """How the previous run ended: services holding work in flight (Step Functions: running executions)
    mark it failed at start, saying localcloud restarted."""
    registry: ServiceRegistry | None = field(default=None, repr=False)
    flush_storage: Callable[[], Coroutine[Any, Any, None]] | None = field(default=None, repr=False)
    """Make MiniStack's state (DynamoDB ...) durable now, on the event loop. Step Functions calls it
    before it saves execution progress, so saved progress never runs ahead of the data."""
    credentials: dict[str, str] = field(default_factory=lambda: dict(FAKE_CREDENTIALS), repr=False)
    """What localcloud's own callers sign with: its clients here and Lambda functions' environment."""
    faults: Faults | None = field(default=None, repr=False)
    """The faults set on the endpoint, for calls a service makes in-process (``localcloud.faults``)."""
    _clients: dict[tuple[str, int], Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # One boto3 session makes every client (under _lock: a session is not thread-safe), so its
    # loader reads botocore's JSON models once; a session per client read them again for each,
    # a fresh server's first run paying about half a second of CPU for it.
    _session: Any = field(default=None, repr=False)

    def client(self, service: str) -> Any:
        """A boto3 client for the endpoint itself (one per service and thread; call it from a
        worker thread, never from the event loop: the endpoint answers on that loop)."""
        return self._cached_client(
            (service, threading.get_ident()),
            lambda: Config(
                retries={"max_attempts": 2, "mode": "standard"},
                read_timeout=900,
                user_agent_extra=INTERNAL_AGENT,
            ),
        )

    def shared_client(self, service: str) -> Any:
        """One boto3 client for the endpoint per service, shared by every thread (clients are
        thread-safe; making one per worker thread costs tens of milliseconds each). Its pool holds
        64 connections, and no host prefix is put before the endpoint (``sync-127.0.0.1``)."""
        return self._cached_client(
            (service, 0),
            lambda: Config(
                retries={"max_attempts": 3, "mode": "standard"},
                read_timeout=900,
                max_pool_connections=64,
                inject_host_prefix=False,
                user_agent_extra=INTERNAL_AGENT,
            ),
        )

    def _cached_client(self, key: tuple[str, int], make_config: Callable[[], Config]) -> Any:
        client = self._clients.get(key)  # the common case, without the lock: a dict read is atomic
        if client is not None:
            return client
        with self._lock:
            if key not in self._clients:
                config = make_config()
                if self._session is None:
                    self._session = boto3.session.Session()
                self._clients[key] = self._session.client(
                    key[0],
                    endpoint_url=self.endpoint_url,
                    region_name=self.region,
                    config=config,
                    **self.credentials,
                )
            return self._clients[key]

    def service(self, signing_name: str) -> Service | None:
        """Another of localcloud's services, for in-process calls (Step Functions may
        invoke Lambda through ``LambdaService.invoke_function`` instead of HTTP)."""
        return self.registry.get(signing_name) if self.registry is not None else None

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"


class Service(ABC):
    signing_name: ClassVar[str]
    title: ClassVar[str]

    async def recover(self, context: ServiceContext) -> None:  # noqa: B027 - optional hook
        """Called once at start, before ``start``, with ``context.previous_shutdown`` saying how
        the last run ended ("clean", "crash", "first-start"). Work that was in flight then can
        never finish: this is where Step Functions marks executions still RUNNING as
        FAILED, with a cause saying localcloud restarted, so they can be redriven."""

    async def start(self, context: ServiceContext) -> None:  # noqa: B027 - optional hook
        """Load state, resume background work."""

    async def quiesce(self) -> None:  # noqa: B027 - optional hook
        """A clean stop begins and the endpoint still answers: save work in flight as it stands
        now (Step Functions: running executions), before calls start failing as it goes down."""

    async def checkpoint(self) -> int | None:
        """Save the work in flight now, as the service's periodic saving would, and return once it
        is written: how many records were written, or None for a service with nothing of the kind
        (``POST /_localcloud/checkpoint``)."""
        return None

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Finish background work; state is already durable."""

    @abstractmethod
    async def handle(self, request: Request) -> Response: ...


class ProtocolService(Service):
    protocol: RestJsonProtocol | JsonProtocol
    #: Synchronous operation methods run on ``executor`` (a thread pool), off the event loop:
    #: services whose operations take locks or touch SQLite (Step Functions, Athena) set it.
    blocking: ClassVar[bool] = False
    executor: Executor | None = None

    async def handle(self, request: Request) -> Response:
        try:
            operation, params = self.protocol.parse(request)
            method = getattr(self, snake_case(operation), None)
            if method is None:
                raise NotImplementedByLocalcloud(f"localcloud's {self.title} does not implement {operation}")
            if self.blocking and not inspect.iscoroutinefunction(method):
                result = await asyncio.get_running_loop().run_in_executor(self.executor, method, params)
            else:
                result = method(params)
            if inspect.isawaitable(result):
                result = await result
            return self.protocol.serialize(operation, result)
        except AwsError as error:
            return self.protocol.error(error)


class ServiceRegistry:
    def __init__(self, services: list[Service] | None = None) -> None:
        self._services: dict[str, Service] = {}
        for service in services or []:
            self.register(service)

    def register(self, service: Service) -> None:
        self._services[service.signing_name] = service

    def get(self, signing_name: str) -> Service | None:
        return self._services.get(signing_name)

    def __contains__(self, signing_name: str) -> bool:
        return signing_name in self._services

    def served(self) -> dict[str, str]:
        """signing name -> "served" (every service localcloud answers itself)."""
        return dict.fromkeys(sorted(self._services), "served")

    async def start(self, context: ServiceContext) -> None:
        context.registry = self
        for service in self._services.values():
            await service.recover(context)
        for service in self._services.values():
            await service.start(context)

    async def checkpoint(self) -> dict[str, int]:
        """Every service's checkpoint, in turn: signing name -> records written."""
        written: dict[str, int] = {}
        for name, service in self._services.items():
            count = await service.checkpoint()
            if count is not None:
                written[name] = count
        return written

    async def quiesce(self) -> None:
        for service in self._services.values():
            try:
                await service.quiesce()
            except Exception:
                log.exception("quiescing %s failed", service.title)

    async def stop(self) -> None:
        for service in reversed(list(self._services.values())):
            try:
                await service.stop()
            except Exception:
                log.exception("stopping %s failed", service.title)
