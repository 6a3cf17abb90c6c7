"""The services localcloud serves itself, by signing name: Lambda, Scheduler, Step Functions and
Athena (everything else is MiniStack's)."""

from __future__ import annotations

from localcloud.server.registry import Service


def default_services() -> list[Service]:
    from localcloud.athena.service import AthenaService  # noqa: PLC0415
    from localcloud.awslambda.service import LambdaService  # noqa: PLC0415 - keeps start-up lean
    from localcloud.scheduler.service import SchedulerService  # noqa: PLC0415
    from localcloud.stepfunctions.service import StepFunctionsService  # noqa: PLC0415

    return [
        LambdaService(),
        SchedulerService(),
        StepFunctionsService(),
        AthenaService(),
    ]
