"""Distributed Map input and output: the CSV rules, ItemReader (CSV, JSON, JSONL, S3 inventory,
ListObjectsV2), ItemBatcher's batches, ResultWriter's files, and the definition checks."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import SM_ARN, START, SUCCEEDED_EXECUTION_KEYS, ScriptedLambda
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from localcloud.asl import ExecutionHost, ExecutionRecord, VirtualClock, validate_definition
from localcloud.asl.distributed.batching import make_batches
from localcloud.asl.distributed.delimited import DELIMITERS, as_objects, records, records_by_rules
from localcloud.asl.payload import to_json

BUCKET = "data-bucket"


class S3Host:
    """A host on the virtual clock whose S3 is moto's and whose Lambda is scripted."""

    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name="us-east-1")
        self.s3.create_bucket(Bucket=BUCKET)
        self.functions: dict[str, Any] = {}
        self.lambda_client = ScriptedLambda(self.functions)
        clients = {"s3": self.s3, "lambda": self.lambda_client}
        self.host = ExecutionHost(clock=VirtualClock(START), client_factory=clients.__getitem__)

    def put(self, key: str, body: str | bytes) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode() if isinstance(body, str) else body)

    def get_json(self, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    def run(self, definition: dict[str, Any], input: Any = None) -> ExecutionRecord:
        return self.host.start_execution(definition, state_machine_arn=SM_ARN, input=input or {}, sync=True)


@pytest.fixture
def s3host() -> Iterator[S3Host]:
    with mock_aws():
        yield S3Host()


def dmap(states: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    states = states or {"P": {"Type": "Pass", "End": True}}
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": next(iter(states)),
                    "States": states,
                },
                "End": True,
                **fields,
            }
        },
    }


def reader(key: str, resource: str = "getObject", **config: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "Resource": f"arn:aws:states:::s3:{resource}",
        "Parameters": {"Bucket": BUCKET, "Key": key}
        if resource == "getObject"
        else {"Bucket": BUCKET, "Prefix": key},
    }
    if config:
        spec["ReaderConfig"] = config
    return spec


# ---- the CSV rules ------------------------------------------------------------------------------------


def test_csv_parsing_follows_the_guides_example() -> None:
    text = (
        'abc,123,"This string contains commas, a double quotation marks (""), and a newline (\n)",'
        '{""MyKey"":""MyValue""},"[1,2,3]"'
    )
    assert list(records(text)) == [
        [
            "abc",
            "123",
            'This string contains commas, a double quotation marks ("), and a newline (\n)',
            '{"MyKey":"MyValue"}',
            "[1,2,3]",
        ]
    ]


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("a,b\r\n1,2\r\n", [["a", "b"], ["1", "2"]]),  # CRLF
        ("a,b\r1,2", [["a", "b"], ["1", "2"]]),  # CR only
        ("a,b\n\n1,2\n\n", [["a", "b"], ["1", "2"]]),  # blank lines are no records
        ('"x","",,"y"', [["x", "", "", "y"]]),  # a quoted empty field is empty
        ("C:\\\\Program Files\\\\app.exe,1", [["C:\\Program Files\\app.exe", "1"]]),  # \\ is a backslash
        ('a\\,b,c\\"d', [["a,b", 'c"d']]),  # \, and \" are literal
        ("a\\xb", [["axb"]]),  # a backslash before anything else is dropped
        ("\ufeffh1,h2\n1,2", [["h1", "h2"], ["1", "2"]]),  # a byte order mark is not data
    ],
)
def test_csv_records(text: str, rows: list[list[str]]) -> None:
    assert list(records(text)) == rows


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ('"a","b"\n"1","2"\n', [["a", "b"], ["1", "2"]]),  # Athena's results: every field quoted
        ('"a,b",c\n', [["a,b", "c"]]),  # a quoted delimiter on a simple line
        ('x,\n"y",', [["x", ""], ["y", ""]]),  # a trailing delimiter is an empty last field
        ('"1","2"\n"a\nb","c"\n"3","4"', [["1", "2"], ["a\nb", "c"], ["3", "4"]]),  # rules from line 2
        ('"1"\n"a""b"\n"2"', [["1"], ['a"b'], ["2"]]),  # a doubled quote hands over to the rules
        ('"1"\nab"c\n"2"', [["1"], ["abc\n2"]]),  # a quote opened mid-field spans the newline
    ],
)
def test_csv_simple_lines_are_read_as_the_rules_read_them(text: str, rows: list[list[str]]) -> None:
    assert list(records(text)) == rows


