"""AWS::Events::Rule on localcloud's EventBridge: PutRule, then PutTargets.

Ref is the rule's name (``bus|name`` on a bus other than the default one); Fn::GetAtt gives
``Arn``. A new Name or EventBusName replaces the rule: the successor is created here and the
engine deletes the predecessor (its targets first, then the rule) once the update succeeded.
Otherwise an update is PutRule with the new settings, RemoveTargets for the targets the template
dropped and PutTargets for the others. A target EventBridge refuses fails the resource with its
message. https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-rule.html
"""

from __future__ import annotations

import json
from typing import Any

from localcloud.cloudformation.providers.base import (
    Properties,
    Provider,
    ProviderError,
    Provisioned,
    physical_name,
    tag_list,
)

DEFAULT_BUS = "default"
_SETTINGS = ("ScheduleExpression", "State", "Description", "RoleArn")


class EventsRuleProvider(Provider):
    resource_type = "AWS::Events::Rule"
    service = "events"
    service_title = "EventBridge"
    not_found = frozenset({"ResourceNotFoundException"})

    def create(self, logical_id: str, props: Properties, stack_name: str) -> Provisioned:
        name = props.get("Name") or physical_name(stack_name, logical_id, 64)
        bus = _bus(props)
        arn = self._put(name, props, tags=tag_list(props))
        return (name if bus == DEFAULT_BUS else f"{bus}|{name}"), {"Arn": arn}

    def update(
        self, physical_id: str, old: Properties, new: Properties, stack_name: str, logical_id: str
    ) -> Provisioned:
        renamed = new.get("Name") is not None and new.get("Name") != old.get("Name")
        if renamed or _bus(new) != _bus(old):
            return self.create(logical_id, new, stack_name)
        name = physical_id.rsplit("|", 1)[-1]
        kept = {target["Id"] for target in new.get("Targets") or []}
        dropped = [target["Id"] for target in old.get("Targets") or [] if target["Id"] not in kept]
        if dropped:
            self.client().remove_targets(Rule=name, EventBusName=_bus(new), Ids=dropped)
        return physical_id, {"Arn": self._put(name, new, tags=[])}

    def delete(self, physical_id: str, props: Properties) -> None:
        name, events = physical_id.rsplit("|", 1)[-1], self.client()
        ids = [
            target["Id"]
            for target in events.list_targets_by_rule(Rule=name, EventBusName=_bus(props))["Targets"]
        ]
        if ids:
            events.remove_targets(Rule=name, EventBusName=_bus(props), Ids=ids)
        events.delete_rule(Name=name, EventBusName=_bus(props))

    def _put(self, name: str, props: Properties, *, tags: list[dict[str, str]]) -> str:
        events = self.client()
        pattern = props.get("EventPattern")
        arn: str = events.put_rule(
            Name=name,
            EventBusName=_bus(props),
            **(
                {"EventPattern": pattern if isinstance(pattern, str) else json.dumps(pattern)}
                if pattern
                else {}
            ),
            **{key: props[key] for key in _SETTINGS if props.get(key) is not None},
            **({"Tags": tags} if tags else {}),
        )["RuleArn"]
        if props.get("Targets"):
            answer = events.put_targets(Rule=name, EventBusName=_bus(props), Targets=props["Targets"])
            if answer.get("FailedEntryCount"):
                failures = "; ".join(
                    f"{entry['TargetId']}: {entry['ErrorCode']}: {entry['ErrorMessage']}"
                    for entry in answer["FailedEntries"]
                )
                raise ProviderError(f"EventBridge refused target(s) of rule {name}: {failures}")
        return arn


def _bus(props: Properties) -> Any:
    return props.get("EventBusName") or DEFAULT_BUS
