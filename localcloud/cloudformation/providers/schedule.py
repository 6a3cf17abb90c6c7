"""AWS::Scheduler::Schedule on localcloud's EventBridge Scheduler.

Ref is the schedule's name; Fn::GetAtt gives ``Arn``. A new Name or GroupName replaces the
schedule: the successor is created here and the engine deletes the predecessor once the update
succeeded. Anything else goes through UpdateSchedule, which (as on AWS) replaces the whole
definition, so a property the template dropped takes its default.
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-scheduler-schedule.html
"""

from __future__ import annotations

from typing import Any

from localcloud.cloudformation.providers.base import Properties, Provider, Provisioned, physical_name

DEFAULT_GROUP = "default"
_DEFINITION = (
    "ScheduleExpression",
    "ScheduleExpressionTimezone",
    "FlexibleTimeWindow",
    "Target",
    "State",
    "Description",
    "StartDate",
    "EndDate",
    "KmsKeyArn",
    "ActionAfterCompletion",
)


class ScheduleProvider(Provider):
    resource_type = "AWS::Scheduler::Schedule"
    service = "scheduler"
    service_title = "Scheduler"
    not_found = frozenset({"ResourceNotFoundException"})

    def create(self, logical_id: str, props: Properties, stack_name: str) -> Provisioned:
        name = props.get("Name") or physical_name(stack_name, logical_id, 64)
        created = self.client().create_schedule(
            Name=name, GroupName=props.get("GroupName") or DEFAULT_GROUP, **_definition(props)
        )
        return name, {"Arn": created["ScheduleArn"]}

    def update(
        self, physical_id: str, old: Properties, new: Properties, stack_name: str, logical_id: str
    ) -> Provisioned:
        renamed = new.get("Name") and new.get("Name") != old.get("Name")
        if renamed or (new.get("GroupName") or DEFAULT_GROUP) != (old.get("GroupName") or DEFAULT_GROUP):
            return self.create(logical_id, new, stack_name)
        updated = self.client().update_schedule(
            Name=physical_id, GroupName=new.get("GroupName") or DEFAULT_GROUP, **_definition(new)
        )
        return physical_id, {"Arn": updated["ScheduleArn"]}

    def delete(self, physical_id: str, props: Properties) -> None:
        self.client().delete_schedule(Name=physical_id, GroupName=props.get("GroupName") or DEFAULT_GROUP)


def _definition(props: Properties) -> dict[str, Any]:
    return {key: props[key] for key in _DEFINITION if props.get(key) is not None}