@settings(max_examples=400)
@given(
    text=st.text(alphabet='ab,|"\\\r\n \t', max_size=40),
    delimiter=st.sampled_from(sorted(DELIMITERS.values())),
)
def test_csv_quick_lines_agree_with_the_character_by_character_rules(text: str, delimiter: str) -> None:
    assert list(records(text, delimiter)) == list(records_by_rules(text, delimiter))


def test_csv_rows_shorter_than_the_header_get_empty_strings_and_longer_rows_lose_extras() -> None:
    rows = iter([["1"], ["1", "2", "3", "4"]])
    assert list(as_objects(rows, ["a", "b", "c"])) == [
        {"a": "1", "b": "", "c": ""},
        {"a": "1", "b": "2", "c": "3"},
    ]


def test_csv_pipe_delimiter(s3host: S3Host) -> None:
    s3host.put("p.csv", "a|b\n1|x,y\n")
    config = {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "CSVDelimiter": "PIPE"}
    record = s3host.run(dmap(ItemReader=reader("p.csv", **config)))
    assert record.output == [{"a": "1", "b": "x,y"}]


def test_csv_with_duplicate_headers_fails_the_reader(s3host: S3Host) -> None:
    s3host.put("d.csv", "a,a\n1,2\n")
    record = s3host.run(dmap(ItemReader=reader("d.csv", InputType="CSV", CSVHeaderLocation="FIRST_ROW")))
    assert (record.status, record.error) == ("FAILED", "States.ItemReaderFailed")
    assert "duplicates" in (record.cause or "")


def test_gzip_objects_are_decompressed(s3host: S3Host) -> None:
    s3host.put("rows.jsonl.gz", gzip.compress(b'{"n": 1}\n{"n": 2}\n'))
    record = s3host.run(dmap(ItemReader=reader("rows.jsonl.gz", InputType="JSONL")))
    assert record.output == [{"n": 1}, {"n": 2}]


@pytest.mark.parametrize("key", ["rows.jsonl.zst", "rows.jsonl.zstd"])
def test_zstd_objects_are_refused_naming_the_object_and_the_compression(s3host: S3Host, key: str) -> None:
    s3host.put(key, b"\x28\xb5\x2f\xfd" + b"not read")  # ZSTD's magic number, then anything
    record = s3host.run(dmap(ItemReader=reader(key, InputType="JSONL")))
    assert (record.status, record.error) == ("FAILED", "States.ItemReaderFailed")
    assert record.cause == f"ZSTD-compressed objects ('{key}') are not supported by localcloud"
    (map_run,) = s3host.host.list_map_runs(record.execution_arn)
    assert map_run.describe()["itemCounts"]["total"] == 0  # refused before any item ran


def test_a_zstd_object_among_listed_ones_is_refused_when_they_are_loaded(s3host: S3Host) -> None:
    s3host.put("parts/1.json", json.dumps([1, 2]))
    s3host.put("parts/2.json.zst", b"\x28\xb5\x2f\xfd")
    spec = reader("parts/", resource="listObjectsV2", InputType="JSON", Transformation="LOAD_AND_FLATTEN")
    record = s3host.run(dmap(ItemReader=spec))
    assert (record.status, record.error) == ("FAILED", "States.ItemReaderFailed")
    assert record.cause == "ZSTD-compressed objects ('parts/2.json.zst') are not supported by localcloud"


# ---- other readers ------------------------------------------------------------------------------------


