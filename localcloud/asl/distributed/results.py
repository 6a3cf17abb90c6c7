"""What a Distributed Map returns, and ResultWriter (the guide's "ResultWriter (Map)").

Without ResultWriter the Map's result is the children's outputs in item order (a failed child whose
failure was tolerated appears as its full execution result, as the guide's note on transformations
says). With ResultWriter:

* ``Resource`` + ``Parameters``/``Arguments`` (Bucket, Prefix): the results go to S3 as
  ``<Prefix>/<MapRunId>/manifest.json`` plus ``SUCCEEDED_n.json``, ``FAILED_n.json`` and
  ``PENDING_n.json`` (executions of one status each; failed, timed out and aborted ones in FAILED;
  never started ones in PENDING), and the Map's result is ``{"MapRunArn", "ResultWriterDetails":
  {"Bucket", "Key"}}`` where Key is the manifest's;
* ``WriterConfig`` (``Transformation`` NONE | COMPACT | FLATTEN, ``OutputType`` JSON | JSONL)
  formats the results: alone it only shapes the Map's result; with Resource it shapes the files.

Entries in NONE form carry the child execution's metadata (ExecutionArn, Input, InputDetails, Name,
Output, OutputDetails, RedriveCount, RedriveStatus, RedriveStatusReason, StartDate,
StateMachineArn, Status, StopDate; Error and Cause when it failed), keys in the guide's order, with
Input and Output as JSON text. Writing fails with ``States.ResultWriterFailed``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localcloud.asl.checker import Checker, pointer
from localcloud.asl.errors import RESULT_WRITER_FAILED, StatesFailure
from localcloud.asl.execution_json import describe_execution_json
from localcloud.asl.history import iso
from localcloud.asl.integrations.sdk import describe_failure
from localcloud.asl.payload import to_json

if TYPE_CHECKING:
    from localcloud.asl.distributed.map_run import MapRun
    from localcloud.asl.states.base import StateRun
    from localcloud.asl.store import ExecutionRecord

PUT_OBJECT = "arn:aws:states:::s3:putObject"
TRANSFORMATIONS = ("NONE", "COMPACT", "FLATTEN")
OUTPUT_TYPES = ("JSON", "JSONL")


@dataclass(frozen=True)
class ResultWriterSpec:
    resource: str | None
    parameters: Any
    transformation: str | None  # None: WriterConfig absent
    output_type: str

    @classmethod
    def parse(cls, raw: Any, at: str, check: Checker, *, jsonata: bool) -> ResultWriterSpec | None:
        if not isinstance(raw, dict):
            check.add(at, "The value for the field 'ResultWriter' must be an OBJECT")
            return None
        params_key = "Arguments" if jsonata else "Parameters"
        check.allowed_fields(raw, {"Resource", params_key, "WriterConfig"}, at, "ResultWriter")
        resource = check.string(raw, "Resource", at)
        if resource is not None and resource != PUT_OBJECT:
            check.add(
                pointer(at, "Resource"), f"The ResultWriter resource must be {PUT_OBJECT}, got '{resource}'"
            )
        params = raw.get(params_key)
        if resource is not None and params_key not in raw:
            check.add(at, f"These fields are required: [{params_key}]")
        if params_key in raw and resource is None:
            check.add(at, "These fields are required: [Resource]")
        if params_key in raw:
            if jsonata:
                check.jsonata_template(params, pointer(at, params_key))
            elif not isinstance(params, dict):
                check.add(
                    pointer(at, params_key), f"The value for the field '{params_key}' must be an OBJECT"
                )
            else:
                check.payload_template(params, pointer(at, params_key))
        transformation: str | None = None
        output_type = "JSON"
        if "WriterConfig" in raw:
            config = raw["WriterConfig"]
            config_at = pointer(at, "WriterConfig")
            if not isinstance(config, dict):
                check.add(config_at, "The value for the field 'WriterConfig' must be an OBJECT")
                config = {}
            check.allowed_fields(config, {"Transformation", "OutputType"}, config_at, "WriterConfig")
            transformation = config.get("Transformation", "NONE")
            if transformation not in TRANSFORMATIONS:
                check.add(
                    pointer(config_at, "Transformation"),
                    "The value for the field 'Transformation' must be NONE, COMPACT or FLATTEN",
                )
            output_type = config.get("OutputType", "JSON")
            if output_type not in OUTPUT_TYPES:
                check.add(
                    pointer(config_at, "OutputType"),
                    "The value for the field 'OutputType' must be JSON or JSONL",
                )
        if resource is None and "WriterConfig" not in raw:
            check.add(
                at,
                "The field 'ResultWriter' cannot be empty: give WriterConfig, or Resource and "
                f"{params_key}, or all three",
            )
        return cls(resource, params, transformation, output_type)

    @property
    def exports(self) -> bool:
        return self.resource is not None

    def destination(self, run: StateRun, effective_input: Any) -> tuple[str, str]:
        value = (
            run.jsonata(self.parameters, "ResultWriter/Arguments")
            if run.state.jsonata
            else run.template(self.parameters, effective_input)
        )
        if not isinstance(value, dict) or not isinstance(value.get("Bucket"), str):
            raise StatesFailure(RESULT_WRITER_FAILED, "The ResultWriter parameters must name a Bucket")
        prefix = value.get("Prefix", "")
        if not isinstance(prefix, str):
            raise StatesFailure(RESULT_WRITER_FAILED, "The ResultWriter Prefix must be a string")
        return value["Bucket"], prefix


# ---- result entries -------------------------------------------------------------------------------


def execution_entry(record: ExecutionRecord) -> dict[str, Any]:
    """A child execution as the NONE transformation and the result files show it."""
    if record.status == "SUCCEEDED":
        status, reason = "NOT_REDRIVABLE", "Execution is SUCCEEDED and cannot be redriven"
    else:
        status, reason = (
            ("REDRIVABLE_BY_MAP_RUN" if record.execution_type == "EXPRESS" else "REDRIVABLE"),
            None,
        )
    return describe_execution_json(
        record, parsed=False, timestamp=iso, redrive_status=status, redrive_reason=reason
    )


def pending_entry(child_input: Any) -> dict[str, Any]:
    """A child the Map Run never started (it failed or was aborted first)."""
    return {"Input": to_json(child_input), "InputDetails": {"Included": True}, "Status": "PENDING"}


def transform(entries: list[tuple[str, Any, dict[str, Any]]], transformation: str) -> list[Any]:
    """Apply WriterConfig's Transformation to ``(status, output, NONE entry)`` triples."""
    out: list[Any] = []
    for status, output, entry in entries:
        if transformation == "NONE" or status != "SUCCEEDED":
            out.append(entry)  # a failed child's result is always shown unchanged (NONE)
        elif transformation == "FLATTEN" and isinstance(output, list):
            out.extend(output)
        else:
            out.append(output)
    return out


