"""The one ASGI app behind localcloud's endpoint.

Routing, per request:

1. ``/_localcloud/...``: localcloud's control routes (health, clock).
2. The service the request is for (``routing.signing_name``: SigV4 credential scope, then
   ``X-Amz-Target``, then the REST paths of localcloud's services). If the registry holds it
   (Lambda, Scheduler, Step Functions, Athena), localcloud's own service answers.
3. A service MiniStack serves (S3, DynamoDB, Glue, IAM, STS, CloudWatch Logs), or a request that
   names none (unsigned), goes untouched and streamed to MiniStack's ASGI app composed in-process.
4. Any other service is refused in the client's own protocol (``unsupported``): ``NotImplemented``.

The app owns the lifespan: it opens the store, restores the clock, starts MiniStack's
persistence loop and the services, and on shutdown stops them in reverse and saves.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from localcloud.clock import Clock, ClockState
from localcloud.cloudformation import install as install_cloudformation_providers
from localcloud.launcher import MOCK_VARIABLE
from localcloud.server.control import CLOCK_KEY, META, Control
from localcloud.server.http import Request, Response
from localcloud.server.ministack import MINISTACK_SERVICES, MiniStack, Receive, Scope, Send, own_machinery
from localcloud.server.registry import PreviousShutdown, ServiceContext, ServiceRegistry
from localcloud.server.routing import signing_name
from localcloud.server.unsupported import unsupported_service
from localcloud.state import Store

log = logging.getLogger("localcloud")

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "000000000000"
_RUN_KEY = "server"


@dataclass(frozen=True)
class ServerConfig:
    home: Path | None  # None: nothing persisted (in-memory store, MiniStack without persistence)
    port: int
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    host: str = field(default="127.0.0.1", init=False)  # never anything else: local only

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def store_path(self) -> Path | None:
        return None if self.home is None else self.home / "localcloud.db"


class LocalcloudApp:
    def __init__(self, config: ServerConfig, registry: ServiceRegistry, ministack: MiniStack) -> None:
        self.config = config
        self.registry = registry
        self.ministack = ministack
        self.store = Store(config.store_path)
        self._meta = self.store.collection(META)
        saved_clock = self._meta.get(CLOCK_KEY)
        self.clock = Clock(ClockState.from_json(saved_clock) if saved_clock else None)
        self.control = Control(clock=self.clock, store=self.store, health=self.health)
        self.context: ServiceContext | None = None
        self.started_at: float | None = None
        self.on_started: list[Callable[[], None]] = []
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    async def startup(self) -> None:
        previous = self._previous_shutdown()
        self._meta.put(_RUN_KEY, {"running": True, "pid": os.getpid(), "started_at": time.time()})
        home = self.config.home
        if home is None:
            # Nothing persisted: files (Lambda packages) go to a folder removed at shutdown.
            self._scratch = tempfile.TemporaryDirectory(prefix="localcloud-")
            home = Path(self._scratch.name)
        self.context = ServiceContext(
            store=self.store,
            clock=self.clock,
            home=home,
            endpoint_url=self.config.endpoint_url,
            region=self.config.region,
            account_id=self.config.account_id,
            previous_shutdown=previous,
            flush_storage=self.ministack.save if self.ministack.persist else None,
        )
        await self.ministack.start()
        await self.registry.start(self.context)
        install_cloudformation_providers(self.context)
        for service in (self.registry.get(name) for name in ("scheduler",)):
            hook = getattr(service, "run_due", None)
            if hook is not None:
                self.control.clock_hooks.append(hook)
        self.started_at = time.time()
        log.info("localcloud listening on %s (previous run: %s)", self.config.endpoint_url, previous)
        for callback in self.on_started:
            callback()

    async def quiesce(self) -> None:
        """A clean stop begins: services save their work in flight while the endpoint still
        answers (see ``Service.quiesce``)."""
        await self.registry.quiesce()

    async def shutdown(self) -> None:
        log.info("localcloud shutting down")
        await self.registry.stop()
        await self.ministack.stop()
        self._meta.put(_RUN_KEY, {"running": False, "pid": os.getpid(), "stopped_at": time.time()})
        self.store.close()
        if self._scratch is not None:
            self._scratch.cleanup()

    def _previous_shutdown(self) -> PreviousShutdown:
        run = self._meta.get(_RUN_KEY)
        if run is None:
            return "first-start"
        return "crash" if run.get("running") else "clean"

    def health(self) -> dict[str, Any]:
        services: dict[str, str] = dict.fromkeys(MINISTACK_SERVICES, "served (MiniStack)")
        services.update(self.registry.served())
        return {
            "status": "running",
            "endpoint": self.config.endpoint_url,
            "home": str(self.config.home) if self.config.home else None,
            "region": self.config.region,
            "account_id": self.config.account_id,
            "sfn_mock_config": os.environ.get(MOCK_VARIABLE) or None,
            "started_at": self.started_at,
            "previous_run": self.context.previous_shutdown if self.context else None,
            "services": dict(sorted(services.items())),
            "ministack_last_save_seconds": round(self.ministack.last_save_seconds, 4),
            "ministack_replaced": own_machinery(),
        }

    # -- ASGI ------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.close", "code": 1008})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("localcloud failed to start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.shutdown()
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope.get("headers", [])
        }
        query_string = scope.get("query_string", b"").decode("latin-1")
        if path.startswith("/_localcloud/"):
            request = await self._request(scope, receive, headers, query_string)
            await _send(send, await self.control.handle(request))
            return
        if path.startswith(("/_ministack/", "/_localstack/")) and path != "/_ministack/health":
            # MiniStack's admin routes (reset, config ...) would bypass localcloud's own state.
            await _send(send, Response.json({"error": f"{path} is not exposed by localcloud"}, status=404))
            return
        name = signing_name(method, path, headers, parse_qs(query_string))
        service = self.registry.get(name) if name else None
        request_id = str(uuid.uuid4())
        if service is None and name is not None and name not in MINISTACK_SERVICES:
            request = await self._request(scope, receive, headers, query_string)
            served = sorted([*MINISTACK_SERVICES, *self.registry.served()])
            await _send(send, unsupported_service(name, request, served=served, request_id=request_id))
            return
        if service is None:
            self.ministack.mark_dirty(name, method, headers)
            await self.ministack(scope, receive, send)
            return
        request = await self._request(scope, receive, headers, query_string)
        try:
            response = await service.handle(request)
        except Exception:
            log.exception("%s failed on %s %s", service.title, method, path)
            response = Response.json(
                {"message": f"localcloud's {service.title} failed; see the server log", "Type": "Service"},
                status=500,
                headers={"x-amzn-ErrorType": "ServiceException"},
            )
        response.headers.setdefault("x-amzn-RequestId", request_id)
        await _send(send, response)

    @staticmethod
    async def _request(scope: Scope, receive: Receive, headers: dict[str, str], query_string: str) -> Request:
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw_path = scope.get("raw_path") or scope["path"].encode()
        return Request(
            method=scope["method"],
            path=scope["path"],
            raw_path=raw_path.decode("latin-1"),
            query=parse_qs(query_string, keep_blank_values=True),
            headers=headers,
            body=b"".join(chunks),
        )


async def _send(send: Send, response: Response) -> None:
    headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers.items()]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
