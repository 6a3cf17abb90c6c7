"""Only the developer's own clients drive localcloud: each refusal of issue 11 tried the way a web
page, a rebinding site, an unsigned tool or a hostile upload would send it, and each AWS client
kind still served."""

from __future__ import annotations

import io
import json
import stat
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from endpoint_support import ROLE, create_function
from raw_http import Answer, send

from localcloud import launcher
from localcloud.launcher import RunningServer

DDB_LIST_TABLES = {
    "X-Amz-Target": "DynamoDB_20120810.ListTables",
    "Content-Type": "application/x-amz-json-1.0",
}


def _list_tables(endpoint: str, *, headers: dict[str, str] | None = None, **options: Any) -> Answer:
    """DynamoDB ListTables as raw HTTP (``sign_as``, ``host``, ``key``... as ``send`` takes them)."""
    return send(endpoint, "POST", "/", body=b"{}", headers={**DDB_LIST_TABLES, **(headers or {})}, **options)


def _create_function_body(name: str, zip_bytes: bytes = b"") -> bytes:
    import base64

    return json.dumps(
        {
            "FunctionName": name,
            "Runtime": "python3.12",
            "Role": ROLE,
            "Handler": "app.handler",
            "Code": {"ZipFile": base64.b64encode(zip_bytes).decode()},
        }
    ).encode()


def _message(answer: Answer) -> str:
    body = answer.body.decode()
    return body


def _log(home: Path) -> str:
    return (home / "logs" / "localcloud.log").read_text()


# -- 1. only the developer's own clients -------------------------------------------------------------


def test_a_web_page_posting_text_plain_cannot_create_a_function(
    server: RunningServer, client, zip_package
) -> None:
    package = zip_package({"app.py": "def handler(event, context):\n    open('/tmp/owned', 'w')\n"})
    answer = send(
        server.endpoint,
        "POST",
        "/2015-03-31/functions",
        body=_create_function_body("from-a-web-page", package),
        headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
    )
    assert answer.status == 403
    assert answer.headers["x-amzn-errortype"] == "AccessDeniedException"
    assert "requests from web pages are refused, and this one came from 'http://evil.example'" in _message(
        answer
    )
    assert "--allow-origin http://evil.example" in _message(answer)
    names = [f["FunctionName"] for f in client("lambda").list_functions()["Functions"]]
    assert "from-a-web-page" not in names


def test_a_signed_request_from_a_web_page_is_refused_too(server: RunningServer) -> None:
    answer = _list_tables(server.endpoint, headers={"Origin": "http://evil.example"}, sign_as="dynamodb")
    assert answer.status == 403
    assert answer.json()["__type"] == "AccessDeniedException"


def test_a_cross_site_request_without_origin_is_refused(server: RunningServer) -> None:
    # An <img> or <script> tag: no Origin header, but the browser says where the request comes from.
    answer = send(
        server.endpoint,
        "GET",
        "/meterpipe-lake/k",
        headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},
    )
    assert answer.status == 403
    assert b"<Code>AccessDenied</Code>" in answer.body
    assert b"a web page on another site sent this request" in answer.body


def _preflight(endpoint: str, origin: str, headers: str = "") -> Answer:
    asked = {"Access-Control-Request-Headers": headers} if headers else {}
    return send(
        endpoint, "OPTIONS", "/", headers={"Origin": origin, "Access-Control-Request-Method": "POST", **asked}
    )


def test_a_cors_preflight_from_any_origin_is_refused_and_no_wildcard_is_sent(server: RunningServer) -> None:
    answer = _preflight(server.endpoint, "http://evil.example", "x-amz-target,content-type")
    assert answer.status == 403
    assert not [name for name in answer.headers if name.startswith("access-control-")]


def test_answers_carry_no_wildcard_cors_header(server: RunningServer) -> None:
    # MiniStack answers Access-Control-Allow-Origin: * to everything; localcloud drops it.
    for service, method, path, headers in (
        ("s3", "GET", "/", {}),
        ("dynamodb", "POST", "/", DDB_LIST_TABLES),
        ("lambda", "GET", "/2015-03-31/functions", {}),
    ):
        answer = send(
            server.endpoint,
            method,
            path,
            body=b"{}" if method == "POST" else b"",
            headers=headers,
            sign_as=service,
        )
        assert answer.status == 200, (service, answer.body)
        assert not [name for name in answer.headers if name.startswith("access-control-")], service


