"""The one ASGI app behind localcloud's endpoint.

Per request:

1. The gate (``gate``): the Host must name this endpoint and an Origin must be one allowed;
   otherwise an AWS-style 403. CORS headers are localcloud's own (MiniStack's ``*`` is dropped).
2. ``/_localcloud/...``: localcloud's control routes (health, clock, faults).
3. Every other request is an AWS API request and must be signed (SigV4 header or presigned
   query); the credential scope names the service. Its body is read to the end within the API's
   limit (``limits``), in memory up to 1 MiB and in a temporary file past it (``body``); with
   ``--verify-signatures`` the signature is checked against the keys (``keys``).
4. Faults set on the endpoint (``localcloud.faults``) apply to the operation (``operations``).
5. If the registry holds the service (Lambda, Scheduler, Step Functions, Athena), localcloud's own
   service answers; a service MiniStack serves (S3, DynamoDB, Glue, IAM, STS, CloudWatch Logs)
   goes to MiniStack's ASGI app composed in-process, with the body in one piece; any other is
   refused in the client's own protocol (``unsupported``): ``NotImplemented``.

The app owns the lifespan: it opens the store, restores the clock, starts MiniStack's
persistence loop and the services, and on shutdown stops them in reverse and saves.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from botocore.exceptions import UnknownServiceError
from botocore.model import ServiceModel

from localcloud.clock import Clock, ClockState
from localcloud.cloudformation import install as install_cloudformation_providers
from localcloud.faults import Decision, Fault, Faults
from localcloud.faults.registry import NOTHING
from localcloud.faults.respond import fault_error, merge_unprocessed, split_batch, throughput_exceeded
from localcloud.launcher import MOCK_VARIABLE
from localcloud.server import sigv4
from localcloud.server.body import Body, BodyTooLarge, ClientGone, drain, read_body, replay
from localcloud.server.control import CLOCK_KEY, META, Control
from localcloud.server.errors import AwsError
from localcloud.server.gate import Gate, Refused
from localcloud.server.http import Request, Response
from localcloud.server.keys import KeyPair, KeyStore, random_pair
from localcloud.server.limits import body_limit
from localcloud.server.ministack import MINISTACK_SERVICES, MiniStack, Receive, Scope, Send, own_machinery
from localcloud.server.operations import model_name, operation_name
from localcloud.server.protocols import error_response, service_model
from localcloud.server.registry import (
    FAKE_CREDENTIALS,
    INTERNAL_AGENT,
    PreviousShutdown,
    ServiceContext,
    ServiceRegistry,
)
from localcloud.server.routing import signing_name
from localcloud.server.stalls import StallWatch
from localcloud.server.unsupported import signing_model, unsupported_service, wire_protocol
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
    allowed_origins: tuple[str, ...] = ()  # web origins whose requests are served (--allow-origin)
    keys_file: Path | None = None  # with verify_signatures: the keys accepted
    verify_signatures: bool = False

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
        self.faults = Faults()
        self.control = Control(
            clock=self.clock,
            store=self.store,
            health=self.health,
            faults=self.faults,
            flush=self.ministack.save if self.ministack.persist else None,
            checkpoint=registry.checkpoint,
            settle=self.ministack.settle if self.ministack.persist else None,
        )
        # localcloud's own callers sign with a random key of this run when signatures are checked.
        own = (
            random_pair("LCRUN")
            if config.verify_signatures
            else KeyPair(FAKE_CREDENTIALS["aws_access_key_id"], FAKE_CREDENTIALS["aws_secret_access_key"])
        )
        self._own_credentials = {
            "aws_access_key_id": own.access_key,
            "aws_secret_access_key": own.secret_key,
            "aws_session_token": "localcloud",
        }
        self.gate = Gate(
            port=config.port,
            allowed_origins=frozenset(config.allowed_origins),
            keys=KeyStore(config.keys_file, own=own) if config.verify_signatures else None,
        )
        self._known = {*MINISTACK_SERVICES, *registry.served()}
        self.context: ServiceContext | None = None
        self.started_at: float | None = None
        self.on_started: list[Callable[[], None]] = []
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self.stalls = StallWatch()

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
            credentials=dict(self._own_credentials),
            faults=self.faults,
        )
        await self.ministack.start()
        await self.registry.start(self.context)
        install_cloudformation_providers(self.context)
        gc.collect()  # what was loaded: collected once now, before the first request waits on it
        self.stalls.start()
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
        self.stalls.stop()
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
            "ministack_storage": self.ministack.storage(),
            "event_loop": self.stalls.report(),
            "ministack_replaced": own_machinery(),
            "security": {
                "allowed_origins": sorted(self.gate.allowed_origins),
                "verify_signatures": self.gate.verifies,
                "keys_file": str(self.config.keys_file)
                if self.gate.verifies and self.config.keys_file
                else None,
                "refused": dict(sorted(self.gate.refusals.items())),
            },
            "faults": [fault.to_json() for fault in self.faults.all()],
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
        method: str = scope["method"]
        header_list = [
            (name.decode("latin-1").lower(), value.decode("latin-1"))
            for name, value in scope.get("headers", [])
        ]
        headers = dict(header_list)
        query_string = scope.get("query_string", b"").decode("latin-1")
        call = _Call(scope=scope, receive=receive, headers=header_list, query_string=query_string)
        try:
            self.gate.check_caller(headers)
        except Refused as refusal:
            await self._refuse(call, refusal, send)
            return
        origin = self.gate.allowed_origin(headers)
        if origin is not None and method == "OPTIONS" and "access-control-request-method" in headers:
            await _send(send, Response(200, self.gate.preflight_headers(origin, headers)))
            return
        send = _with_cors(send, self.gate.response_cors_headers(origin))
        if call.path.startswith("/_localcloud/"):
            await self._control(call, send)
            return
        if call.path.startswith(("/_ministack/", "/_localstack/")):
            # MiniStack's admin routes (reset, config ...) would bypass localcloud's own state.
            await _send(
                send, Response.json({"error": f"{call.path} is not exposed by localcloud"}, status=404)
            )
            return
        try:
            signature = self.gate.read_signature(headers, call.query)
        except Refused as refusal:
            await self._refuse(call, refusal, send)
            return
        await self._aws(call, signature, send)

    async def _aws(self, call: _Call, signature: sigv4.Signature, send: Send) -> None:
        """An AWS API request whose caller passed the gate: body, signature, faults, then its service."""
        name = signature.service
        headers = call.header_map
        operation = operation_name(name, **call.route_parts()) if name in self._known else None
        limit = body_limit(name, operation)
        payload_hash = headers.get("x-amz-content-sha256")
        digest = self.gate.verifies and (payload_hash is None or _is_sha256(payload_hash))
        try:
            body = await read_body(
                call.receive,
                limit=limit.max_bytes,
                declared=_content_length(headers),
                digest=digest,
                drain_excess="100-continue" not in headers.get("expect", ""),
            )
        except BodyTooLarge as exc:
            await _send(send, self._error(call, name, limit.error(exc.size)), head=call.method == "HEAD")
            return
        except ClientGone:
            return
        try:
            if self.gate.verifies:
                self._verify(call, signature, body, payload_hash)
            data = body.read()
        except Refused as refusal:
            body.close()
            await self._refuse(call, refusal, send, name=name, body_read=True)
            return
        body.close()
        if name not in self._known:
            request = call.request(data)
            served = sorted([*MINISTACK_SERVICES, *self.registry.served()])
            await _send(send, unsupported_service(name, request, served=served, request_id=call.request_id))
            return
        if operation is None:
            operation = operation_name(name, **call.route_parts(), body=data)
        decision = NOTHING
        if self.faults:
            internal = INTERNAL_AGENT in headers.get("user-agent", "")
            decision = self.faults.decide(
                name,
                operation,
                call_id=headers.get("amz-sdk-invocation-id") if internal else None,
                retry=internal and "attempt=1;" not in headers.get("amz-sdk-request", "attempt=1;"),
            )
        if decision.delay:
            await asyncio.sleep(decision.delay)
        if decision.error is not None:
            response = self._fault_error(call, name, decision.error, data)
            await _send(send, response, head=call.method == "HEAD")
            return
        service = self.registry.get(name)
        if service is None:
            await self._ministack_call(call, signature, data, decision, send)
            return
        try:
            response = await service.handle(call.request(data))
        except Exception:
            log.exception("%s failed on %s %s", service.title, call.method, call.path)
            response = Response.json(
                {"message": f"localcloud's {service.title} failed; see the server log", "Type": "Service"},
                status=500,
                headers={"x-amzn-ErrorType": "ServiceException"},
            )
        response.headers.setdefault("x-amzn-RequestId", call.request_id)
        await _send(send, response)

    async def _ministack_call(
        self, call: _Call, signature: sigv4.Signature, data: bytes, decision: Decision, send: Send
    ) -> None:
        self.ministack.mark_dirty(signature.service, call.method, call.header_map)
        scope = _as_header_signed(call.scope, signature) if signature.presigned else call.scope
        if decision.unprocessed is None:
            await self.ministack(scope, replay(data, call.receive), send)
            return
        fault = decision.unprocessed
        assert fault.unprocessed is not None
        split = split_batch(data, fault.unprocessed)
        if split is None:
            await _send(send, throughput_exceeded(fault, request_id=call.request_id))
            return
        kept, held = split
        scope = dict(scope)
        scope["headers"] = [
            (k, str(len(kept)).encode() if k.lower() == b"content-length" else v) for k, v in scope["headers"]
        ]
        answer = _Captured()
        await self.ministack(scope, replay(kept, call.receive), answer)
        if answer.status == 200:
            answer.body = merge_unprocessed(answer.body, held)
        await answer.forward(send)

    def _verify(self, call: _Call, signature: sigv4.Signature, body: Body, payload_hash: str | None) -> None:
        if signature.presigned:
            declared = sigv4.UNSIGNED_PAYLOAD if signature.service == "s3" else body.sha256
        elif payload_hash is None:
            declared = body.sha256
        else:
            if _is_sha256(payload_hash) and payload_hash != body.sha256:
                raise Refused(
                    "bad-signature", "the body's SHA-256 is not the x-amz-content-sha256 it was signed with"
                )
            declared = payload_hash
        self.gate.verify(
            signature,
            method=call.method,
            raw_path=call.raw_path,
            raw_query=call.query_string,
            header_list=call.headers,
            payload_hash=declared,
        )

    async def _control(self, call: _Call, send: Send) -> None:
        if call.method not in ("GET", "HEAD") and not call.header_map.get("content-type", "").startswith(
            "application/json"
        ):
            refusal = Refused(
                "content-type",
                "localcloud's control routes take JSON: send Content-Type: application/json "
                "(a web page cannot without a CORS preflight, which localcloud refuses)",
            )
            await self._refuse(call, refusal, send)
            return
        limit = body_limit(None, None)
        try:
            body = await read_body(
                call.receive, limit=limit.max_bytes, declared=_content_length(call.header_map)
            )
        except BodyTooLarge as exc:
            await _send(send, Response.json({"error": str(exc)}, status=413))
            return
        except ClientGone:
            return
        data = body.read()
        body.close()
        await _send(send, await self.control.handle(call.request(data)))

    async def _refuse(
        self, call: _Call, refusal: Refused, send: Send, *, name: str | None = None, body_read: bool = False
    ) -> None:
        self.gate.record(refusal, method=call.method, path=call.path)
        if not body_read and "100-continue" not in call.header_map.get("expect", ""):
            await drain(call.receive)  # the client still sending its body then reads the answer
        if name is None:
            name = signing_name(call.method, call.path, call.header_map, call.query)
        if name is None and "x-amz-target" not in call.header_map and "Action" not in call.query:
            name = "s3"  # a bare REST request: S3's (MiniStack answers unknown paths as S3 too)
        response = self._error(call, name, refusal.error(self._protocol(call, name)))
        await _send(send, response, head=call.method == "HEAD")

    def _fault_error(self, call: _Call, name: str, fault: Fault, body: bytes) -> Response:
        protocol = self._protocol(call, name, body)
        return fault_error(
            fault, protocol=protocol, json_version=_json_version(name), request_id=call.request_id
        )

    def _error(self, call: _Call, name: str | None, error: AwsError) -> Response:
        return error_response(
            self._protocol(call, name), error, request_id=call.request_id, json_version=_json_version(name)
        )

    def _protocol(self, call: _Call, name: str | None, body: bytes = b"") -> str:
        """botocore's name of the protocol to answer in: the one the request spoke (CloudWatch's
        CBOR, a JSON target, Query's form), else the service's own (S3's REST-XML, STS's Query ...)."""
        model = _model(name)
        spoken = wire_protocol(call.request(body), model)
        if (
            spoken.startswith("rest-")
            and model is not None
            and not model.resolved_protocol.startswith("rest-")
        ):
            return str(model.resolved_protocol)  # nothing on the wire said (a body not read yet)
        return spoken


async def _send(send: Send, response: Response, *, head: bool = False) -> None:
    headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers.items()]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else response.body})


def _with_cors(send: Send, cors: list[tuple[bytes, bytes]]) -> Send:
    """``send`` with no CORS header but localcloud's own: MiniStack answers ``*`` to any origin."""

    async def filtered(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            kept = [
                (k, v) for k, v in message.get("headers", []) if not k.lower().startswith(b"access-control-")
            ]
            message = {**message, "headers": kept + cors}
        await send(message)

    return filtered


@dataclass
class _Call:
    """One HTTP request as the gate and the dispatch see it."""

    scope: Scope
    receive: Receive
    headers: list[tuple[str, str]]  # lower-case names, in order, repeated names kept (SigV4 needs them)
    query_string: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        self.header_map = dict(self.headers)
        self.query = parse_qs(self.query_string, keep_blank_values=True)
        self.method: str = self.scope["method"]
        self.path: str = self.scope["path"]
        self.raw_path = (self.scope.get("raw_path") or self.path.encode()).decode("latin-1")

    def route_parts(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "raw_path": self.raw_path,
            "headers": self.header_map,
            "query": self.query,
        }

    def request(self, body: bytes) -> Request:
        return Request(
            method=self.method,
            path=self.path,
            raw_path=self.raw_path,
            query=self.query,
            headers=self.header_map,
            body=body,
        )


class _Captured:
    """An ASGI ``send`` that keeps a (small) response, to change it before it goes out."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""

    async def __call__(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    async def forward(self, send: Send) -> None:
        """Send the (changed) response, its length and DynamoDB's CRC32 of the body made anew."""
        checksum = any(k.lower() == b"x-amz-crc32" for k, _ in self.headers)
        headers = [(k, v) for k, v in self.headers if k.lower() not in (b"content-length", b"x-amz-crc32")]
        headers.append((b"content-length", str(len(self.body)).encode()))
        if checksum:
            headers.append((b"x-amz-crc32", str(zlib.crc32(self.body)).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


_PRESIGN_PARAMS = {
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-signedheaders",
    "x-amz-signature",
    "x-amz-security-token",
    "awsaccesskeyid",
    "signature",
    "expires",
}


def _as_header_signed(scope: Scope, signature: sigv4.Signature) -> Scope:
    """A presigned request as MiniStack gets it: localcloud checked the presign (MiniStack would
    check it again against its own IAM keys), so the query keeps only the request's own
    parameters and an Authorization header carries the caller's key and region, as a
    header-signed request does."""
    query = "&".join(
        part
        for part in scope.get("query_string", b"").decode("latin-1").split("&")
        if part and unquote(part.partition("=")[0]).lower() not in _PRESIGN_PARAMS
    )
    region = signature.region or "us-east-1"
    credential = f"{signature.access_key}/{signature.date}/{region}/{signature.service}/aws4_request"
    authorization = f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature={'0' * 64}"
    headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"authorization"]
    headers.append((b"authorization", authorization.encode("latin-1")))
    return {**scope, "query_string": query.encode("latin-1"), "headers": headers}


def _content_length(headers: dict[str, str]) -> int | None:
    value = headers.get("content-length", "").strip()
    return int(value) if value.isdigit() else None


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _model(name: str | None) -> ServiceModel | None:
    """botocore's model of the service a signing name names, if any."""
    if not name:
        return None
    try:
        return service_model(model_name(name))
    except UnknownServiceError:
        return signing_model(name)


def _json_version(name: str | None) -> str:
    model = _model(name)
    return str(model.metadata.get("jsonVersion", "1.0")) if model is not None else "1.0"