def write(
    s3: Any,
    *,
    bucket: str,
    prefix: str,
    map_run: MapRun,
    files: dict[str, list[Any]],
    output_type: str,
) -> dict[str, Any]:
    """Write the result files and the manifest; return the Map's result."""
    folder = f"{prefix.rstrip('/')}/{map_run.uuid}" if prefix else map_run.uuid
    result_files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    try:
        for status in ("SUCCEEDED", "FAILED", "PENDING"):
            entries = files.get(status) or []
            if not entries:
                continue
            key = f"{folder}/{status}_0.json"
            body = _serialise(entries, output_type)
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            result_files[status].append({"Key": key, "Size": len(body)})
        manifest = {
            "DestinationBucket": bucket,
            "MapRunArn": map_run.map_run_arn,
            "ResultFiles": result_files,
        }
        manifest_key = f"{folder}/manifest.json"
        s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest, indent=2).encode("utf-8"))
    except StatesFailure:
        raise
    except Exception as exc:
        raise StatesFailure(RESULT_WRITER_FAILED, _cause(exc, bucket)) from exc
    return {"MapRunArn": map_run.map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}


def _serialise(entries: list[Any], output_type: str) -> bytes:
    if output_type == "JSONL":
        return "".join(to_json(entry) + "\n" for entry in entries).encode("utf-8")
    return to_json(entries).encode("utf-8")


def _cause(exc: Exception, bucket: str) -> str:
    return f"Failed to write the Map Run results to bucket '{bucket}': {describe_failure(exc, 'S3')}"
