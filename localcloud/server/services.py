"""The services localcloud serves itself, by signing name. Part B of issue 5 replaces the two
``NotYetServed`` entries with the Step Functions and Athena services; nothing else changes."""

from __future__ import annotations

from localcloud.server.protocols import JsonProtocol
from localcloud.server.registry import NotYetServed, Service


def default_services() -> list[Service]:
    from localcloud.awslambda.service import LambdaService  # noqa: PLC0415 - keeps start-up lean
    from localcloud.scheduler.service import SchedulerService  # noqa: PLC0415

    return [
        LambdaService(),
        SchedulerService(),
        NotYetServed("states", "Step Functions", JsonProtocol("stepfunctions")),
        NotYetServed("athena", "Athena", JsonProtocol("athena")),
    ]
