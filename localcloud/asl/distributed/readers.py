"""ItemReader: where a Distributed Map reads its items from S3 (the guide's "ItemReader (Map)").

Parsed at definition time into an :class:`ItemReaderSpec` (every problem reported with its JSON
Pointer); :func:`read_items` runs it against a boto3-shaped S3 client. Supported:

* ``arn:aws:states:::s3:getObject`` with ``ReaderConfig.InputType`` ``CSV`` (``CSVHeaderLocation``
  FIRST_ROW or GIVEN + ``CSVHeaders``, ``CSVDelimiter``), ``JSON`` (an array, or the array an
  ``ItemsPointer`` JSON Pointer selects), ``JSONL``, and ``MANIFEST`` (an S3 inventory
  ``manifest.json``; also ``ManifestType: S3_INVENTORY``), GZIP-compressed objects (``.gz``);
* ``arn:aws:states:::s3:listObjectsV2``: one item per object, ``{Etag, Key, LastModified (epoch
  seconds), Size, StorageClass}`` as the guide shows, or with ``Transformation: LOAD_AND_FLATTEN``
  the items inside the listed objects;
* ``MaxItems`` / ``MaxItemsPath`` (and a JSONata ``MaxItems``).

Any failure to read or parse is ``States.ItemReaderFailed``. PARQUET, Athena manifests
(``ManifestType: ATHENA_DATA``) and ZSTD-compressed objects are refused, naming the field.
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localcloud.asl.checker import Checker, pointer
from localcloud.asl.distributed import delimited
from localcloud.asl.distributed.settings import NumberSetting
from localcloud.asl.errors import ITEM_READER_FAILED, StatesFailure
from localcloud.asl.integrations.sdk import describe_failure

if TYPE_CHECKING:
    from localcloud.asl.states.base import StateRun

GET_OBJECT = "arn:aws:states:::s3:getObject"
LIST_OBJECTS_V2 = "arn:aws:states:::s3:listObjectsV2"
INPUT_TYPES = ("CSV", "JSON", "JSONL", "MANIFEST")
# "You can specify a limit of up to 100,000,000 after which the Distributed Map stops reading items."
MAX_ITEMS_LIMIT = 100_000_000
_READER_CONFIG_FIELDS = {
    "InputType",
    "CSVHeaderLocation",
    "CSVHeaders",
    "CSVDelimiter",
    "MaxItems",
    "MaxItemsPath",
    "ItemsPointer",
    "Transformation",
    "ManifestType",
}


@dataclass(frozen=True)
class ItemReaderSpec:
    resource: str
    parameters: Any  # Parameters (JSONPath payload template) or Arguments (JSONata template)
    input_type: str | None
    header_location: str
    headers: tuple[str, ...]
    delimiter: str
    items_pointer: str | None
    load_and_flatten: bool
    max_items: NumberSetting | None

    # ---- definition time ---------------------------------------------------------------------

    @classmethod
    def parse(cls, raw: Any, at: str, check: Checker, *, jsonata: bool) -> ItemReaderSpec | None:
        if not isinstance(raw, dict):
            check.add(at, "The value for the field 'ItemReader' must be an OBJECT")
            return None
        params_key = "Arguments" if jsonata else "Parameters"
        check.allowed_fields(raw, {"Resource", "ReaderConfig", params_key}, at, "ItemReader")
        resource = check.string(raw, "Resource", at, required=True)
        if resource is not None and resource not in (GET_OBJECT, LIST_OBJECTS_V2):
            check.add(
                pointer(at, "Resource"),
                f"The ItemReader resource '{resource}' is not supported: use {GET_OBJECT} "
                f"or {LIST_OBJECTS_V2}",
            )
        params = raw.get(params_key)
        if params_key not in raw:
            check.add(at, f"These fields are required: [{params_key}]")
        elif jsonata:
            check.jsonata_template(params, pointer(at, params_key))
        else:
            if not isinstance(params, dict):
                check.add(
                    pointer(at, params_key), f"The value for the field '{params_key}' must be an OBJECT"
                )
            check.payload_template(params, pointer(at, params_key))
        config_at = pointer(at, "ReaderConfig")
        config = raw.get("ReaderConfig", {})
        if not isinstance(config, dict):
            check.add(config_at, "The value for the field 'ReaderConfig' must be an OBJECT")
            config = {}
        check.allowed_fields(config, _READER_CONFIG_FIELDS, config_at, "ReaderConfig")
        input_type = _input_type(config, config_at, resource, check)
        header_location, headers = _csv_headers(config, config_at, input_type, check)
        delimiter_name = config.get("CSVDelimiter", "COMMA")
        if delimiter_name not in delimited.DELIMITERS:
            check.add(
                pointer(config_at, "CSVDelimiter"),
                "The value for the field 'CSVDelimiter' must be one of " + ", ".join(delimited.DELIMITERS),
            )
            delimiter_name = "COMMA"
        items_pointer = config.get("ItemsPointer")
        if "ItemsPointer" in config and (
            not isinstance(items_pointer, str) or (items_pointer and not items_pointer.startswith("/"))
        ):
            check.add(pointer(config_at, "ItemsPointer"), "The field 'ItemsPointer' must be a JSON Pointer")
            items_pointer = None
        if "ItemsPointer" in config and input_type != "JSON":
            check.add(
                pointer(config_at, "ItemsPointer"), "The field 'ItemsPointer' applies to InputType JSON"
            )
        transformation = config.get("Transformation", "NONE")
        if transformation not in ("NONE", "LOAD_AND_FLATTEN"):
            check.add(
                pointer(config_at, "Transformation"),
                "The value for the field 'Transformation' must be NONE or LOAD_AND_FLATTEN",
            )
        load_and_flatten = transformation == "LOAD_AND_FLATTEN"
        if load_and_flatten and resource != LIST_OBJECTS_V2:
            check.add(
                pointer(config_at, "Transformation"),
                f"Transformation LOAD_AND_FLATTEN applies to {LIST_OBJECTS_V2}",
            )
        max_items = NumberSetting.parse(
            config, config_at, check, jsonata=jsonata, field="MaxItems", maximum=MAX_ITEMS_LIMIT
        )
        return cls(
            resource=resource or GET_OBJECT,
            parameters=params,
            input_type=input_type,
            header_location=header_location,
            headers=headers,
            delimiter=delimited.DELIMITERS[delimiter_name],
            items_pointer=items_pointer,
            load_and_flatten=load_and_flatten,
            max_items=max_items,
        )

    # ---- run time -------------------------------------------------------------------------------

    def arguments(self, run: StateRun, effective_input: Any) -> dict[str, Any]:
        """The S3 request parameters: Parameters (JSONPath) or Arguments (JSONata) evaluated."""
        value = (
            run.jsonata(self.parameters, "ItemReader/Arguments")
            if run.state.jsonata
            else run.template(self.parameters, effective_input)
        )
        if not isinstance(value, dict):
            raise StatesFailure(ITEM_READER_FAILED, "The ItemReader's parameters must be a JSON object")
        return value

    def limit(self, run: StateRun, effective_input: Any) -> int | None:
        if self.max_items is None:
            return None
        value = int(self.max_items.resolve(run, effective_input))
        return value or None  # 0: no limit


def _input_type(config: dict[str, Any], at: str, resource: str | None, check: Checker) -> str | None:
    input_type = config.get("InputType")
    manifest_type = config.get("ManifestType")
    if manifest_type is not None:
        if manifest_type == "S3_INVENTORY":
            if input_type is not None:
                check.add(
                    pointer(at, "InputType"),
                    "InputType must not be set when ManifestType is S3_INVENTORY (the type is CSV)",
                )
            return "MANIFEST"
        if manifest_type == "ATHENA_DATA":
            check.add(
                pointer(at, "ManifestType"),
                "ManifestType ATHENA_DATA (Athena UNLOAD manifests) is not supported by localcloud",
            )
        else:
            check.add(
                pointer(at, "ManifestType"),
                "The value for the field 'ManifestType' must be S3_INVENTORY or ATHENA_DATA",
            )
        return None
    if input_type is None:
        if resource == GET_OBJECT:
            check.add(at, "These fields are required: [InputType]")
        return None
    if input_type == "PARQUET":
        check.add(pointer(at, "InputType"), "InputType PARQUET is not supported by localcloud")
        return None
    if input_type not in INPUT_TYPES:
        check.add(
            pointer(at, "InputType"),
            "The value for the field 'InputType' must be one of CSV, JSON, JSONL, PARQUET, MANIFEST",
        )
        return None
    if resource == LIST_OBJECTS_V2 and config.get("Transformation") != "LOAD_AND_FLATTEN":
        check.add(
            pointer(at, "InputType"),
            f"InputType applies to {LIST_OBJECTS_V2} only with Transformation LOAD_AND_FLATTEN",
        )
    return str(input_type)


def _csv_headers(
    config: dict[str, Any], at: str, input_type: str | None, check: Checker
) -> tuple[str, tuple[str, ...]]:
    location = config.get("CSVHeaderLocation")
    headers = config.get("CSVHeaders")
    if input_type != "CSV":
        for key in ("CSVHeaderLocation", "CSVHeaders"):
            if key in config and input_type != "MANIFEST":
                check.add(pointer(at, key), f"The field '{key}' applies to InputType CSV")
        return "FIRST_ROW", ()
    if location is None:
        check.add(at, "These fields are required: [CSVHeaderLocation]")
        return "FIRST_ROW", ()
    if location not in ("FIRST_ROW", "GIVEN"):
        check.add(
            pointer(at, "CSVHeaderLocation"),
            "The value for the field 'CSVHeaderLocation' must be FIRST_ROW or GIVEN",
        )
        return "FIRST_ROW", ()
    if location == "FIRST_ROW":
        if headers is not None:
            check.add(
                pointer(at, "CSVHeaders"), "CSVHeaders must not be given when CSVHeaderLocation is FIRST_ROW"
            )
        return "FIRST_ROW", ()
    if not isinstance(headers, list) or not headers or not all(isinstance(h, str) for h in headers):
        check.add(
            pointer(at, "CSVHeaders") if headers is not None else at,
            "CSVHeaderLocation GIVEN needs CSVHeaders: a non-empty list of strings",
        )
        return "GIVEN", ()
    if len(set(headers)) != len(headers):
        check.add(pointer(at, "CSVHeaders"), "CSV headers cannot contain duplicates")
    return "GIVEN", tuple(headers)


# ---- reading ------------------------------------------------------------------------------------------


def read_items(spec: ItemReaderSpec, s3: Any, params: dict[str, Any], limit: int | None) -> list[Any]:
    """The items the reader yields, at most ``limit`` of them. Raises ``States.ItemReaderFailed``."""
    try:
        if spec.resource == LIST_OBJECTS_V2:
            items: Iterable[Any] = _listed(spec, s3, params)
        else:
            items = _parse(spec, spec.input_type, _get_text(s3, params), s3)
        return list(itertools.islice(items, limit) if limit else items)
    except StatesFailure:
        raise
    except Exception as exc:
        raise StatesFailure(ITEM_READER_FAILED, _describe(exc, params)) from exc


def _describe(exc: Exception, params: dict[str, Any]) -> str:
    where = f"s3://{params.get('Bucket', '')}/{params.get('Key', params.get('Prefix', ''))}"
    return f"Failed to read items from {where}: {describe_failure(exc, 'S3')}"


_GET_OBJECT_FIELDS = ("Bucket", "Key", "VersionId", "ExpectedBucketOwner")


def _get_text(s3: Any, params: dict[str, Any]) -> str:
    kwargs = {k: params[k] for k in _GET_OBJECT_FIELDS if k in params}
    unknown = sorted(set(params) - set(_GET_OBJECT_FIELDS))
    if unknown:
        raise StatesFailure(
            ITEM_READER_FAILED, f"The ItemReader parameters {unknown} are not supported with s3:getObject"
        )
    return _read_text(s3, **kwargs)


def _read_text(s3: Any, **get_object: Any) -> str:
    """An object's text: GetObject, then gunzipped when its key ends ``.gz``."""
    key = str(get_object.get("Key", ""))
    body: bytes = s3.get_object(**get_object)["Body"].read()
    if key.endswith((".zstd", ".zst")):
        raise StatesFailure(
            ITEM_READER_FAILED, f"ZSTD-compressed objects ('{key}') are not supported by localcloud"
        )
    if key.endswith(".gz"):
        body = gzip.decompress(body)
    return body.decode("utf-8")


