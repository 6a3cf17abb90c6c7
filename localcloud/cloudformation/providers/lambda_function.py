"""AWS::Lambda::Function on localcloud's Lambda.

The code is the template's ``Code``: an object in S3 (the CDK's asset in its staging bucket) or
inline ``ZipFile`` source, packaged as ``index.py`` as CloudFormation does for Python. Ref is the
function's name; Fn::GetAtt gives ``Arn``. ``ReservedConcurrentExecutions`` goes through
Put/DeleteFunctionConcurrency. FunctionName replaces the function (the engine does that); an update
changes the configuration in place, and the code when ``Code`` (or the architecture) changed.
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-function.html
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from localcloud.cloudformation.providers.base import (
    Properties,
    Provider,
    Provisioned,
    physical_name,
    tag_changes,
    tag_map,
)

# What CreateFunction takes as the template gives it (the template's names are the API's).
_CONFIGURATION = (
    "Runtime",
    "Role",
    "Handler",
    "Description",
    "Timeout",
    "MemorySize",
    "Environment",
    "TracingConfig",
    "LoggingConfig",
    "Layers",
    "EphemeralStorage",
    "DeadLetterConfig",
    "KMSKeyArn",
    "VpcConfig",
    "FileSystemConfigs",
    "ImageConfig",
    "SnapStart",
)
# What an update sends for a property the template no longer has: Lambda's default.
_DEFAULTS: dict[str, Any] = {
    "Description": "",
    "Timeout": 3,
    "MemorySize": 128,
    "Environment": {"Variables": {}},
    "TracingConfig": {"Mode": "PassThrough"},
    "Layers": [],
    "EphemeralStorage": {"Size": 512},
}


class LambdaFunctionProvider(Provider):
    resource_type = "AWS::Lambda::Function"
    service = "lambda"
    service_title = "Lambda"
    not_found = frozenset({"ResourceNotFoundException"})

    def create(self, logical_id: str, props: Properties, stack_name: str) -> Provisioned:
        name = props.get("FunctionName") or physical_name(stack_name, logical_id, 64)
        lam = self.client()
        created = lam.create_function(
            FunctionName=name,
            Code=_code(props),
            PackageType=props.get("PackageType", "Zip"),
            Architectures=props.get("Architectures") or ["x86_64"],
            **{key: props[key] for key in _CONFIGURATION if props.get(key) is not None},
            **({"Tags": tag_map(props)} if props.get("Tags") else {}),
        )
        if props.get("ReservedConcurrentExecutions") is not None:
            self._concurrency(name, props)
        return name, {"Arn": created["FunctionArn"]}

    def update(
        self, physical_id: str, old: Properties, new: Properties, stack_name: str, logical_id: str
    ) -> Provisioned:
        lam = self.client()
        configuration = {key: new[key] for key in _CONFIGURATION if new.get(key) is not None}
        dropped = {key: value for key, value in _DEFAULTS.items() if key not in configuration and key in old}
        updated = lam.update_function_configuration(FunctionName=physical_id, **configuration, **dropped)
        if (old.get("Code"), old.get("Architectures")) != (new.get("Code"), new.get("Architectures")):
            lam.update_function_code(
                FunctionName=physical_id,
                Architectures=new.get("Architectures") or ["x86_64"],
                **_code(new),
            )
        if old.get("ReservedConcurrentExecutions") != new.get("ReservedConcurrentExecutions"):
            self._concurrency(physical_id, new)
        untag, tag = tag_changes(old, new)
        if untag:
            lam.untag_resource(Resource=updated["FunctionArn"], TagKeys=untag)
        if tag:
            lam.tag_resource(Resource=updated["FunctionArn"], Tags=tag)
        return physical_id, {"Arn": updated["FunctionArn"]}

    def delete(self, physical_id: str, props: Properties) -> None:
        self.client().delete_function(FunctionName=physical_id)

    def _concurrency(self, name: str, props: Properties) -> None:
        reserved = props.get("ReservedConcurrentExecutions")
        if reserved is None:
            self.client().delete_function_concurrency(FunctionName=name)
        else:
            self.client().put_function_concurrency(
                FunctionName=name, ReservedConcurrentExecutions=int(reserved)
            )


def _code(props: Properties) -> dict[str, Any]:
    code = dict(props.get("Code") or {})
    source = code.pop("ZipFile", None)
    if source is not None:
        # Inline source: CloudFormation writes it as index.<extension> of the runtime.
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("index.py", str(source))
        code["ZipFile"] = package.getvalue()
    return code
