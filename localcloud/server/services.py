"""The services localcloud serves itself, by signing name: Lambda, Scheduler, EventBridge, Step
Functions and Athena (everything else is MiniStack's). The order matters: services recover and
quiesce in it (EventBridge opens before Step Functions publishes the status changes of the
executions a restart failed, and stops delivering before Step Functions saves its last ones)."""

from __future__ import annotations

from localcloud.server.registry import Service


def default_services() -> list[Service]:
    from localcloud.athena.service import AthenaService  # noqa: PLC0415
    from localcloud.awslambda.service import LambdaService  # noqa: PLC0415 - keeps start-up lean
    from localcloud.events.service import EventsService  # noqa: PLC0415
    from localcloud.scheduler.service import SchedulerService  # noqa: PLC0415
    from localcloud.stepfunctions.service import StepFunctionsService  # noqa: PLC0415

    return [
        LambdaService(),
        SchedulerService(),
        EventsService(),
        StepFunctionsService(),
        AthenaService(),
    ]