def test_json_items_pointer_selects_a_nested_array(s3host: S3Host) -> None:
    s3host.put("nested.json", json.dumps({"inventory": {"products": [{"id": 1}, {"id": 2}]}}))
    spec = reader("nested.json", InputType="JSON", ItemsPointer="/inventory/products")
    assert s3host.run(dmap(ItemReader=spec)).output == [{"id": 1}, {"id": 2}]


def test_a_json_object_without_a_pointer_fails_the_reader(s3host: S3Host) -> None:
    s3host.put("object.json", json.dumps({"a": 1}))
    record = s3host.run(dmap(ItemReader=reader("object.json", InputType="JSON")))
    assert (record.status, record.error) == ("FAILED", "States.ItemReaderFailed")
    assert "array" in (record.cause or "")


def test_missing_object_fails_with_the_s3_error_in_the_cause(s3host: S3Host) -> None:
    record = s3host.run(dmap(ItemReader=reader("absent.json", InputType="JSON")))
    assert (record.status, record.error) == ("FAILED", "States.ItemReaderFailed")
    assert "NoSuchKey" in (record.cause or "")
    assert f"s3://{BUCKET}/absent.json" in (record.cause or "")
    assert [e["type"] for e in record.history][-4:] == [
        "MapRunStarted",
        "MapRunFailed",
        "MapStateFailed",
        "ExecutionFailed",
    ]


def test_s3_inventory_manifest_lists_the_inventory_rows(s3host: S3Host) -> None:
    rows = (
        '"src","csvDataset/titles.csv","3399671","2022-11-16T00:29:32.000Z"\n'
        '"src","img/a.jpg","27034","2022-11-15T20:02:16.000Z"\n'
    )
    s3host.put("inv/data/part-1.csv.gz", gzip.compress(rows.encode()))
    manifest = {
        "sourceBucket": "src",
        "destinationBucket": f"arn:aws:s3:::{BUCKET}",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size, LastModifiedDate",
        "files": [{"key": "inv/data/part-1.csv.gz", "size": 100, "MD5checksum": "x"}],
    }
    s3host.put("inv/manifest.json", json.dumps(manifest))
    record = s3host.run(dmap(ItemReader=reader("inv/manifest.json", InputType="MANIFEST")))
    assert record.output == [
        {
            "Bucket": "src",
            "Key": "csvDataset/titles.csv",
            "Size": "3399671",
            "LastModifiedDate": "2022-11-16T00:29:32.000Z",
        },
        {
            "Bucket": "src",
            "Key": "img/a.jpg",
            "Size": "27034",
            "LastModifiedDate": "2022-11-15T20:02:16.000Z",
        },
    ]


def test_list_objects_v2_items_have_the_guides_shape(s3host: S3Host) -> None:
    s3host.put("in/a.txt", "hello")
    record = s3host.run(dmap(ItemReader=reader("in/", resource="listObjectsV2")))
    (item,) = record.output
    assert list(item) == ["Etag", "Key", "LastModified", "Size", "StorageClass"]
    assert item["Key"] == "in/a.txt"
    assert item["Size"] == 5
    assert item["StorageClass"] == "STANDARD"
    assert item["Etag"].startswith('"') and item["Etag"].endswith('"')
    assert isinstance(item["LastModified"], int)


def test_list_objects_v2_load_and_flatten_reads_the_objects(s3host: S3Host) -> None:
    s3host.put("parts/1.json", json.dumps([1, 2]))
    s3host.put("parts/2.json", json.dumps([3]))
    spec = reader("parts/", resource="listObjectsV2", InputType="JSON", Transformation="LOAD_AND_FLATTEN")
    assert sorted(s3host.run(dmap(ItemReader=spec)).output) == [1, 2, 3]


def test_max_items_path_limits_the_items_read(s3host: S3Host) -> None:
    s3host.put("n.json", json.dumps([1, 2, 3, 4]))
    spec = reader("n.json", InputType="JSON", MaxItemsPath="$.limit")
    assert s3host.run(dmap(ItemReader=spec), {"limit": 3}).output == [1, 2, 3]


