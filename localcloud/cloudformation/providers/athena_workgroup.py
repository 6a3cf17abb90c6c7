"""AWS::Athena::WorkGroup on localcloud's Athena.

Ref is the workgroup's name; Fn::GetAtt gives ``CreationTime`` and
``WorkGroupConfiguration.EngineVersion.EffectiveEngineVersion``. Name replaces the workgroup (the
engine does that); an update sends the new configuration through UpdateWorkGroup, removing what
the template dropped. A delete honours ``RecursiveDeleteOption``.
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-athena-workgroup.html
"""

from __future__ import annotations

from typing import Any

from localcloud.cloudformation.providers.base import Properties, Provider, Provisioned, tag_list

ENGINE_VERSION = "Athena engine version 3"  # the only engine localcloud's Athena behaves like

# WorkGroupConfiguration members sent as they are; the rest of the configuration is a
# ResultConfiguration (sent as ResultConfigurationUpdates) or a cutoff that may be removed.
_PLAIN_SETTINGS = (
    "EnforceWorkGroupConfiguration",
    "PublishCloudWatchMetricsEnabled",
    "RequesterPaysEnabled",
    "EngineVersion",
)
_RESULT_SETTINGS = ("OutputLocation", "EncryptionConfiguration", "ExpectedBucketOwner", "AclConfiguration")


class AthenaWorkGroupProvider(Provider):
    resource_type = "AWS::Athena::WorkGroup"
    service = "athena"
    service_title = "Athena"
    not_found = frozenset({"ResourceNotFoundException"})

    def create(self, logical_id: str, props: Properties, stack_name: str) -> Provisioned:
        name = props["Name"]
        athena = self.client()
        athena.create_work_group(
            Name=name,
            Description=props.get("Description", ""),
            Configuration=props.get("WorkGroupConfiguration") or {},
            **({"Tags": tag_list(props)} if props.get("Tags") else {}),
        )
        if props.get("State", "ENABLED") != "ENABLED":
            athena.update_work_group(WorkGroup=name, State=props["State"])
        return name, self._attributes(name)

    def update(
        self, physical_id: str, old: Properties, new: Properties, stack_name: str, logical_id: str
    ) -> Provisioned:
        self.client().update_work_group(
            WorkGroup=physical_id,
            Description=new.get("Description", ""),
            State=new.get("State", "ENABLED"),
            ConfigurationUpdates=configuration_updates(
                old.get("WorkGroupConfiguration") or {}, new.get("WorkGroupConfiguration") or {}
            ),
        )
        return physical_id, self._attributes(physical_id)

    def delete(self, physical_id: str, props: Properties) -> None:
        self.client().delete_work_group(
            WorkGroup=physical_id, RecursiveDeleteOption=bool(props.get("RecursiveDeleteOption", False))
        )

    def _attributes(self, name: str) -> dict[str, Any]:
        group = self.client().get_work_group(WorkGroup=name)["WorkGroup"]
        return {
            "CreationTime": group["CreationTime"].isoformat(),
            "WorkGroupConfiguration.EngineVersion.EffectiveEngineVersion": ENGINE_VERSION,
        }


def configuration_updates(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """UpdateWorkGroup's ConfigurationUpdates that take a workgroup from ``old`` to ``new``."""
    updates: dict[str, Any] = {key: new[key] for key in _PLAIN_SETTINGS if key in new}
    if "BytesScannedCutoffPerQuery" in new:
        updates["BytesScannedCutoffPerQuery"] = new["BytesScannedCutoffPerQuery"]
    elif "BytesScannedCutoffPerQuery" in old:
        updates["RemoveBytesScannedCutoffPerQuery"] = True
    before, after = old.get("ResultConfiguration") or {}, new.get("ResultConfiguration") or {}
    result: dict[str, Any] = {key: after[key] for key in _RESULT_SETTINGS if key in after}
    result.update({f"Remove{key}": True for key in _RESULT_SETTINGS if key in before and key not in after})
    if result:
        updates["ResultConfigurationUpdates"] = result
    return updates
