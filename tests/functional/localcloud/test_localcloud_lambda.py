"""localcloud's Lambda through the endpoint, with plain boto3 clients."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from endpoint_support import create_function

from localcloud.launcher import RunningServer

ROLE = "arn:aws:iam::000000000000:role/localcloud-tests"

APP = """
import os, time

def handler(event, context):
    if "raise" in event:
        raise ValueError(event["raise"])
    if "sleep" in event:
        time.sleep(event["sleep"])
    if "started" in event:  # tell the test it runs, then hold until the test releases it
        open(event["started"], "w").close()
        deadline = time.monotonic() + 30
        while not os.path.exists(event["release"]) and time.monotonic() < deadline:
            time.sleep(0.01)
    return {
        "env": {k: v for k, v in os.environ.items() if k.startswith("APP_")},
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "log_group": context.log_group_name,
        "remaining": context.get_remaining_time_in_millis(),
        "region": os.environ["AWS_REGION"],
        "endpoint": os.environ["AWS_ENDPOINT_URL"],
        "pid": os.getpid(),
    }
"""


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


@pytest.fixture(scope="module")
def package(zip_package) -> bytes:
    return zip_package({"app.py": APP})


create = create_function


def invoke(lam, name: str, event: dict) -> tuple[dict, dict]:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return response, json.loads(response["Payload"].read())


def test_a_function_sees_its_context_and_the_endpoint(lam, package, server: RunningServer) -> None:
    config = create(lam, "ctx", package, Timeout=7, MemorySize=256)
    response, body = invoke(lam, "ctx", {})
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert body["function_name"] == "ctx"
    assert body["arn"] == config["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:ctx"
    assert body["memory"] == "256"  # a string, as in AWS's runtime
    assert body["log_group"] == "/aws/lambda/ctx"
    assert 0 < body["remaining"] <= 7000
    assert body["endpoint"] == server.endpoint
    assert body["region"] == "us-east-1"


def test_two_functions_see_only_their_own_environment_variables(lam, package) -> None:
    create(lam, "env-a", package, Environment={"Variables": {"APP_ONLY_A": "a", "APP_SHARED": "from-a"}})
    create(lam, "env-b", package, Environment={"Variables": {"APP_ONLY_B": "b", "APP_SHARED": "from-b"}})
    _, a = invoke(lam, "env-a", {})
    _, b = invoke(lam, "env-b", {})
    assert a["env"] == {"APP_ONLY_A": "a", "APP_SHARED": "from-a"}
    assert b["env"] == {"APP_ONLY_B": "b", "APP_SHARED": "from-b"}
    assert a["pid"] != b["pid"]


def test_warm_workers_are_reused(lam, package) -> None:
    create(lam, "warm", package)
    _, first = invoke(lam, "warm", {})
    _, second = invoke(lam, "warm", {})
    assert first["pid"] == second["pid"]
    assert first["request_id"] != second["request_id"]


def test_an_unhandled_value_error_is_reported_as_lambda_reports_it(lam, package) -> None:
    create(lam, "raises", package)
    response, body = invoke(lam, "raises", {"raise": "bad reading"})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert set(body) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "bad reading"
    assert body["stackTrace"][-1].strip().endswith('raise ValueError(event["raise"])')
    assert "in handler" in body["stackTrace"][-1]
    assert all("worker.py" not in line for line in body["stackTrace"])


def test_a_function_that_sleeps_past_its_timeout_is_killed_and_reported(lam, package) -> None:
    create(lam, "slow", package, Timeout=1)
    started = time.monotonic()
    response, body = invoke(lam, "slow", {"sleep": 30})
    assert time.monotonic() - started < 10
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
    assert body["errorMessage"].startswith("RequestId: ")
    _, after = invoke(lam, "slow", {})  # a fresh worker serves the next call
    assert after["function_name"] == "slow"


def test_reserved_concurrency_caps_parallel_invocations(lam, package, client, tmp_path: Path) -> None:
    create(lam, "capped", package, Timeout=10)
    lam.put_function_concurrency(FunctionName="capped", ReservedConcurrentExecutions=1)
    assert lam.get_function_concurrency(FunctionName="capped")["ReservedConcurrentExecutions"] == 1
    invoke(lam, "capped", {})  # warm
    results: list[dict] = []
    started, release = tmp_path / "started", tmp_path / "release"
    holding = {"started": str(started), "release": str(release)}
    runner = threading.Thread(target=lambda: results.append(invoke(lam, "capped", holding)[1]))
    runner.start()
    deadline = time.monotonic() + 30
    while not started.exists():  # the first invocation holds the only slot
        assert time.monotonic() < deadline, "the first invocation never started"
        time.sleep(0.02)
    no_retries = client("lambda", Config(retries={"total_max_attempts": 1}))  # boto3 retries throttles
    with pytest.raises(ClientError) as error:
        no_retries.invoke(FunctionName="capped", Payload=b"{}")
    release.touch()
    runner.join()
    assert error.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert results and results[0]["function_name"] == "capped"
    lam.put_function_concurrency(FunctionName="capped", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError):
        no_retries.invoke(FunctionName="capped", Payload=b"{}")


def test_logs_go_to_the_functions_log_group(lam, package, client) -> None:
    create(lam, "logged", package)
    response = lam.invoke(FunctionName="logged", Payload=b'{"raise": "for the log"}', LogType="Tail")
    tail = base64.b64decode(response["LogResult"]).decode()
    assert (
        "START RequestId:" in tail
        and "REPORT RequestId:" in tail
        and "[ERROR] ValueError: for the log" in tail
    )
    logs = client("logs")
    deadline = time.monotonic() + 5
    messages: list[str] = []
    while time.monotonic() < deadline and not any(m.startswith("REPORT") for m in messages):
        time.sleep(0.2)
        try:
            streams = logs.describe_log_streams(logGroupName="/aws/lambda/logged").get("logStreams", [])
        except logs.exceptions.ResourceNotFoundException:
            continue
        if streams:
            events = logs.get_log_events(
                logGroupName="/aws/lambda/logged", logStreamName=streams[0]["logStreamName"]
            )
            messages = [event["message"] for event in events["events"]]
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", streams[0]["logStreamName"])
    assert messages[0].startswith("START RequestId: ")
    assert any(m.startswith("[ERROR] ValueError: for the log") for m in messages)
    assert messages[-1].startswith("REPORT RequestId: ")


def test_an_import_error_is_reported_as_runtime_import_module_error(lam, zip_package) -> None:
    create(lam, "broken", zip_package({"app.py": "import not_a_module_anywhere\n"}))
    response, body = invoke(lam, "broken", {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == "Unable to import module 'app': No module named 'not_a_module_anywhere'"


def test_code_from_an_s3_object_runs(lam, client, package) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="lambda-packages")
    s3.put_object(Bucket="lambda-packages", Key="app.zip", Body=package)
    lam.create_function(
        FunctionName="from-s3",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"S3Bucket": "lambda-packages", "S3Key": "app.zip"},
    )
    assert invoke(lam, "from-s3", {})[1]["function_name"] == "from-s3"
    with pytest.raises(ClientError) as error:
        lam.update_function_code(FunctionName="from-s3", S3Bucket="lambda-packages", S3Key="missing.zip")
    assert error.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "NoSuchKey" in error.value.response["Error"]["Message"]


def test_a_local_source_folder_applies_edits_at_once(lam, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("def handler(event, context):\n    return 'one'\n")
    lam.create_function(
        FunctionName="hot",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"S3Bucket": "hot-reload", "S3Key": str(source)},
    )
    assert json.loads(lam.invoke(FunctionName="hot")["Payload"].read()) == "one"
    # Another size: the code's fingerprint (sizes and mtimes) changes whatever the mtime's resolution.
    (source / "app.py").write_text("def handler(event, context):\n    return 'two, edited'\n")
    assert json.loads(lam.invoke(FunctionName="hot")["Payload"].read()) == "two, edited"


def test_every_lambda_operation_accepts_the_aws_cli_request_shapes(lam, package, zip_package) -> None:
    created = create(lam, "shapes", package, Description="d", Tags={"team": "meters"})
    assert (
        created["State"] == "Active" and created["PackageType"] == "Zip" and created["Version"] == "$LATEST"
    )
    got = lam.get_function(FunctionName=created["FunctionArn"])
    assert got["Configuration"]["CodeSha256"] == created["CodeSha256"]
    assert got["Tags"] == {"team": "meters"}
    assert lam.get_function_configuration(FunctionName="shapes")["Description"] == "d"
    updated = lam.update_function_configuration(
        FunctionName="shapes", Timeout=30, MemorySize=512, Environment={"Variables": {"APP_X": "1"}}
    )
    assert (updated["Timeout"], updated["MemorySize"]) == (30, 512)
    assert updated["RevisionId"] != created["RevisionId"]
    code = lam.update_function_code(FunctionName="shapes", ZipFile=zip_package({"app.py": APP + "\n# v2\n"}))
    assert code["CodeSha256"] != created["CodeSha256"]
    assert invoke(lam, "shapes", {})[1]["env"] == {"APP_X": "1"}
    assert lam.invoke(FunctionName="shapes", InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    assert lam.invoke(FunctionName="shapes", InvocationType="DryRun", Payload=b"{}")["StatusCode"] == 204
    names = []
    marker = None
    while True:
        page = lam.list_functions(MaxItems=2, **({"Marker": marker} if marker else {}))
        names += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert "shapes" in names and len(names) == len(set(names))
    lam.tag_resource(Resource=created["FunctionArn"], Tags={"env": "local"})
    lam.untag_resource(Resource=created["FunctionArn"], TagKeys=["team"])
    assert lam.list_tags(Resource=created["FunctionArn"])["Tags"] == {"env": "local"}
    lam.delete_function_concurrency(FunctionName="shapes")
    lam.delete_function(FunctionName="shapes")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName="shapes")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"Runtime": "nodejs20.x"}, "InvalidParameterValueException"),
        ({"Timeout": 901}, "InvalidParameterValueException"),
        ({"Environment": {"Variables": {"AWS_REGION": "eu-west-1"}}}, "InvalidParameterValueException"),
        (
            {"Layers": ["arn:aws:lambda:us-east-1:123456789012:layer:shared-dependencies:3"]},
            "InvalidParameterValueException",
        ),
        ({"Role": "not-a-role"}, "InvalidParameterValueException"),
    ],
)
def test_invalid_configurations_are_refused_with_lambdas_error_codes(lam, package, change, code) -> None:
    params = {"FunctionName": "invalid", "Runtime": "python3.12", "Role": ROLE, "Handler": "app.handler"}
    with pytest.raises(ClientError) as error:
        lam.create_function(**{**params, **change}, Code={"ZipFile": package})
    assert error.value.response["Error"]["Code"] == code


def test_aws_powertools_layer_is_accepted_as_the_runtimes_own_library(lam, package) -> None:
    layer = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:27"
    created = create(lam, "powertools-layer", package, Layers=[layer])
    assert created["Layers"] == [{"Arn": layer, "CodeSize": 0}]
    response, _ = invoke(lam, "powertools-layer", {})
    assert "FunctionError" not in response
    lam.update_function_configuration(FunctionName="powertools-layer", Layers=[])
    assert "Layers" not in lam.get_function_configuration(FunctionName="powertools-layer")


def test_conflicts_and_missing_functions_use_lambdas_codes(lam, package) -> None:
    create(lam, "twice", package)
    with pytest.raises(lam.exceptions.ResourceConflictException):
        create(lam, "twice", package)
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as error:
        lam.invoke(FunctionName="nowhere", Payload=b"{}")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_configuration_change_replaces_warm_workers_but_a_concurrency_change_keeps_them(
    lam, package
) -> None:
    create(lam, "reconfigured", package, Environment={"Variables": {"APP_V": "1"}})
    _, first = invoke(lam, "reconfigured", {})
    lam.put_function_concurrency(FunctionName="reconfigured", ReservedConcurrentExecutions=5)
    _, same = invoke(lam, "reconfigured", {})
    assert same["pid"] == first["pid"]
    lam.update_function_configuration(FunctionName="reconfigured", Environment={"Variables": {"APP_V": "2"}})
    _, fresh = invoke(lam, "reconfigured", {})
    assert fresh["pid"] != first["pid"]
    assert fresh["env"] == {"APP_V": "2"}