def test_a_max_items_path_that_is_not_a_number_is_an_item_reader_failure(s3host: S3Host) -> None:
    # As recorded on AWS (conformance case map_distributed/max_items_path_not_an_integer).
    s3host.put("n.json", json.dumps([1]))
    record = s3host.run(
        dmap(ItemReader=reader("n.json", InputType="JSON", MaxItemsPath="$.limit")), {"limit": "x"}
    )
    assert (record.status, record.error) == ("FAILED", "States.ItemReaderFailed")
    assert "MaxItemsPath" in (record.cause or "")


# ---- batching -------------------------------------------------------------------------------------------


def test_batches_never_exceed_the_byte_limit_counting_the_whole_child_input() -> None:
    items = [{"pad": "x" * 90, "i": i} for i in range(5)]
    batches = make_batches(items, None, 250, {"k": "v"}, True)
    assert [size for _, size in batches] == [2, 2, 1]
    for value, _ in batches:
        assert len(to_json(value).encode()) <= 250
        assert value["BatchInput"] == {"k": "v"}


def test_a_too_large_item_goes_alone_into_its_batch() -> None:
    batches = make_batches([1, "x" * 500, 2], None, 100, None, False)
    assert [value["Items"] for value, _ in batches] == [[1], ["x" * 500], [2]]


def test_full_batches_by_count_then_by_bytes_once_a_batch_of_max_items_would_not_fit() -> None:
    # {"Items":[...]} is 12 bytes around the items; "ab" is 4 bytes, "é"*20 is 42 (UTF-8), 1 is 1.
    items = ["ab", "ab", "ab", "ab", "é" * 20, "ab", "ab", 1]
    batches = make_batches(items, 2, 58, None, False)
    assert [value["Items"] for value, _ in batches] == [
        ["ab", "ab"],
        ["ab", "ab"],
        ["é" * 20],  # with the next "ab": 12 + 42 + 1 + 4 = 59 bytes, one over 58
        ["ab", "ab"],
        [1],
    ]


def test_batched_children_count_their_items_in_the_map_run(s3host: S3Host) -> None:
    s3host.put("n.json", json.dumps(list(range(5))))
    record = s3host.run(
        dmap(ItemReader=reader("n.json", InputType="JSON"), ItemBatcher={"MaxItemsPerBatch": 2})
    )
    (run,) = s3host.host.list_map_runs(record.execution_arn)
    assert run.item_counts["total"] == 5
    assert run.execution_counts["total"] == 3
    children = s3host.host.list_executions(map_run_arn=run.map_run_arn)
    assert sorted(child.extra["item_count"] for child in children) == [1, 2, 2]


# ---- ResultWriter ----------------------------------------------------------------------------------------


FAIL_ODD = {
    "C": {
        "Type": "Choice",
        "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "F"}],
        "Default": "P",
    },
    "F": {"Type": "Fail", "Error": "Odd", "Cause": "one is odd"},
    "P": {"Type": "Pass", "End": True},
}