def test_a_rebound_host_name_is_refused(server: RunningServer) -> None:
    answer = _list_tables(server.endpoint, sign_as="dynamodb", host="evil.example")
    assert answer.status == 403
    body = answer.json()
    assert body["__type"] == "AccessDeniedException"
    assert body["message"].startswith(
        "localcloud refused the request: the Host header 'evil.example' does not"
    )
    assert "TableNames" not in answer.body.decode()


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}"])
def test_the_loopback_names_with_the_port_are_served(server: RunningServer, host: str) -> None:
    answer = _list_tables(server.endpoint, sign_as="dynamodb", host=host.format(port=server.port))
    assert answer.status == 200


def test_s3_virtual_hosted_bucket_names_under_localhost_are_served(server: RunningServer) -> None:
    answer = send(server.endpoint, "GET", "/", sign_as="s3", host=f"no-such-bucket.localhost:{server.port}")
    assert answer.status == 404
    assert b"<Code>NoSuchBucket</Code>" in answer.body


def test_the_right_name_on_another_port_is_refused(server: RunningServer) -> None:
    answer = send(server.endpoint, "GET", "/", sign_as="s3", host=f"127.0.0.1:{server.port + 1}")
    assert answer.status == 403


def test_an_unsigned_request_is_refused_in_its_own_protocol(server: RunningServer) -> None:
    dynamodb = _list_tables(server.endpoint)
    assert dynamodb.status == 403
    assert dynamodb.json()["__type"] == "MissingAuthenticationTokenException"
    s3 = send(server.endpoint, "GET", "/")
    assert s3.status == 403
    assert b"<Code>AccessDenied</Code>" in s3.body
    assert b"the request is not signed" in s3.body
    lam = send(server.endpoint, "GET", "/2015-03-31/functions")
    assert lam.status == 403
    assert lam.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_a_bogus_authorization_header_is_refused(server: RunningServer) -> None:
    answer = _list_tables(server.endpoint, headers={"Authorization": "Bearer x"})
    assert answer.status == 403
    assert answer.json()["__type"] == "IncompleteSignatureException"
    assert "not an AWS Signature Version 4 header" in answer.json()["message"]


def test_any_key_is_accepted_by_default(server: RunningServer) -> None:
    answer = _list_tables(server.endpoint, sign_as="dynamodb", key="ANY", secret="whatever")
    assert answer.status == 200


def test_presigned_s3_urls_of_both_kinds_work(server: RunningServer, client) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="presigned")
    s3.put_object(Bucket="presigned", Key="a b/c+d.txt", Body=b"hello")
    for config in (None, Config(signature_version="s3v4")):
        signer = boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="k",
            aws_secret_access_key="s",
            config=config,
        )
        url = signer.generate_presigned_url(
            "get_object", Params={"Bucket": "presigned", "Key": "a b/c+d.txt"}
        )
        with urllib.request.urlopen(url) as response:
            assert response.read() == b"hello"


def test_refusals_are_logged_once_each_without_query_or_credentials(
    server: RunningServer, home: Path
) -> None:
    for _ in range(3):
        _list_tables(server.endpoint, headers={"Origin": "http://once.example"})
    _list_tables(server.endpoint, headers={"Origin": "http://twice.example"})
    send(server.endpoint, "GET", "/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=SECRETKEY")
    log = _log(home)
    assert log.count("came from 'http://once.example'") == 1
    assert log.count("came from 'http://twice.example'") == 1
    assert "SECRETKEY" not in log
    health = json.load(urllib.request.urlopen(f"{server.endpoint}/_localcloud/health"))
    assert health["security"]["refused"]["origin"] >= 4


def test_control_writes_need_json_so_a_page_cannot_send_them(server: RunningServer) -> None:
    answer = send(
        server.endpoint,
        "POST",
        "/_localcloud/clock",
        body=b'{"advance": 3600}',
        headers={"Content-Type": "text/plain"},
    )
    assert answer.status == 403
    assert "control routes take JSON" in answer.body.decode()


# -- 2. uploads stay inside the home ------------------------------------------------------------------


