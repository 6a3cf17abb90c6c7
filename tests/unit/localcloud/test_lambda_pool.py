"""The worker pool's bookkeeping, with fake workers (no processes)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from localcloud.awslambda import pool as pool_module
from localcloud.awslambda.exceptions import TooManyRequestsException
from localcloud.awslambda.models import CodePackage, FunctionRecord
from localcloud.awslambda.pool import ConcurrencyLimit, Environment, FunctionPool, Invocation


class FakeWorker:
    live = 0
    most = 0
    # Invocations hold inside ``invoke`` until ``gate`` is set (no gate: they return at once);
    # the gate opens by itself once ``release_at`` of them are inside together.
    gate: asyncio.Event | None = None
    release_at = 0
    inside = 0

    def __init__(self, fn: FunctionRecord) -> None:
        self.fn = fn
        self.fingerprint = fn.code.sha256
        self.idle_since = 0.0
        self.alive = True

    async def start(self) -> dict[str, Any]:
        FakeWorker.live += 1
        FakeWorker.most = max(FakeWorker.most, FakeWorker.live)
        return {"type": "ready"}

    async def invoke(self, invocation: Invocation, deadline_ms: int) -> dict[str, Any]:
        FakeWorker.inside += 1
        if FakeWorker.gate is not None:
            if FakeWorker.release_at and FakeWorker.inside >= FakeWorker.release_at:
                FakeWorker.gate.set()
            await FakeWorker.gate.wait()
        FakeWorker.inside -= 1
        return {"ok": True, "payload": invocation.payload.decode()}

    def log_tail(self) -> str:
        return ""

    async def retire(self) -> None:
        if self.alive:
            self.alive = False
            FakeWorker.live -= 1

    kill = retire


def make_pool(max_workers: int, reserved: int | None = None) -> FunctionPool:
    code = CodePackage(kind="zip", path="/nowhere", sha256="abc", size=1, source="ZipFile")
    fn = FunctionRecord(
        name="f",
        arn="arn:aws:lambda:us-east-1:000000000000:function:f",
        runtime="python3.12",
        role="arn:aws:iam::000000000000:role/r",
        handler="app.handler",
        code=code,
        reserved_concurrency=reserved,
    )
    env = Environment("http://127.0.0.1:1", "us-east-1", {})
    return FunctionPool(
        fn,
        env=env,
        logs=None,  # type: ignore[arg-type]
        account=ConcurrencyLimit(1000),
        worker_factory=FakeWorker,  # type: ignore[arg-type]
        max_workers=max_workers,
    )


def test_invocations_beyond_the_process_cap_wait_for_a_worker_instead_of_starting_more() -> None:
    FakeWorker.live = FakeWorker.most = 0
    pool = make_pool(max_workers=2)

    async def main() -> list[bytes]:
        # The first calls hold their workers until both workers are busy at once.
        FakeWorker.gate, FakeWorker.release_at = asyncio.Event(), 2
        calls = [pool.invoke(Invocation(str(i), json.dumps(i).encode(), "arn")) for i in range(8)]
        return [result.payload for result in await asyncio.gather(*calls)]

    assert asyncio.run(main()) == [json.dumps(i).encode() for i in range(8)]
    assert FakeWorker.most == 2
    assert pool.cold_starts == 2
    assert (pool.warm, pool.running, pool.processes) == (2, 0, 2)


def test_a_waiting_invocation_looks_at_the_code_once_not_at_every_worker_freed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looked: list[str] = []

    def fingerprint(package: CodePackage) -> str:
        looked.append(package.path)
        return package.sha256

    monkeypatch.setattr(pool_module.code_packages, "fingerprint", fingerprint)
    FakeWorker.live = FakeWorker.most = 0
    pool = make_pool(max_workers=1)

    async def main() -> None:
        FakeWorker.gate, FakeWorker.release_at = asyncio.Event(), 1
        await asyncio.gather(*(pool.invoke(Invocation(str(i), b"1", "arn")) for i in range(10)))

    asyncio.run(main())
    # Ten invocations, nine of them waiting for the one worker while it is freed nine times.
    assert len(looked) == 10


def test_reserved_concurrency_throttles_before_any_worker_is_taken() -> None:
    pool = make_pool(max_workers=4, reserved=1)

    async def main() -> None:
        FakeWorker.gate, FakeWorker.release_at = asyncio.Event(), 0  # opened by the test
        first = asyncio.create_task(pool.invoke(Invocation("1", b"1", "arn")))
        while pool.running < 1:  # the first holds the only reserved slot
            await asyncio.sleep(0)
        with pytest.raises(TooManyRequestsException):
            await pool.invoke(Invocation("2", b"2", "arn"))
        FakeWorker.gate.set()
        await first

    asyncio.run(main())