def test_result_writer_writes_the_manifest_and_one_file_per_status(s3host: S3Host) -> None:
    writer = {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": BUCKET, "Prefix": "out/"}}
    record = s3host.run(
        dmap(FAIL_ODD, ItemsPath="$.xs", ResultWriter=writer, ToleratedFailureCount=1),
        {"xs": [{"n": 0}, {"n": 1}]},
    )
    assert record.status == "SUCCEEDED"
    (run,) = s3host.host.list_map_runs(record.execution_arn)
    folder = f"out/{run.uuid}"
    assert record.output == {
        "MapRunArn": run.map_run_arn,
        "ResultWriterDetails": {"Bucket": BUCKET, "Key": f"{folder}/manifest.json"},
    }
    manifest = s3host.get_json(f"{folder}/manifest.json")
    assert manifest["DestinationBucket"] == BUCKET
    assert manifest["MapRunArn"] == run.map_run_arn
    assert [f["Key"] for f in manifest["ResultFiles"]["SUCCEEDED"]] == [f"{folder}/SUCCEEDED_0.json"]
    assert [f["Key"] for f in manifest["ResultFiles"]["FAILED"]] == [f"{folder}/FAILED_0.json"]
    assert manifest["ResultFiles"]["PENDING"] == []
    (ok,) = s3host.get_json(f"{folder}/SUCCEEDED_0.json")
    assert list(ok) == SUCCEEDED_EXECUTION_KEYS
    assert (ok["Status"], json.loads(ok["Output"]), ok["RedriveStatus"]) == (
        "SUCCEEDED",
        {"n": 0},
        "NOT_REDRIVABLE",
    )
    assert ok["StartDate"] == "2024-01-01T00:00:00.000Z"
    (bad,) = s3host.get_json(f"{folder}/FAILED_0.json")
    assert (bad["Status"], bad["Error"], bad["Cause"]) == ("FAILED", "Odd", "one is odd")
    assert "Output" not in bad
    assert run.execution_counts["resultsWritten"] == 2


def test_a_failed_map_run_still_writes_its_results_including_pending_children(s3host: S3Host) -> None:
    writer = {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": BUCKET, "Prefix": "r"}}
    record = s3host.run(
        dmap(FAIL_ODD, ItemsPath="$.xs", ResultWriter=writer, MaxConcurrency=1), {"xs": [{"n": 1}, {"n": 0}]}
    )
    assert record.error == "States.ExceedToleratedFailureThreshold"
    (run,) = s3host.host.list_map_runs(record.execution_arn)
    manifest = s3host.get_json(f"r/{run.uuid}/manifest.json")
    assert len(manifest["ResultFiles"]["FAILED"]) == 1
    (pending,) = s3host.get_json(manifest["ResultFiles"]["PENDING"][0]["Key"])
    assert pending["Status"] == "PENDING"
    assert json.loads(pending["Input"]) == {"n": 0}


def test_writer_config_flatten_shapes_the_maps_result(s3host: S3Host) -> None:
    states = {
        "P": {
            "Type": "Pass",
            "Parameters": {"pair.$": "States.Array($, $)"},
            "OutputPath": "$.pair",
            "End": True,
        }
    }
    writer = {"WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSON"}}
    assert s3host.run(dmap(states, ItemsPath="$.xs", ResultWriter=writer), {"xs": [1, 2]}).output == [
        1,
        1,
        2,
        2,
    ]


def test_writer_config_none_shows_each_childs_metadata(s3host: S3Host) -> None:
    writer = {"WriterConfig": {"Transformation": "NONE"}}
    (entry,) = s3host.run(dmap(ItemsPath="$.xs", ResultWriter=writer), {"xs": [5]}).output
    assert (entry["Status"], entry["Output"]) == ("SUCCEEDED", "5")


def test_writer_config_jsonl_writes_json_lines(s3host: S3Host) -> None:
    writer = {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": BUCKET, "Prefix": "l"},
        "WriterConfig": {"Transformation": "COMPACT", "OutputType": "JSONL"},
    }
    record = s3host.run(dmap(ItemsPath="$.xs", ResultWriter=writer), {"xs": [{"a": 1}, {"a": 2}]})
    key = s3host.get_json(record.output["ResultWriterDetails"]["Key"])["ResultFiles"]["SUCCEEDED"][0]["Key"]
    body = s3host.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    assert body == '{"a":1}\n{"a":2}\n'


def test_an_unwritable_bucket_fails_with_result_writer_failed(s3host: S3Host) -> None:
    writer = {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": "no-such-bucket", "Prefix": "x"},
    }
    record = s3host.run(dmap(ItemsPath="$.xs", ResultWriter=writer), {"xs": [1]})
    assert (record.status, record.error) == ("FAILED", "States.ResultWriterFailed")
    assert "NoSuchBucket" in (record.cause or "")


# ---- definition checks ---------------------------------------------------------------------------------


def problems(definition: dict[str, Any]) -> dict[str, str]:
    return {p.path: p.message for p in validate_definition(definition)}


@pytest.mark.parametrize(
    ("fields", "path", "needle"),
    [
        (
            {"ItemReader": reader("k", InputType="PARQUET")},
            "/States/M/ItemReader/ReaderConfig/InputType",
            "PARQUET",
        ),
        (
            {"ItemReader": reader("k", ManifestType="ATHENA_DATA", InputType="CSV")},
            "/States/M/ItemReader/ReaderConfig/ManifestType",
            "ATHENA_DATA",
        ),
        (
            {"ItemReader": reader("k", InputType="CSV")},
            "/States/M/ItemReader/ReaderConfig",
            "CSVHeaderLocation",
        ),
        (
            {"ItemReader": reader("k", InputType="CSV", CSVHeaderLocation="GIVEN")},
            "/States/M/ItemReader/ReaderConfig",
            "CSVHeaders",
        ),
        (
            {"ItemReader": {**reader("k", InputType="JSON"), "Resource": "arn:aws:states:::s3:putObject"}},
            "/States/M/ItemReader/Resource",
            "not supported",
        ),
        (
            {"ItemReader": reader("k", InputType="JSON"), "ItemsPath": "$.xs"},
            "/States/M/ItemsPath",
            "ItemReader",
        ),
        (
            {"ItemReader": reader("k", InputType="JSON", MaxItems=-1)},
            "/States/M/ItemReader/ReaderConfig/MaxItems",
            "MaxItems",
        ),
        ({"ItemBatcher": {"BatchInput": {}}}, "/States/M/ItemBatcher", "MaxItemsPerBatch"),
        (
            {"ItemBatcher": {"MaxInputBytesPerBatch": 300000}},
            "/States/M/ItemBatcher/MaxInputBytesPerBatch",
            "262144",
        ),
        ({"ResultWriter": {}}, "/States/M/ResultWriter", "cannot be empty"),
        (
            {"ResultWriter": {"WriterConfig": {"Transformation": "SQUASH"}}},
            "/States/M/ResultWriter/WriterConfig/Transformation",
            "FLATTEN",
        ),
        ({"ToleratedFailureCount": -1}, "/States/M/ToleratedFailureCount", "ToleratedFailureCount"),
        ({"Label": "has space"}, "/States/M/Label", "whitespace"),
    ],
)
def test_distributed_fields_are_checked_naming_the_field(
    fields: dict[str, Any], path: str, needle: str
) -> None:
    found = problems(dmap(**fields))
    assert path in found, found
    assert needle in found[path]


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"InputType": "PARQUET"}, "InputType", "InputType PARQUET is not supported by localcloud"),
        (
            {"ManifestType": "ATHENA_DATA", "InputType": "CSV"},
            "ManifestType",
            "ManifestType ATHENA_DATA (Athena UNLOAD manifests) is not supported by localcloud",
        ),
    ],
)
def test_readers_localcloud_lacks_are_the_one_problem_reported_naming_their_field(
    config: dict[str, Any], field: str, message: str
) -> None:
    found = [(p.path, p.code, p.message) for p in validate_definition(dmap(ItemReader=reader("k", **config)))]
    assert found == [(f"/States/M/ItemReader/ReaderConfig/{field}", "SCHEMA_VALIDATION_FAILED", message)]


def test_labels_must_be_unique_in_the_definition() -> None:
    inner = dmap(Label="same")["States"]["M"]
    definition = {
        "StartAt": "A",
        "States": {"A": {**inner, "End": False, "Next": "B"}, "B": {**inner}},
    }
    assert "unique" in problems(definition)["/States/B/Label"]


def test_path_fields_are_refused_in_jsonata_maps() -> None:
    definition = {**dmap(ToleratedFailureCountPath="$.n"), "QueryLanguage": "JSONata"}
    assert "JSONPath" in problems(definition)["/States/M/ToleratedFailureCountPath"]
