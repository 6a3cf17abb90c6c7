"""The console as an ASGI application: routes, the guard, templates and the JSON twins.

Every page has a stable URL and a JSON twin at the same URL plus ``.json``. Views run in a worker
thread (boto3 blocks); the pipeline (clients and deployment) is connected on the first request
and kept, so the console can start before localcloud does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import threading
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError
from jinja2 import Environment, PackageLoader, select_autoescape

from meterpipe.aws import explain
from meterpipe.console import views
from meterpipe.console.http import CSRF_FIELD, MAX_BODY_BYTES, Guard, Request, Response
from meterpipe.errors import MeterpipeError
from meterpipe.ops.dates import format_duration
from meterpipe.ops.pipeline import Pipeline
from meterpipe.ops.runs import UnknownExecution
from meterpipe.ops.usage import UnknownCustomer

log = logging.getLogger("meterpipe.console")
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Clients the views use, made before the first request's threads share them.
_SERVICES = ("stepfunctions", "dynamodb", "logs", "s3", "sts")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: str


def _route(method: str, pattern: str, handler: str) -> Route:
    return Route(method, re.compile(pattern), handler)


# An ARN holds ':' and, for a map run's child, '/': the suffix is what follows the last segment.
_ARN = r"(?P<arn>arn:[^?]+?)"
ROUTES = (
    _route("GET", r"/", "home"),
    _route("GET", r"/static/(?P<name>[a-z0-9_-]+\.(?:css|js|svg))", "static"),
    _route("GET", r"/calendar", "calendar_now"),
    _route("GET", r"/calendar/(?P<month>[^/]+?)(?P<json>\.json)?", "calendar"),
    _route("POST", r"/days/(?P<day>[0-9-]+)/run", "run_day"),
    _route("POST", r"/days/(?P<day>[0-9-]+)/redrive", "redrive_day"),
    _route("POST", r"/days/(?P<day>[0-9-]+)/stop", "stop_day"),
    _route("GET", r"/days/(?P<day>[^/]+?)(?P<json>\.json)?", "day"),
    _route("GET", r"/executions(?P<json>\.json)?", "executions"),
    _route("GET", rf"/executions/{_ARN}/history\.json", "export"),
    _route("POST", rf"/executions/{_ARN}/stop", "stop"),
    _route("POST", rf"/executions/{_ARN}/redrive", "redrive"),
    _route("GET", rf"/executions/{_ARN}(?P<json>\.json)?", "execution"),
    _route("GET", r"/customers", "customers"),
    _route("GET", r"/customers/(?P<customer>[^/]+?)(?P<json>\.json)?", "customer"),
    _route(
        "GET", r"/logs/(?P<function>[A-Za-z0-9_.-]+)/(?P<request>[A-Za-z0-9-]+?)(?P<json>\.json)?", "logs"
    ),
)

DAY_ACTIONS: dict[str, Callable[[Pipeline, str], str]] = {
    "run_day": views.run_day,
    "redrive_day": views.redrive_day,
    "stop_day": views.stop_running_day,
}


class ConsoleApp:
    def __init__(self, connect: Callable[[], Pipeline], guard: Guard, *, target_label: str) -> None:
        self._connect = connect
        self._pipeline: Pipeline | None = None
        self._lock = threading.Lock()
        self.guard = guard
        self.target_label = target_label
        self.templates = Environment(
            loader=PackageLoader("meterpipe.console", "templates"),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters.update(
            when=_when, duration=format_duration, number=_number, kwh=_kwh, quote=_quote
        )
        self.templates.globals.update(
            csrf_field=CSRF_FIELD,
            csrf_token=guard.csrf_token,
            execution_url=views.execution_url,
            target=target_label,
        )

    def pipeline(self) -> Pipeline:
        with self._lock:
            if self._pipeline is None:
                pipeline = self._connect()
                for service in _SERVICES:
                    pipeline.client(service)
                _ = pipeline.timezone
                self._pipeline = pipeline
            return self._pipeline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body, too_big = await _read_body(receive)
        request = Request.from_scope(scope, body)
        if too_big:
            response = self.error(request, 413, "request body too large")
        else:
            response = await asyncio.to_thread(self.respond, request)
        await send(
            {"type": "http.response.start", "status": response.status, "headers": response.asgi_headers()}
        )
        await send({"type": "http.response.body", "body": b"" if request.method == "HEAD" else response.body})

    def respond(self, request: Request) -> Response:
        refusal = self.guard.refusal(request)
        if refusal is not None:
            log.warning("refused %s %s: %s", request.method, request.path, refusal)
            return self.error(request, 403, f"refused: {refusal}")
        method = "GET" if request.method == "HEAD" else request.method
        allowed: list[str] = []
        for route in ROUTES:
            match = route.pattern.fullmatch(request.path)
            if match is None:
                continue
            if route.method != method:
                allowed.append(route.method)
                continue
            try:
                return self.dispatch(route.handler, request, match.groupdict())
            except (views.NotFound, UnknownExecution, UnknownCustomer) as exc:
                return self.error(request, 404, str(exc))
            except MeterpipeError as exc:
                return self.error(request, 400, str(exc))
            except (ClientError, BotoCoreError, ResponseParserError) as exc:
                return self.error(request, 502, explain(exc))
            except Exception as exc:  # a bug: the page says so, the log keeps the traceback
                log.exception("error answering %s %s", request.method, request.path)
                return self.error(request, 500, f"unexpected {type(exc).__name__}: {exc}")
        if allowed:
            return self.error(request, 405, f"{request.method} is not allowed here ({', '.join(allowed)})")
        return self.error(request, 404, f"no page at {request.path}")

    def dispatch(self, handler: str, request: Request, params: dict[str, Any]) -> Response:
        as_json = bool(params.pop("json", None))
        if handler == "static":
            return _static(params["name"])
        if handler == "home":
            return Response.redirect("/executions")
        if handler == "customers":
            if request.query.get("id"):
                return Response.redirect("/customers/" + _quote(request.query["id"].strip()))
            return self.page(request, views.Page("customers.html", {}, "Customers"), as_json=False)
        pipeline = self.pipeline()
        if handler == "calendar_now":
            month = request.query.get("month") or f"{pipeline.now():%Y-%m}"
            return Response.redirect("/calendar/" + _quote(month.strip()))
        if handler in DAY_ACTIONS:
            return self.after_action(request, DAY_ACTIONS[handler](pipeline, params["day"]))
        if handler == "stop":
            return self.after_action(request, views.stop_execution(pipeline, params["arn"]))
        if handler == "redrive":
            return self.after_action(request, views.redrive(pipeline, params["arn"]))
        if handler == "export":
            name = params["arn"].rsplit(":", 1)[-1]
            return Response.json(
                views.export_history(pipeline, params["arn"]), download=f"{name}.history.json"
            )
        page: views.Page
        if handler == "calendar":
            page = views.calendar_page(pipeline, params["month"])
        elif handler == "day":
            page = views.day_page(pipeline, params["day"], request.query)
        elif handler == "executions":
            page = views.executions_page(pipeline, request.query)
        elif handler == "execution":
            page = views.execution_page(pipeline, params["arn"], request.query)
        elif handler == "customer":
            page = views.customer_page(pipeline, params["customer"], request.query)
        elif handler == "logs":
            page = views.logs_page(pipeline, params["function"], params["request"])
        else:  # pragma: no cover - every route names a handler above
            raise views.NotFound(f"no handler {handler}")
        return self.page(request, page, as_json=as_json)

    def page(self, request: Request, page: views.Page, *, as_json: bool) -> Response:
        if as_json:
            return Response.json(page.data)
        template = self.templates.get_template(page.template)
        context = {**page.data, **page.extra, "title": page.title, "request": request, "data": page.data}
        context["message"] = request.query.get("message")
        return Response.html(template.render(context))

    def after_action(self, request: Request, location: str) -> Response:
        if request.wants_json:
            return Response.json({"location": location})
        return Response.redirect(location)

    def error(self, request: Request, status: int, message: str) -> Response:
        if request.path.endswith(".json") or request.wants_json:
            return Response.json({"error": message, "status": status}, status)
        template = self.templates.get_template("error.html")
        return Response.html(
            template.render(title=f"Error {status}", status=status, error_message=message), status
        )


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY_BYTES:
            chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks), size > MAX_BODY_BYTES


def _static(name: str) -> Response:
    folder = resources.files("meterpipe.console") / "static"
    path = folder / name
    if not path.is_file():
        raise views.NotFound(f"no static file {name}")
    suffix = name[name.rfind(".") :]
    return Response(200, path.read_bytes(), STATIC_TYPES[suffix])


def _when(value: Any) -> str:
    if not isinstance(value, dt.datetime):
        return "" if value is None else str(value)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _number(value: Any) -> str:
    return "" if value is None else f"{int(value):,}"


def _kwh(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _quote(value: str) -> str:
    return urllib.parse.quote(str(value), safe="")
