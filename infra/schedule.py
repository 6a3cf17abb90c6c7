"""Schedule: EventBridge Scheduler starts daily_rollup with the scheduled time as its input."""

from __future__ import annotations

from aws_cdk import Duration, TimeZone
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct


class Schedule(Construct):
    """``cron(30 3 * * ? *)`` in UTC by default (the upstream sample's); daily_rollup turns the
    scheduled time into the previous calendar day, so a late or retried start still processes
    the right day."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.IStateMachine,
        name: str,
        expression: str,
        timezone: str,
        enabled: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.schedule = scheduler.Schedule(
            self,
            "DailyRollup",
            # A fixed name, the local deploy's too (meterpipe.local.deploy): the CLI finds it by the
            # ScheduleName output either way.
            schedule_name=name,
            description="Starts meterpipe daily_rollup for the previous calendar day",
            schedule=scheduler.ScheduleExpression.expression(expression, TimeZone.of(timezone)),
            enabled=enabled,
            target=targets.StepFunctionsStartExecution(
                state_machine,
                input=scheduler.ScheduleTargetInput.from_object(
                    {"scheduled_time": scheduler.ContextAttribute.scheduled_time}
                ),
                # Re-running a day is harmless (idempotent writes), but a start that is hours late
                # should not pile onto the next day's run.
                max_event_age=Duration.hours(6),
                retry_attempts=10,
            ),
        )