def _zip(entries: list[tuple[str, str, int]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            archive.writestr(info, data)
    return buffer.getvalue()


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the home holding a file a hostile zip would reach for."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "victim.txt").write_text("unchanged")
    (folder / "victim.txt").chmod(0o600)
    return folder


def _hostile(outside: Path, home: Path) -> list[tuple[str, list[tuple[str, str, int]], str]]:
    depth = "../" * (len(home.parts) + 4)
    return [
        (
            "absolute",
            [("ok.py", "x = 1", 0o100644), (f"{outside}/victim.txt", "owned", 0o100777)],
            f"{outside}/victim.txt",
        ),
        (
            "dotdot",
            [("ok.py", "x = 1", 0o100644), (f"{depth}{str(outside)[1:]}/victim.txt", "owned", 0o100777)],
            f"{depth}{str(outside)[1:]}/victim.txt",
        ),
        ("symlink", [("ok.py", "x = 1", 0o100644), ("lib", str(outside), stat.S_IFLNK | 0o777)], "lib"),
        ("relative symlink", [("lib", "sub/../..", stat.S_IFLNK | 0o777)], "lib"),
        ("symlink chain", [("me", ".", stat.S_IFLNK | 0o777), ("up", "me/..", stat.S_IFLNK | 0o777)], "up"),
    ]


@pytest.mark.parametrize("case", ["absolute", "dotdot", "symlink", "relative symlink", "symlink chain"])
def test_a_zip_reaching_outside_the_package_is_refused_before_anything_is_written(
    case: str, server: RunningServer, client, home: Path, outside: Path
) -> None:
    kind, entries, entry = next(c for c in _hostile(outside, home) if c[0] == case)
    lam = client("lambda")
    name = f"hostile-{kind.replace(' ', '-')}"
    with pytest.raises(ClientError) as error:
        create_function(lam, name, _zip(entries))
    response = error.value.response
    assert response["Error"]["Code"] == "InvalidParameterValueException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResponseMetadata"]["RetryAttempts"] == 0
    assert f"the entry {entry!r} leads outside the function's package" in response["Error"]["Message"]
    assert (outside / "victim.txt").read_text() == "unchanged"
    assert stat.S_IMODE((outside / "victim.txt").stat().st_mode) == 0o600
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    code_root = home / "lambda" / name
    assert not code_root.exists() or list(code_root.iterdir()) == []  # nothing extracted, no .partial


def test_a_zip_whose_symlinks_stay_inside_is_extracted_with_them(
    server: RunningServer, client, home: Path
) -> None:
    entries = [
        ("app.py", "import helper\ndef handler(event, context):\n    return helper.VALUE\n", 0o100644),
        ("lib/helper_impl.py", "VALUE = 42\n", 0o100644),
        ("helper.py", "lib/helper_impl.py", stat.S_IFLNK | 0o777),
    ]
    lam = client("lambda")
    create_function(lam, "inside-links", _zip(entries))
    assert json.loads(lam.invoke(FunctionName="inside-links")["Payload"].read()) == 42


def test_s3_keys_naming_parent_folders_stay_inside_the_home(
    server: RunningServer, client, home: Path
) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="escape")
    keys = [
        "../../../../../../../../tmp/lc-escape.txt",
        "/abs/../../lc-escape2.txt",
        "a/../../../../lc-escape3.txt",
    ]
    for key in keys:
        s3.put_object(Bucket="escape", Key=key, Body=b"data")
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="escape").get("Contents", []))
    assert listed == sorted(keys)
    for key in keys:
        assert s3.get_object(Bucket="escape", Key=key)["Body"].read() == b"data"
    assert not Path("/tmp/lc-escape.txt").exists()
    for path in (home.parent / "lc-escape2.txt", home.parent / "lc-escape3.txt"):
        assert not path.exists()


def test_log_stream_and_state_machine_names_cannot_name_paths(server: RunningServer, client) -> None:
    logs = client("logs")
    logs.create_log_group(logGroupName="/escape/group")
    logs.create_log_stream(logGroupName="/escape/group", logStreamName="../../../../tmp/lc-stream")
    assert not Path("/tmp/lc-stream").exists()
    sfn = client("stepfunctions")
    with pytest.raises(ClientError) as error:
        sfn.create_state_machine(
            name="../../../../tmp/lc-machine",
            roleArn=ROLE,
            definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        )
    assert error.value.response["Error"]["Code"] == "InvalidName"


def test_an_athena_query_cannot_read_files_of_the_machine(server: RunningServer, client) -> None:
    athena = client("athena")
    execution = athena.start_query_execution(
        QueryString="SELECT * FROM read_text('/etc/hostname')",
        ResultConfiguration={"OutputLocation": "s3://escape/athena/"},
    )["QueryExecutionId"]
    while (state := athena.get_query_execution(QueryExecutionId=execution)["QueryExecution"]["Status"])[
        "State"
    ] in ("QUEUED", "RUNNING"):
        pass
    assert state["State"] == "FAILED"
    assert state["StateChangeReason"].startswith("NOT_SUPPORTED: table function READ_TEXT('/etc/hostname')")


