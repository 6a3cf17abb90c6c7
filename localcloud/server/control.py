"""localcloud's own local-only routes, under ``/_localcloud/`` (no AWS API lives there).

- ``GET  /_localcloud/health``: status, pid, endpoint, which services are served, the clock, and
  MiniStack's replaced modules and firing threads (``ministack_replaced``).
- ``GET  /_localcloud/clock``: the clock.
- ``POST /_localcloud/clock``: ``{"set": "<ISO 8601>", "freeze": true|false}``,
  ``{"advance": <seconds>}``, ``{"freeze": true}``, ``{"freeze": false}`` or ``{"reset": true}``.
  It answers once everything the new time made due has fired (schedules), with what fired, so a
  caller can advance the clock and then look at the effect, deterministically.
- ``GET /_localcloud/faults``: ``{"faults": [...]}``, each with its id, what it does and how often
  it fired (``hits``).
- ``POST /_localcloud/faults``: ``{"service": "dynamodb", "operation": "BatchWriteItem", "error":
  "ThrottlingException", "unprocessed": 0.5, "delay": 2, "probability": 0.3, "count": 5}``
  (service and operation, then any effect and frequency); answers 201 ``{"fault": {...}}``, or 400
  ``{"error": ...}`` naming what is wrong.
- ``DELETE /_localcloud/faults`` clears them all, ``DELETE /_localcloud/faults/<id>`` one:
  ``{"cleared": [...]}`` (404 for an unknown id).

Writes must be ``Content-Type: application/json`` (``gate``: no web page sends that unasked).
- ``POST /_localcloud/storage/flush``: make MiniStack's data durable now (what a Step Functions
  checkpoint does first); answers ``{"seconds": ...}`` once it is. For benchmarks and tests that
  must know a checkpoint ran (or is running) instead of waiting for the periodic one.
- ``POST /_localcloud/checkpoint``: a checkpoint now (MiniStack's data made durable, snapshots
  already under way included, then the running executions written); answers ``{"seconds": ..., "written":
  {"states": n}}`` once it is written. Tests use it before they kill the server, instead of
  sleeping past the periodic checkpoint.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from localcloud.clock import Clock
from localcloud.faults import Faults, FaultSpecError, UnknownFault
from localcloud.server.http import Request, Response
from localcloud.state import Store

# Called after every clock change; returns what fired (the scheduler registers one).
ClockHook = Callable[[], Awaitable[list[dict[str, Any]]]]
Flush = Callable[[], Awaitable[None]]
Checkpoint = Callable[[], Awaitable[dict[str, int]]]

CLOCK_KEY = "clock"
META = "localcloud.meta"


def clock_json(clock: Clock) -> dict[str, Any]:
    state = clock.state
    return {
        "now": clock.now().isoformat().replace("+00:00", "Z"),
        "frozen": state.frozen_at is not None,
        "real": clock.is_real,
        "offset_seconds": state.offset_seconds,
    }


class Control:
    def __init__(
        self,
        *,
        clock: Clock,
        store: Store,
        health: Callable[[], dict[str, Any]],
        faults: Faults | None = None,
        flush: Flush | None = None,
        checkpoint: Checkpoint | None = None,
        settle: Flush | None = None,
    ) -> None:
        self.clock = clock
        self.faults = faults if faults is not None else Faults()
        self._meta = store.collection(META)
        self._health = health
        self._flush = flush
        self._checkpoint = checkpoint
        self._settle = settle
        self.clock_hooks: list[ClockHook] = []

    async def handle(self, request: Request) -> Response:
        route = request.path.removeprefix("/_localcloud").rstrip("/")
        if route == "/health" and request.method == "GET":
            return Response.json({**self._health(), "pid": os.getpid(), "clock": clock_json(self.clock)})
        if route == "/clock" and request.method == "GET":
            return Response.json(clock_json(self.clock))
        if route == "/clock" and request.method == "POST":
            try:
                self.change_clock(request.json())
            except (ValueError, TypeError) as exc:
                return Response.json({"error": str(exc)}, status=400)
            fired = await self.after_clock_change()
            return Response.json({**clock_json(self.clock), "fired": fired})
        if route == "/storage/flush" and request.method == "POST":
            began = time.perf_counter()
            if self._flush is not None:
                await self._flush()
            return Response.json(
                {"seconds": round(time.perf_counter() - began, 4), "persisted": self._flush is not None}
            )
        if route == "/checkpoint" and request.method == "POST":
            began = time.perf_counter()
            if self._settle is not None:  # everything durable, even with no execution to write
                await self._settle()
            written = await self._checkpoint() if self._checkpoint is not None else {}
            return Response.json({"seconds": round(time.perf_counter() - began, 4), "written": written})
        if route == "/faults" or route.startswith("/faults/"):
            return self._faults(request, route.removeprefix("/faults").strip("/") or None)
        return Response.json({"error": f"no localcloud route {request.method} {request.path}"}, status=404)

    def _faults(self, request: Request, fault_id: str | None) -> Response:
        if request.method == "GET" and fault_id is None:
            return Response.json({"faults": [fault.to_json() for fault in self.faults.all()]})
        if request.method == "POST" and fault_id is None:
            try:
                fault = self.faults.add(request.json())
            except (FaultSpecError, ValueError) as exc:
                return Response.json({"error": str(exc)}, status=400)
            return Response.json({"fault": fault.to_json()}, status=201)
        if request.method == "DELETE":
            try:
                cleared = self.faults.clear(fault_id)
            except UnknownFault:
                return Response.json({"error": f"no fault {fault_id} is set"}, status=404)
            return Response.json({"cleared": [fault.to_json() for fault in cleared]})
        return Response.json({"error": f"no localcloud route {request.method} {request.path}"}, status=404)

    def change_clock(self, command: Any) -> None:
        if not isinstance(command, dict) or not command:
            raise ValueError(
                'send {"set": ISO time}, {"advance": seconds}, {"freeze": bool} or {"reset": true}'
            )
        known = {"set", "advance", "freeze", "reset"}
        unknown = set(command) - known
        if unknown:
            raise ValueError(f"unknown clock command(s): {', '.join(sorted(unknown))}")
        freeze = command.get("freeze")
        if freeze is not None and not isinstance(freeze, bool):
            raise ValueError("freeze must be true or false")
        if command.get("reset"):
            self.clock.reset()
        elif "set" in command:
            when = dt.datetime.fromisoformat(str(command["set"]).replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
            self.clock.set(when, frozen=freeze)
        elif "advance" in command:
            self.clock.advance(float(command["advance"]))
            if freeze is not None:
                (self.clock.freeze if freeze else self.clock.unfreeze)()
        elif freeze is not None:
            (self.clock.freeze if freeze else self.clock.unfreeze)()
        self._meta.put(CLOCK_KEY, self.clock.state.to_json())

    async def after_clock_change(self) -> list[dict[str, Any]]:
        fired: list[dict[str, Any]] = []
        for hook in self.clock_hooks:
            fired.extend(await hook())
        return fired
