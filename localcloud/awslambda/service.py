"""The Lambda API (botocore's ``lambda`` model, REST-JSON) over localcloud's worker pools.

Operations: CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions,
UpdateFunctionConfiguration, UpdateFunctionCode, DeleteFunction, Invoke (RequestResponse, Event,
DryRun), Put/Get/DeleteFunctionConcurrency, TagResource/UntagResource/ListTags. Anything else
answers ``NotImplemented`` naming the operation.

Functions are stored in the ``lambda.functions`` collection; packages under
``<home>/lambda/<name>/``. Only ``$LATEST`` exists (no versions or aliases).

In-process callers (part B's Step Functions integration) may use ``invoke_function`` directly.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

from localcloud.awslambda import code as code_packages
from localcloud.awslambda.exceptions import (
    InvalidParameterValueException,
    InvalidRequestContentException,
    RequestTooLargeException,
    ResourceConflictException,
    ResourceNotFoundException,
    error_body,
)
from localcloud.awslambda.logs import LogShipper
from localcloud.awslambda.models import (
    LATEST,
    CodePackage,
    FunctionRecord,
    parse_function_name,
    validate_name,
    validate_settings,
)
from localcloud.awslambda.pool import ConcurrencyLimit, Environment, FunctionPool, Invocation, InvokeResult
from localcloud.server.protocols import RestJsonProtocol
from localcloud.server.registry import ProtocolService, ServiceContext
from localcloud.state import Collection

log = logging.getLogger("localcloud.lambda")

MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD = 256 * 1024
IDLE_SECONDS = float(os.environ.get("LOCALCLOUD_LAMBDA_IDLE_SECONDS", "300"))
ACCOUNT_CONCURRENCY = int(os.environ.get("LOCALCLOUD_LAMBDA_CONCURRENCY", "1000"))


class LambdaService(ProtocolService):
    signing_name = "lambda"
    title = "Lambda"

    def __init__(self) -> None:
        self.protocol = RestJsonProtocol("lambda", error_body=error_body)
        self._context: ServiceContext | None = None
        self._functions: Collection | None = None
        self._pools: dict[str, FunctionPool] = {}
        self._logs: LogShipper | None = None
        self._account = ConcurrencyLimit(ACCOUNT_CONCURRENCY)
        self._background: set[asyncio.Task[Any]] = set()
        self._reaper: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self, context: ServiceContext) -> None:
        self._context = context
        self._functions = context.store.collection("lambda.functions")
        self._logs = LogShipper(lambda: context.client("logs"))
        self._logs.start()
        self._reaper = asyncio.create_task(self._reap_idle(), name="lambda-idle-reaper")

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*(pool.shutdown() for pool in self._pools.values()), return_exceptions=True)
        if self._logs is not None:
            await asyncio.to_thread(self._logs.stop)

    async def _reap_idle(self) -> None:
        while True:
            await asyncio.sleep(min(30.0, IDLE_SECONDS))
            for pool in list(self._pools.values()):
                await pool.retire_idle(older_than=IDLE_SECONDS)

    @property
    def context(self) -> ServiceContext:
        assert self._context is not None, "the Lambda service was not started"
        return self._context

    @property
    def functions(self) -> Collection:
        assert self._functions is not None, "the Lambda service was not started"
        return self._functions

    # -- records -----------------------------------------------------------------------------------
    def _get(self, function_name: str, qualifier: str | None = None) -> FunctionRecord:
        name, qualifier = parse_function_name(function_name, qualifier)
        doc = self.functions.get(name)
        if doc is None or qualifier not in (None, LATEST):
            suffix = f":{qualifier}" if qualifier else ""
            raise ResourceNotFoundException(
                f"Function not found: {self.context.arn('lambda', f'function:{name}')}{suffix}"
            )
        return FunctionRecord.from_json(doc)

    async def _save(self, record: FunctionRecord) -> None:
        self.functions.put(record.name, record.to_json())
        pool = self._pools.get(record.name)
        if pool is not None:
            await pool.reconfigure(record)

    def _pool(self, record: FunctionRecord) -> FunctionPool:
        pool = self._pools.get(record.name)
        if pool is None:
            assert self._logs is not None
            env = Environment(self.context.endpoint_url, self.context.region, self.context.credentials)
            pool = FunctionPool(record, env=env, logs=self._logs, account=self._account)
            self._pools[record.name] = pool
        else:
            pool.fn = record  # the stored record is the truth (another request may have changed it)
        return pool

    def _code_root(self, name: str) -> Path:
        return self.context.home / "lambda" / name

    async def _package(self, name: str, params: dict[str, Any]) -> CodePackage:
        """The code of CreateFunction's ``Code`` or UpdateFunctionCode's members."""
        if params.get("ImageUri"):
            raise InvalidParameterValueException(
                "localcloud runs Zip functions only: container images are not supported"
            )
        if params.get("ZipFile") is not None:
            data: bytes = params["ZipFile"]
            return await asyncio.to_thread(
                code_packages.from_zip, data, root=self._code_root(name), source="ZipFile"
            )
        bucket, key = params.get("S3Bucket"), params.get("S3Key")
        if bucket and key:
            if bucket == code_packages.HOT_RELOAD_BUCKET:
                return await asyncio.to_thread(code_packages.from_folder, key)
            data = await asyncio.to_thread(self._s3_object, bucket, key, params.get("S3ObjectVersion"))
            return await asyncio.to_thread(
                code_packages.from_zip, data, root=self._code_root(name), source=f"s3://{bucket}/{key}"
            )
        raise InvalidParameterValueException("Please provide a source for function code.")

    def _s3_object(self, bucket: str, key: str, version: str | None) -> bytes:
        s3 = self.context.client("s3")
        extra = {"VersionId": version} if version else {}
        try:
            body: bytes = s3.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
        except s3.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            raise InvalidParameterValueException(
                f"Error occurred while GetObject. S3 Error Code: {error.get('Code')}. "
                f"S3 Error Message: {error.get('Message')}"
            ) from exc
        return body

    # -- operations ----------------------------------------------------------------------------------
    async def create_function(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["FunctionName"]
        validate_name(name)
        if params.get("PackageType", "Zip") != "Zip":
            raise InvalidParameterValueException(
                "localcloud runs Zip functions only: container images are not supported"
            )
        for required in ("Runtime", "Handler"):
            if not params.get(required):
                raise InvalidParameterValueException(
                    f"{required} is required for .zip file archive functions."
                )
        validate_settings(params)
        if self.functions.get(name) is not None:
            raise ResourceConflictException(f"Function already exist: {name}")
        package = await self._package(name, params["Code"])
        logging_config = params.get("LoggingConfig") or {}
        record = FunctionRecord(
            name=name,
            arn=self.context.arn("lambda", f"function:{name}"),
            runtime=params["Runtime"],
            role=params["Role"],
            handler=params["Handler"],
            code=package,
            description=params.get("Description", ""),
            timeout=params.get("Timeout", 3),
            memory_size=params.get("MemorySize", 128),
            environment=dict((params.get("Environment") or {}).get("Variables") or {}),
            architectures=tuple(params.get("Architectures") or ("x86_64",)),
            ephemeral_storage=(params.get("EphemeralStorage") or {}).get("Size", 512),
            tracing_mode=(params.get("TracingConfig") or {}).get("Mode", "PassThrough"),
            log_group=logging_config.get("LogGroup") or f"/aws/lambda/{name}",
            layers=tuple(params.get("Layers") or ()),
            tags=dict(params.get("Tags") or {}),
        )
        self.functions.put(name, record.to_json())
        return record.configuration()

    async def get_function(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._get(params["FunctionName"], params.get("Qualifier"))
        result: dict[str, Any] = {
            "Configuration": record.configuration(),
            "Code": {
                "RepositoryType": "S3" if record.code.kind == "zip" else "Local",
                "Location": record.code.source
                if record.code.kind == "folder"
                else f"file://{record.code.path}",
            },
        }
        if record.tags:
            result["Tags"] = dict(record.tags)
        if record.reserved_concurrency is not None:
            result["Concurrency"] = {"ReservedConcurrentExecutions": record.reserved_concurrency}
        return result

    async def get_function_configuration(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._get(params["FunctionName"], params.get("Qualifier")).configuration()

    async def list_functions(self, params: dict[str, Any]) -> dict[str, Any]:
        docs = dict(self.functions.items())
        names = sorted(docs)
        marker = params.get("Marker")
        start = 0
        if marker:
            try:
                start = names.index(marker)
            except ValueError as exc:
                raise InvalidParameterValueException(f"Invalid marker: {marker}") from exc
        limit = params.get("MaxItems") or 50
        if not 1 <= limit <= 10000:
            raise InvalidParameterValueException("MaxItems must be between 1 and 10000")
        page = names[start : start + limit]
        result: dict[str, Any] = {
            "Functions": [FunctionRecord.from_json(docs[name]).configuration() for name in page]
        }
        if start + limit < len(names):
            result["NextMarker"] = names[start + limit]
        return result

    async def update_function_configuration(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._get(params["FunctionName"])
        self._check_revision(record, params)
        validate_settings(params)
        changes: dict[str, Any] = {}
        simple = {"Runtime": "runtime", "Role": "role", "Handler": "handler", "Description": "description",
                  "Timeout": "timeout", "MemorySize": "memory_size"}  # fmt: skip
        for member, attribute in simple.items():
            if member in params:
                changes[attribute] = params[member]
        if "Environment" in params:
            changes["environment"] = dict((params["Environment"] or {}).get("Variables") or {})
        if "EphemeralStorage" in params:
            changes["ephemeral_storage"] = params["EphemeralStorage"]["Size"]
        if "TracingConfig" in params:
            changes["tracing_mode"] = params["TracingConfig"].get("Mode", "PassThrough")
        if (params.get("LoggingConfig") or {}).get("LogGroup"):
            changes["log_group"] = params["LoggingConfig"]["LogGroup"]
        if "Layers" in params:
            changes["layers"] = tuple(params["Layers"] or ())
        updated = record.updated(**changes)
        await self._save(updated)
        return updated.configuration()

    async def update_function_code(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._get(params["FunctionName"])
        self._check_revision(record, params)
        if params.get("Architectures"):
            record = record.updated(architectures=tuple(params["Architectures"]))
        package = await self._package(record.name, params)
        updated = record.updated(code=package)
        if params.get("DryRun"):
            return updated.configuration()
        await self._save(updated)
        await asyncio.to_thread(
            code_packages.remove_unused,
            self._code_root(record.name),
            package.path if package.kind == "zip" else None,
        )
        return updated.configuration()

    async def delete_function(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._get(params["FunctionName"], params.get("Qualifier"))
        if params.get("Qualifier") not in (None, LATEST):
            raise InvalidParameterValueException(
                "localcloud keeps only $LATEST: delete the function without a qualifier"
            )
        self.functions.delete(record.name)
        pool = self._pools.pop(record.name, None)
        if pool is not None:
            await pool.shutdown()
        if self._logs is not None:
            self._logs.forget_group(record.log_group)
        await asyncio.to_thread(code_packages.remove_unused, self._code_root(record.name), None)
        return {}

    async def put_function_concurrency(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._get(params["FunctionName"])
        reserved = params["ReservedConcurrentExecutions"]
        if reserved < 0 or reserved > self._account.limit:
            raise InvalidParameterValueException(
                f"Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution "
                f"below its minimum value of [{0}]."
            )
        await self._save(record.updated(reserved_concurrency=reserved))
        return {"ReservedConcurrentExecutions": reserved}

    async def get_function_concurrency(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._get(params["FunctionName"])
        if record.reserved_concurrency is None:
            return {}
        return {"ReservedConcurrentExecutions": record.reserved_concurrency}

    async def delete_function_concurrency(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._get(params["FunctionName"])
        await self._save(record.updated(reserved_concurrency=None))
        return {}

    async def list_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"Tags": dict(self._get(params["Resource"]).tags)}

    async def tag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._get(params["Resource"])
        self.functions.put(record.name, record.updated(tags={**record.tags, **params["Tags"]}).to_json())
        return {}

    async def untag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._get(params["Resource"])
        tags = {key: value for key, value in record.tags.items() if key not in set(params["TagKeys"])}
        self.functions.put(record.name, record.updated(tags=tags).to_json())
        return {}

    async def invoke(self, params: dict[str, Any]) -> dict[str, Any]:
        invocation_type = params.get("InvocationType") or "RequestResponse"
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            raise InvalidParameterValueException(f"Unsupported invocation type: {invocation_type}")
        payload: bytes = params.get("Payload") or b""
        client_context = _client_context(params.get("ClientContext"))
        result = await self.invoke_function(
            params["FunctionName"],
            payload,
            invocation_type=invocation_type,
            qualifier=params.get("Qualifier"),
            client_context=client_context,
        )
        if invocation_type == "Event":
            return {"StatusCode": 202, "Payload": b""}
        if invocation_type == "DryRun":
            return {"StatusCode": 204, "Payload": b""}
        response: dict[str, Any] = {"StatusCode": 200, "Payload": result.payload, "ExecutedVersion": LATEST}
        if result.function_error:
            response["FunctionError"] = result.function_error
        if params.get("LogType") == "Tail":
            response["LogResult"] = result.log_tail
        return response

    # -- the in-process API ----------------------------------------------------------------------------
    async def invoke_function(
        self,
        function_name: str,
        payload: bytes,
        *,
        invocation_type: str = "RequestResponse",
        qualifier: str | None = None,
        client_context: dict[str, Any] | None = None,
    ) -> InvokeResult:
        """Invoke as the Invoke API does; Event returns at once with an empty result."""
        record = self._get(function_name, qualifier)
        limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
        if len(payload) > limit:
            raise RequestTooLargeException(
                f"{len(payload)} byte payload is too large for the {invocation_type} invocation type "
                f"(limit {limit} bytes)"
            )
        if payload:
            _check_json(payload)
        if invocation_type == "DryRun":
            return InvokeResult(payload=b"")
        pool = self._pool(record)
        invocation = Invocation(
            request_id=str(uuid.uuid4()),
            payload=payload,
            invoked_arn=record.arn if qualifier is None else f"{record.arn}:{qualifier}",
            client_context=client_context,
        )
        if invocation_type == "Event":
            task = asyncio.create_task(self._invoke_event(pool, invocation))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return InvokeResult(payload=b"")
        return await pool.invoke(invocation)

    async def _invoke_event(self, pool: FunctionPool, invocation: Invocation) -> None:
        # Lambda queues asynchronous invocations and runs them as concurrency allows.
        try:
            result = await pool.invoke(invocation, wait_for_slot=True)
        except Exception:
            log.exception("asynchronous invocation of %s failed", pool.fn.name)
            return
        if result.function_error:
            log.info(
                "asynchronous invocation %s of %s failed: %s",
                invocation.request_id,
                pool.fn.name,
                result.error_type,
            )

    @staticmethod
    def _check_revision(record: FunctionRecord, params: dict[str, Any]) -> None:
        expected = params.get("RevisionId")
        if expected and expected != record.revision_id:
            raise ResourceConflictException(
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API "
                "to retrieve the latest Revision Id"
            )


def _check_json(payload: bytes) -> None:
    try:
        json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestContentException(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from exc


def _client_context(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        decoded: dict[str, Any] = json.loads(base64.b64decode(value))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidParameterValueException(
            "Client context must be a valid Base64-encoded JSON object."
        ) from exc
    return decoded