# -- 3. bounded memory: AWS's limits with AWS's errors ---------------------------------------------------


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_a_lambda_zip_over_50_mb_is_refused_with_lambdas_error_without_holding_it(
    server: RunningServer, client
) -> None:
    before = _peak_rss_mb(server.pid)
    lam = client("lambda", Config(retries={"max_attempts": 1}, read_timeout=300))
    with pytest.raises(ClientError) as error:
        create_function(lam, "too-big", b"\0" * (51 * 1024 * 1024))
    response = error.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert (
        response["Error"]["Message"]
        == "Request must be smaller than 69905067 bytes for the CreateFunction operation"
    )
    # The ~68 MB body was thrown away as it arrived, never held (the peak barely moves).
    assert _peak_rss_mb(server.pid) - before < 40


def test_an_invoke_payload_over_6_mb_is_refused_with_lambdas_error(
    server: RunningServer, client, zip_package
) -> None:
    lam = client("lambda")
    create_function(lam, "echo-limit", zip_package({"app.py": "def handler(e, c):\n    return 1\n"}))
    with pytest.raises(ClientError) as error:
        lam.invoke(FunctionName="echo-limit", Payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
    assert error.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert error.value.response["Error"]["Message"] == (
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    )


def test_a_step_functions_input_over_256_kib_is_refused(server: RunningServer, client) -> None:
    sfn = client("stepfunctions")
    arn = sfn.create_state_machine(
        name="limits",
        roleArn=ROLE,
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    for size in (300 * 1024, 3 * 1024 * 1024):  # the service's check, then the endpoint's
        with pytest.raises(ClientError) as error:
            sfn.start_execution(stateMachineArn=arn, input=json.dumps({"x": "y" * size}))
        assert error.value.response["Error"]["Code"] == "InvalidExecutionInput"
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sfn.list_executions(stateMachineArn=arn)["executions"] == []


def test_dynamodb_item_and_request_limits(server: RunningServer, client) -> None:
    ddb = client("dynamodb")
    ddb.create_table(
        TableName="limits",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(ClientError) as error:
        ddb.put_item(TableName="limits", Item={"k": {"S": "big"}, "v": {"S": "x" * (401 * 1024)}})
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "Item size has exceeded the maximum allowed size" in error.value.response["Error"]["Message"]
    too_many = [{"PutRequest": {"Item": {"k": {"S": str(i)}}}} for i in range(26)]
    with pytest.raises(ClientError) as error:
        ddb.batch_write_item(RequestItems={"limits": too_many})
    assert error.value.response["Error"]["Code"] == "ValidationException"
    oversized = [
        {"PutRequest": {"Item": {"k": {"S": str(i)}, "v": {"S": "x" * (700 * 1024)}}}} for i in range(25)
    ]
    with pytest.raises(ClientError) as error:
        ddb.batch_write_item(RequestItems={"limits": oversized})
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "16 MB" in error.value.response["Error"]["Message"]
    assert ddb.scan(TableName="limits")["Count"] == 0


def test_an_s3_object_over_5_gib_is_refused_before_its_body_is_sent(server: RunningServer) -> None:
    declared = 5 * 1024**3 + 1
    answer = send(
        server.endpoint,
        "PUT",
        "/escape/huge.bin",
        sign_as="s3",
        headers={
            "Content-Length": str(declared),
            "Expect": "100-continue",
            "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
        },
    )
    assert answer.status == 400
    assert b"<Code>EntityTooLarge</Code>" in answer.body


def test_large_s3_bodies_go_through_a_temporary_file_intact(server: RunningServer, client) -> None:
    s3 = client("s3")
    data = bytes(range(256)) * (12 * 1024 * 4)  # 12 MiB, past the 1 MiB kept in memory
    s3.put_object(Bucket="escape", Key="large.bin", Body=data)
    assert s3.get_object(Bucket="escape", Key="large.bin")["Body"].read() == data


# -- with --allow-origin and --verify-signatures -------------------------------------------------------------


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    home = tmp_path_factory.mktemp("strict-home")
    running = launcher.start(home, port=0, allowed_origins=("http://localhost:3000",), verify_signatures=True)
    yield running
    launcher.stop(home)


def _keys(server: RunningServer) -> dict[str, str]:
    keys = server.signing_key()
    assert keys is not None
    return keys


def _strict_client(server: RunningServer, service: str, **keys: Any) -> Any:
    return boto3.client(
        service, endpoint_url=server.endpoint, region_name="us-east-1", **(keys or _keys(server))
    )


def test_an_allowed_origin_gets_its_own_cors_answer(strict: RunningServer) -> None:
    preflight = _preflight(strict.endpoint, "http://localhost:3000", "authorization,x-amz-target,x-amz-date")
    assert preflight.status == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert preflight.headers["access-control-allow-headers"] == "authorization, x-amz-target, x-amz-date"
    assert "*" not in "".join(v for k, v in preflight.headers.items() if k.startswith("access-control-"))
    keys = _keys(strict)
    answer = _list_tables(
        strict.endpoint,
        headers={"Origin": "http://localhost:3000"},
        sign_as="dynamodb",
        key=keys["aws_access_key_id"],
        secret=keys["aws_secret_access_key"],
    )
    assert answer.status == 200
    assert answer.headers["access-control-allow-origin"] == "http://localhost:3000"
    other = _preflight(strict.endpoint, "http://localhost:3001")
    assert other.status == 403


def test_with_verify_signatures_the_keys_file_key_is_served(strict: RunningServer) -> None:
    assert strict.keys_file == strict.home / "credentials"
    assert stat.S_IMODE(strict.keys_file.stat().st_mode) == 0o600
    assert _strict_client(strict, "dynamodb").list_tables()["TableNames"] == []


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("dynamodb", lambda c: c.list_tables(), "InvalidSignatureException"),
        ("s3", lambda c: c.list_buckets(), "SignatureDoesNotMatch"),
        ("lambda", lambda c: c.list_functions(), "InvalidSignatureException"),
        ("sts", lambda c: c.get_caller_identity(), "SignatureDoesNotMatch"),
    ],
)
def test_with_verify_signatures_a_wrong_secret_is_refused(strict: RunningServer, service, call, code) -> None:
    keys = _keys(strict)
    wrong = _strict_client(
        strict, service, aws_access_key_id=keys["aws_access_key_id"], aws_secret_access_key="nope"
    )
    with pytest.raises(ClientError) as error:
        call(wrong)
    assert error.value.response["Error"]["Code"] == code
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_with_verify_signatures_an_unknown_key_is_refused(strict: RunningServer) -> None:
    with pytest.raises(ClientError) as error:
        _strict_client(
            strict, "dynamodb", aws_access_key_id="testing", aws_secret_access_key="testing"
        ).list_tables()
    assert error.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_with_verify_signatures_a_key_added_to_the_file_is_accepted(strict: RunningServer) -> None:
    assert strict.keys_file is not None
    with strict.keys_file.open("a") as keys:
        keys.write(
            "\n[teammate]\naws_access_key_id = AKIDTEAMMATE\naws_secret_access_key = teammate-secret\n"
        )
    mate = _strict_client(
        strict, "s3", aws_access_key_id="AKIDTEAMMATE", aws_secret_access_key="teammate-secret"
    )
    assert mate.list_buckets()["Buckets"] == []


def test_with_verify_signatures_presigned_urls_are_checked(strict: RunningServer) -> None:
    s3 = _strict_client(strict, "s3")
    s3.create_bucket(Bucket="signed")
    s3.put_object(Bucket="signed", Key="k", Body=b"ok")
    for config in (None, Config(signature_version="s3v4")):
        good = boto3.client(
            "s3", endpoint_url=strict.endpoint, region_name="us-east-1", config=config, **_keys(strict)
        )
        with urllib.request.urlopen(
            good.generate_presigned_url("get_object", Params={"Bucket": "signed", "Key": "k"})
        ) as r:
            assert r.read() == b"ok"
        bad = boto3.client(
            "s3",
            endpoint_url=strict.endpoint,
            region_name="us-east-1",
            config=config,
            aws_access_key_id=_keys(strict)["aws_access_key_id"],
            aws_secret_access_key="x",
        )
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(
                bad.generate_presigned_url("get_object", Params={"Bucket": "signed", "Key": "k"})
            )
        assert error.value.code == 403


def test_with_verify_signatures_a_function_calls_back_with_its_environments_credentials(
    strict: RunningServer, zip_package
) -> None:
    lam = _strict_client(strict, "lambda")
    code = (
        "import boto3\n"
        "def handler(event, context):\n"
        "    return boto3.client('sts').get_caller_identity()['Account']\n"
    )
    create_function(lam, "calls-back", zip_package({"app.py": code}))
    answer = lam.invoke(FunctionName="calls-back")
    assert "FunctionError" not in answer, answer["Payload"].read()
    assert json.loads(answer["Payload"].read()) == "000000000000"


def test_local_up_on_a_running_localcloud_says_when_its_settings_differ(strict: RunningServer) -> None:
    from click.testing import CliRunner

    from meterpipe.cli import app

    result = CliRunner().invoke(app, ["local", "up", "--no-deploy", "--home", str(strict.home)])
    assert result.exit_code == 0, result.output
    assert "already running" in result.output
    note = " ".join(result.output.split())
    assert (
        "note: it runs with its own settings (signatures checked, web origins allowed: http://localhost:3000)"
        in note
    )
