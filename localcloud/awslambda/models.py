"""A Lambda function as localcloud stores it, and the checks Lambda makes on its configuration."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from localcloud.awslambda.exceptions import InvalidParameterValueException, ResourceNotFoundException

LATEST = "$LATEST"
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY = 128
MAX_TIMEOUT = 900

# Keys Lambda sets itself and refuses in a function's Environment.
RESERVED_ENV_KEYS = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)

# AWS's published Powertools for AWS Lambda (Python) v3 layers: localcloud's runtime already has
# that library installed (as AWS's runtime has boto3), so a function naming one of these layers
# gets what the layer would add. Any other layer is refused: its content could not be supplied.
_PROVIDED_LAYER = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:017000801446:layer:AWSLambdaPowertoolsPythonV3-[a-z0-9_-]+:\d+$"
)

_NAME = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
_ROLE = re.compile(r"^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
_PYTHON_RUNTIME = re.compile(r"^python3\.\d+$")
_FUNCTION_ARN = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"|(?P<account2>\d{12}):function:)?(?P<name>[a-zA-Z0-9-_]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?$"
)


def lambda_timestamp(when: dt.datetime | None = None) -> str:
    """Lambda's LastModified format: ``2024-01-31T12:00:00.000+0000``."""
    when = when or dt.datetime.now(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


def parse_function_name(value: str, qualifier: str | None = None) -> tuple[str, str | None]:
    """A name, ARN or partial ARN -> (name, qualifier). Lambda accepts all three forms."""
    found = _FUNCTION_ARN.match(value)
    if not found:
        raise ResourceNotFoundException(f"Function not found: {value}")
    arn_qualifier = found.group("qualifier")
    if qualifier and arn_qualifier and qualifier != arn_qualifier:
        raise InvalidParameterValueException(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    return found.group("name"), qualifier or arn_qualifier


@dataclass(frozen=True)
class CodePackage:
    kind: str  # "zip": extracted from a package; "folder": a local source folder, used in place
    path: str  # the extracted folder, or the source folder
    sha256: str  # base64, as Lambda reports CodeSha256
    size: int
    source: str  # "ZipFile", "s3://bucket/key", or the folder


@dataclass(frozen=True)
class FunctionRecord:
    name: str
    arn: str
    runtime: str
    role: str
    handler: str
    code: CodePackage
    description: str = ""
    timeout: int = DEFAULT_TIMEOUT
    memory_size: int = DEFAULT_MEMORY
    environment: dict[str, str] = field(default_factory=dict)
    architectures: tuple[str, ...] = ("x86_64",)
    ephemeral_storage: int = 512
    tracing_mode: str = "PassThrough"
    log_group: str = ""
    reserved_concurrency: int | None = None
    layers: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    last_modified: str = field(default_factory=lambda_timestamp)
    revision_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["architectures"] = list(self.architectures)
        data["layers"] = list(self.layers)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FunctionRecord:
        values = dict(data)
        values["code"] = CodePackage(**values["code"])
        values["architectures"] = tuple(values.get("architectures", ("x86_64",)))
        values["layers"] = tuple(values.get("layers", ()))
        return cls(**values)

    def runtime_identity(self) -> tuple[Any, ...]:
        """What a running worker was started from: when it changes, warm workers must go
        (a change of reserved concurrency, tags or description keeps them)."""
        return (
            self.code.sha256,
            self.code.path,
            self.runtime,
            self.handler,
            self.memory_size,
            self.log_group,
            tuple(sorted(self.environment.items())),
        )

    def updated(self, **changes: Any) -> FunctionRecord:
        return replace(self, last_modified=lambda_timestamp(), revision_id=str(uuid.uuid4()), **changes)

    def configuration(self) -> dict[str, Any]:
        """The FunctionConfiguration shape Lambda returns."""
        config: dict[str, Any] = {
            "FunctionName": self.name,
            "FunctionArn": self.arn,
            "Runtime": self.runtime,
            "Role": self.role,
            "Handler": self.handler,
            "CodeSize": self.code.size,
            "Description": self.description,
            "Timeout": self.timeout,
            "MemorySize": self.memory_size,
            "LastModified": self.last_modified,
            "CodeSha256": self.code.sha256,
            "Version": LATEST,
            "TracingConfig": {"Mode": self.tracing_mode},
            "RevisionId": self.revision_id,
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": list(self.architectures),
            "EphemeralStorage": {"Size": self.ephemeral_storage},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": self.log_group},
            "RuntimeVersionConfig": {
                "RuntimeVersionArn": f"arn:aws:lambda:::runtime:localcloud-{self.runtime}"
            },
        }
        if self.environment:
            config["Environment"] = {"Variables": dict(self.environment)}
        if self.layers:
            # The layer's content is the runtime's own library: nothing of it is stored here.
            config["Layers"] = [{"Arn": arn, "CodeSize": 0} for arn in self.layers]
        return config


def validate_settings(params: dict[str, Any]) -> None:
    """Lambda's checks on the settings CreateFunction and UpdateFunctionConfiguration share."""
    runtime = params.get("Runtime")
    if runtime is not None and not _PYTHON_RUNTIME.match(runtime):
        raise InvalidParameterValueException(
            f"The runtime parameter of {runtime} is not supported by localcloud: functions run on this "
            "machine's Python, so only python3.x runtimes are accepted."
        )
    role = params.get("Role")
    if role is not None and not _ROLE.match(role):
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{role}' at 'role' failed to satisfy constraint: "
            f"Member must "
            r"satisfy regular expression pattern: "
            r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
        )
    timeout = params.get("Timeout")
    if timeout is not None and not 1 <= timeout <= MAX_TIMEOUT:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{timeout}' at 'timeout' failed to satisfy constraint: "
            f"Member must have value {_bound(timeout, 1, MAX_TIMEOUT)}"
        )
    memory = params.get("MemorySize")
    if memory is not None and not 128 <= memory <= 10240:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{memory}' at 'memorySize' failed to satisfy constraint: "
            f"Member must have value {_bound(memory, 128, 10240)}"
        )
    handler = params.get("Handler")
    if handler is not None and "." not in handler:
        raise InvalidParameterValueException(
            f"Handler '{handler}' is not of the form module.function (for example app.handler)."
        )
    variables = (params.get("Environment") or {}).get("Variables") or {}
    reserved = sorted(set(variables) & RESERVED_ENV_KEYS)
    if reserved:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the environment variables you "
            "have provided contains reserved keys that are currently not supported for modification. "
            f"Reserved keys used in this request: {', '.join(reserved)}"
        )
    unknown_layers = [arn for arn in params.get("Layers") or () if not _PROVIDED_LAYER.match(arn)]
    if unknown_layers:
        raise InvalidParameterValueException(
            f"localcloud does not support Lambda layers ({', '.join(unknown_layers)}): the function's "
            "dependencies come from its package and from the Python environment localcloud runs in "
            "(which has boto3 and aws-lambda-powertools, so AWS's Powertools for AWS Lambda (Python) v3 "
            "layers are accepted)."
        )
    for unsupported in ("VpcConfig", "FileSystemConfigs", "ImageConfig", "KMSKeyArn", "CodeSigningConfigArn"):
        value = params.get(unsupported)
        if value and any(value.values() if isinstance(value, dict) else value):
            raise InvalidParameterValueException(f"localcloud does not support {unsupported} on functions")


def _bound(value: int, low: int, high: int) -> str:
    return f"greater than or equal to {low}" if value < low else f"less than or equal to {high}"


def validate_name(name: str) -> None:
    if not _NAME.match(name):
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ (1 to 64 characters)"
        )
