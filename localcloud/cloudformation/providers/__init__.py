"""The resource providers localcloud installs in MiniStack's CloudFormation engine, one module per
resource type: the types whose service localcloud serves itself, and the CloudWatch alarms
MiniStack's own handler refuses. Every other type is provisioned by MiniStack's handlers."""

from __future__ import annotations

from localcloud.cloudformation.providers.athena_workgroup import AthenaWorkGroupProvider
from localcloud.cloudformation.providers.base import Provider, ProviderError
from localcloud.cloudformation.providers.cloudwatch_alarm import CloudWatchAlarmProvider
from localcloud.cloudformation.providers.events_rule import EventsRuleProvider
from localcloud.cloudformation.providers.lambda_function import LambdaFunctionProvider
from localcloud.cloudformation.providers.schedule import ScheduleProvider
from localcloud.cloudformation.providers.state_machine import StateMachineProvider

PROVIDERS: tuple[type[Provider], ...] = (
    StateMachineProvider,
    LambdaFunctionProvider,
    AthenaWorkGroupProvider,
    ScheduleProvider,
    EventsRuleProvider,
    CloudWatchAlarmProvider,
)

__all__ = ["PROVIDERS", "Provider", "ProviderError"]
