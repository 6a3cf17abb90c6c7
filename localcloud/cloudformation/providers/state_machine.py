"""AWS::StepFunctions::StateMachine on localcloud's Step Functions.

The definition comes from ``DefinitionString``, ``Definition`` (an object) or
``DefinitionS3Location`` (a JSON or YAML object in S3), with every ``${name}`` of
``DefinitionSubstitutions`` replaced by its value. Ref is the ARN; Fn::GetAtt gives ``Arn``,
``Name`` and ``StateMachineRevisionId``. StateMachineName and StateMachineType replace the machine
(the engine does that); everything else updates it in place through UpdateStateMachine.
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-stepfunctions-statemachine.html
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from localcloud.cloudformation.providers.base import (
    Properties,
    Provider,
    ProviderError,
    Provisioned,
    camel,
    physical_name,
    tag_changes,
    tag_list,
)

_DEFINITION_SOURCES = ("Definition", "DefinitionString", "DefinitionS3Location")


class StateMachineProvider(Provider):
    resource_type = "AWS::StepFunctions::StateMachine"
    service = "stepfunctions"
    service_title = "Sfn"
    not_found = frozenset({"StateMachineDoesNotExist"})

    def create(self, logical_id: str, props: Properties, stack_name: str) -> Provisioned:
        name = props.get("StateMachineName") or physical_name(stack_name, logical_id, 80)
        sfn = self.client()
        arn: str = sfn.create_state_machine(
            name=name,
            definition=self.definition(props),
            roleArn=props["RoleArn"],
            type=props.get("StateMachineType", "STANDARD"),
            **self._settings(props),
            **({"tags": tag_list(props, key="key", value="value")} if props.get("Tags") else {}),
        )["stateMachineArn"]
        return arn, self._attributes(arn)

    def update(
        self, physical_id: str, old: Properties, new: Properties, stack_name: str, logical_id: str
    ) -> Provisioned:
        sfn = self.client()
        sfn.update_state_machine(
            stateMachineArn=physical_id,
            definition=self.definition(new),
            roleArn=new["RoleArn"],
            **self._settings(new),
        )
        dropped, changed = tag_changes(old, new)
        if dropped:
            sfn.untag_resource(resourceArn=physical_id, tagKeys=dropped)
        if changed:
            sfn.tag_resource(
                resourceArn=physical_id, tags=[{"key": k, "value": v} for k, v in changed.items()]
            )
        return physical_id, self._attributes(physical_id)

    def delete(self, physical_id: str, props: Properties) -> None:
        self.client().delete_state_machine(stateMachineArn=physical_id)

    def _attributes(self, arn: str) -> dict[str, Any]:
        described = self.client().describe_state_machine(stateMachineArn=arn)
        return {
            "Arn": arn,
            "Name": described["name"],
            "StateMachineRevisionId": described.get("revisionId", ""),
        }

    @staticmethod
    def _settings(props: Properties) -> dict[str, Any]:
        """Logging and tracing: a template without them sets the API's defaults (an update that
        drops them turns them off, as CloudFormation does)."""
        return {
            "loggingConfiguration": camel(props.get("LoggingConfiguration") or {"Level": "OFF"}),
            "tracingConfiguration": camel(props.get("TracingConfiguration") or {"Enabled": False}),
        }

    def definition(self, props: Properties) -> str:
        given = [source for source in _DEFINITION_SOURCES if props.get(source) is not None]
        if len(given) != 1:
            raise ProviderError(
                "Properties validation failed: exactly one of Definition, DefinitionString or "
                f"DefinitionS3Location is required, found {', '.join(given) or 'none'}"
            )
        if given == ["DefinitionString"]:
            text = str(props["DefinitionString"])
        elif given == ["Definition"]:
            text = json.dumps(props["Definition"])
        else:
            text = json.dumps(self._from_s3(props["DefinitionS3Location"]))
        for name, value in (props.get("DefinitionSubstitutions") or {}).items():
            text = text.replace("${" + name + "}", _substitution(value))
        return text

    def _from_s3(self, location: dict[str, Any]) -> Any:
        extra = {"VersionId": location["Version"]} if location.get("Version") else {}
        s3 = self.context.shared_client("s3")
        body = s3.get_object(Bucket=location["Bucket"], Key=location["Key"], **extra)["Body"].read()
        try:
            return yaml.safe_load(body)  # JSON is YAML too
        except yaml.YAMLError as exc:
            where = f"s3://{location['Bucket']}/{location['Key']}"
            raise ProviderError(f"the definition at {where} is neither JSON nor YAML: {exc}") from exc


def _substitution(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