def _parse(spec: ItemReaderSpec, input_type: str | None, text: str, s3: Any) -> Iterator[Any]:
    if input_type == "CSV":
        rows = delimited.records(text, spec.delimiter)
        if spec.header_location == "FIRST_ROW":
            headers = next(rows, None)
            if headers is None:
                return iter(())
            if len(set(headers)) != len(headers):
                raise StatesFailure(ITEM_READER_FAILED, "CSV headers cannot contain duplicates.")
        else:
            headers = list(spec.headers)
        return delimited.as_objects(rows, headers)
    if input_type == "JSON":
        return iter(_json_array(text, spec.items_pointer))
    if input_type == "JSONL":
        return _json_lines(text)
    if input_type == "MANIFEST":
        return _inventory(text, s3)
    raise StatesFailure(ITEM_READER_FAILED, f"Unsupported InputType {input_type!r}")


def _json_array(text: str, items_pointer: str | None) -> list[Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StatesFailure(ITEM_READER_FAILED, f"The object is not valid JSON: {exc}") from exc
    if items_pointer:
        for token in items_pointer.split("/")[1:]:
            part = token.replace("~1", "/").replace("~0", "~")
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                raise StatesFailure(ITEM_READER_FAILED, f"The ItemsPointer '{items_pointer}' selects nothing")
    if not isinstance(value, list):
        # A JSON object's key-value pairs are not iterated (as the inline Map refuses them too).
        raise StatesFailure(
            ITEM_READER_FAILED,
            "The JSON object read must be an array (or use ItemsPointer to select an array inside it)",
        )
    return value


def _json_lines(text: str) -> Iterator[Any]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            raise StatesFailure(ITEM_READER_FAILED, f"Line {number} is not valid JSON: {exc}") from exc


def _inventory(text: str, s3: Any) -> Iterator[Any]:
    """An S3 inventory manifest: every row of its CSV data files (comma-separated, whatever the
    ReaderConfig says), keyed by its ``fileSchema``."""
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StatesFailure(ITEM_READER_FAILED, f"The inventory manifest is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("fileFormat") != "CSV":
        raise StatesFailure(
            ITEM_READER_FAILED, "The S3 inventory report must be in CSV format (manifest fileFormat CSV)"
        )
    schema = [name.strip() for name in str(manifest.get("fileSchema", "")).split(",") if name.strip()]
    bucket = str(manifest.get("destinationBucket", "")).removeprefix("arn:aws:s3:::")
    for entry in manifest.get("files") or []:
        text = _read_text(s3, Bucket=bucket, Key=str(entry.get("key", "")))
        yield from delimited.as_objects(delimited.records(text, ","), schema)


def _listed(spec: ItemReaderSpec, s3: Any, params: dict[str, Any]) -> Iterator[Any]:
    kwargs = dict(params)
    while True:
        page = s3.list_objects_v2(**kwargs)
        for obj in page.get("Contents") or []:
            if spec.load_and_flatten:
                text = _read_text(s3, Bucket=params["Bucket"], Key=obj["Key"])
                yield from _parse(spec, spec.input_type, text, s3)
            else:
                yield _object_item(obj)
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return
        kwargs["ContinuationToken"] = token


def _object_item(obj: dict[str, Any]) -> dict[str, Any]:
    """One ListObjectsV2 object as the guide shows a child's input (note ``Etag``)."""
    modified: Any = obj.get("LastModified")
    return {
        "Etag": obj.get("ETag"),
        "Key": obj.get("Key"),
        "LastModified": int(modified.timestamp()) if isinstance(modified, dt.datetime) else modified,
        "Size": obj.get("Size"),
        "StorageClass": obj.get("StorageClass"),
    }
